/*
 * mksynth.c: writes the synthetic images of synth.c into a directory, as
 * seeds for the fuzzers (tests/fuzz/run-fuzzers) and for people who want
 * to look at them with other tools. Usage: mksynth DIR.
 */
#include <stdio.h>
#include <stdlib.h>

#include "synth.h"

int main(int argc, char **argv)
{
	static const struct {
		enum synth_kind kind;
		const char *name;
	} k[] = {{SYNTH_PE64, "synth-pe64.sys"}, {SYNTH_PE64_XIP, "synth-pe64-xip.efi"}, {SYNTH_TE, "synth.te"}};
	char path[4096];
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: mksynth DIR\n");
		return 2;
	}
	for (unsigned i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		size_t len;
		uint8_t *buf = synth_build(k[i].kind, &len);
		FILE *fp;
		snprintf(path, sizeof(path), "%s/%s", argv[1], k[i].name);
		fp = buf ? fopen(path, "wb") : NULL;
		if (!fp || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0) {
			perror(path);
			rc = 1;
		}
		free(buf);
	}
	return rc;
}
