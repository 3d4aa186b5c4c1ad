/*
 * verify_report.h: the findings of `hvima verify`, one per check or image,
 * and their three renderings: text for people (a verdict line, then one
 * section per check), JSON, and JUnit XML (one testcase per finding, a
 * failure element with the message when it failed, skipped when a check
 * was not run).
 */
#ifndef HVIMA_VERIFY_REPORT_H
#define HVIMA_VERIFY_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum vr_state { VR_PASS, VR_FAIL, VR_SKIP };

struct vr_finding {
	const char *check; /* "log", "tpm", "quote", "image", "unattributed", ... (static) */
	char *name;
	char *message;
	uint8_t state;
};

struct vr {
	struct vr_finding *f;
	size_t n, cap;
	const char *subject; /* the run dir or log */
	int exit_code;
	bool oom; /* a finding could not be recorded: exit 5, never a pass */
};

void vr_add(struct vr *r, const char *check, enum vr_state st, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
size_t vr_failures(const struct vr *r, const char *check);
void vr_text(const struct vr *r, FILE *f);
void vr_json(const struct vr *r, FILE *f);
int vr_junit(const struct vr *r, const char *path);
void vr_free(struct vr *r);

#endif
