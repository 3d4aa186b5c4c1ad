/*
 * cmd_run.c: `hvima run` is the shell script hvima-run (it starts and stops
 * processes, which a script says more plainly). This finds the script and
 * hands it the command line: $HVIMA_RUN if set, else next to the binary,
 * in ../libexec/hvima/ (installed: PREFIX/bin -> PREFIX/libexec/hvima), or
 * in ../../tools/ (the build tree: build/rel/hvima -> tools/hvima-run).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvima.h"

static const char *const run_script_dirs[] = {"", "/../libexec/hvima", "/../../tools"};

/* The first readable hvima-run, into buf; 0 or -ENOENT. */
static int find_run_script(char *buf, size_t size)
{
	char exe[PATH_MAX];
	const char *env = getenv("HVIMA_RUN");
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(buf, size, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -ENOENT;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	for (size_t i = 0; i < sizeof(run_script_dirs) / sizeof(run_script_dirs[0]); i++) {
		int len = snprintf(buf, size, "%s%s/hvima-run", exe, run_script_dirs[i]);
		if (len > 0 && (size_t)len < size && access(buf, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

int cmd_run(int argc, char **argv)
{
	char script[PATH_MAX + 64];
	char **args;

	if (find_run_script(script, sizeof(script)) < 0) {
		fprintf(stderr, "hvima run: the hvima-run script is not installed next to hvima, "
				"in ../libexec/hvima, or set in HVIMA_RUN\n");
		return HV_EXIT_ENV;
	}
	/* sh SCRIPT ARG... NULL: argv[0] is "run", replaced by two words */
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (!args)
		return HV_EXIT_INTERNAL;
	args[0] = "sh";
	args[1] = script;
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	execv("/bin/sh", args);
	fprintf(stderr, "hvima run: cannot run /bin/sh %s: %s\n", script, strerror(errno));
	free(args);
	return HV_EXIT_ENV;
}
