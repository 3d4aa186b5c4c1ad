/*
 * fuzz_fltpolicy.c: libFuzzer target for the minifilter's policy parser
 * and name normalization (lib/fltpolicy.c). The input is parsed as policy
 * text in the driver's two passes (count, then fill exactly that many
 * digests), decisions are asked of every parsed policy, and the input is
 * also normalized as a UTF-16LE name, whose output must be NUL-terminated
 * within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fltpolicy.h"

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hv_fpol p;
	struct hv_fpol_err err;
	uint8_t(*allow)[32];
	uint16_t *w;
	char out[300];
	const char *why;
	size_t olen;

	if (hv_fpol_parse(&p, (const char *)data, size, NULL, 0, &err) == 0) {
		allow = malloc((size_t)(p.n_allow ? p.n_allow : 1) * 32);
		if (!allow)
			return 0;
		if (hv_fpol_parse(&p, (const char *)data, size, allow, p.n_allow, &err))
			__builtin_trap(); /* the second pass must agree with the first */
		for (uint32_t i = 0; i < p.n_allow; i++)
			if (!hv_fpol_allowed(&p, allow[i]))
				__builtin_trap();
		sink += hv_fpol_watched(&p, "\\Device\\HarddiskVolume2\\inetpub\\wwwroot\\a.dll") +
			hv_fpol_exe_name(&p, "a.exe") + hv_fpol_deny(&p, 1, true, (const uint8_t[32]){0});
		free(allow);
	} else {
		if (!err.msg)
			__builtin_trap();
		sink += err.line + err.col + (unsigned)strlen(err.msg);
	}

	w = malloc(size / 2 * 2 + 2);
	if (!w)
		return 0;
	memcpy(w, data, size / 2 * 2);
	if (hv_winpath_norm(w, size / 2, out, sizeof(out), &olen, &why) == 0) {
		if (olen >= sizeof(out) || out[olen] != 0 || strlen(out) != olen)
			__builtin_trap();
	} else {
		sink += (unsigned)strlen(why);
	}
	free(w);
	return 0;
}
