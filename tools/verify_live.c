/*
 * verify_live.c: `hvima verify --tpm tcp:HOST:PORT --live-quote DIR`: a quote
 * of the running hypervisor TPM with a nonce drawn here (OpenSSL RAND_bytes,
 * 20 bytes), so that no earlier quote can be replayed. The quote is taken by
 * the hvima-quote script (tpm2-tools; the first call on DIR creates the AK
 * and binds it to the EK), found like hvima-run: $HVIMA_QUOTE, next to the
 * binary, ../libexec/hvima, or ../../tools in the build tree. It runs under
 * timeout(1), so a TPM that hangs cannot hang the verifier.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "hash.h"
#include "hvima.h"

int verify_live_quote(const char *addr, const char *dir, char *nonce_hex, size_t cap);

#define QUOTE_TIMEOUT "120"

static int find_quote_script(char *buf, size_t size)
{
	static const char *const dirs[] = {"", "/../libexec/hvima", "/../../tools"};
	char exe[PATH_MAX];
	const char *env = getenv("HVIMA_QUOTE");
	ssize_t n;
	char *slash;

	if (env && *env)
		return snprintf(buf, size, "%s", env) < (int)size ? 0 : -ENOENT;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -ENOENT;
	exe[n] = '\0';
	if (!(slash = strrchr(exe, '/')))
		return -ENOENT;
	*slash = '\0';
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		int len = snprintf(buf, size, "%s%s/hvima-quote", exe, dirs[i]);
		if (len > 0 && (size_t)len < size && access(buf, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* "tcp:HOST:PORT" -> the swtpm TCTI "swtpm:host=HOST,port=PORT". */
static int tcti_of(const char *addr, char *out, size_t cap)
{
	const char *host = addr + 4, *colon = strrchr(addr, ':');
	char *end;
	if (strncmp(addr, "tcp:", 4) || colon <= host)
		return -1;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535 || colon - host > 200 || memchr(host, ',', (size_t)(colon - host)))
		return -1;
	return snprintf(out, cap, "swtpm:host=%.*s,port=%ld", (int)(colon - host), host, port) < (int)cap ? 0 : -1;
}

int verify_live_quote(const char *addr, const char *dir, char *nonce_hex, size_t cap)
{
	char script[PATH_MAX + 64], tcti[256];
	uint8_t nonce[20];
	int status;
	pid_t pid;

	if (tcti_of(addr, tcti, sizeof(tcti))) {
		fprintf(stderr, "hvima verify: --live-quote needs --tpm tcp:HOST:PORT (swtpm), not %s\n", addr);
		return HV_EXIT_USAGE;
	}
	if (find_quote_script(script, sizeof(script))) {
		fprintf(stderr, "hvima verify: the hvima-quote script is not next to hvima, in ../libexec/hvima, "
				"or set in HVIMA_QUOTE\n");
		return HV_EXIT_ENV;
	}
	if (cap < 2 * sizeof(nonce) + 1 || RAND_bytes(nonce, sizeof(nonce)) != 1) {
		fprintf(stderr, "hvima verify: no random nonce (OpenSSL RAND_bytes failed)\n");
		return HV_EXIT_INTERNAL;
	}
	hv_hex(nonce, sizeof(nonce), nonce_hex);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "hvima verify: fork: %s\n", strerror(errno));
		return HV_EXIT_INTERNAL;
	}
	if (pid == 0) {
		/* the script's messages go to stderr: stdout is the report */
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execlp("timeout", "timeout", QUOTE_TIMEOUT, "sh", script, tcti, dir, nonce_hex, (char *)NULL);
		fprintf(stderr, "hvima verify: cannot run timeout sh %s: %s\n", script, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return HV_EXIT_INTERNAL;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "hvima verify: hvima-quote on %s failed (exit %d%s)\n", tcti,
			WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			WIFEXITED(status) && WEXITSTATUS(status) == 124 ? ": timed out" : "");
		return WIFEXITED(status) && WEXITSTATUS(status) == 124 ? HV_EXIT_TIMEOUT : HV_EXIT_ENV;
	}
	return 0;
}
