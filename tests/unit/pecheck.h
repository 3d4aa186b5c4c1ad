/*
 * pecheck.h: helpers shared by the unit tests of lib's PE code: exact-size
 * copies (so ASan sees a read one byte past the end), parse and walk
 * wrappers that keep only the status and the reason, and the CHECK_*
 * macros that assert a status together with a non-empty reason.
 * HV_TEST_VERBOSE=1 prints every reason, to see which check refused.
 */
#ifndef HVIMA_TESTS_PECHECK_H
#define HVIMA_TESTS_PECHECK_H

#include <stdlib.h>
#include <string.h>

#include "authenticode.h"
#include "pe.h"
#include "pebuild.h"
#include "tap.h"

static inline uint8_t *dup_n(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (!d)
		abort();
	if (n)
		memcpy(d, p, n);
	return d;
}

/* Parse the first n bytes of f from an exact-size copy; only the status
 * and the reason are kept. */
static inline int parse_n(const uint8_t *f, size_t n, enum hv_layout l, hv_why *why)
{
	struct hv_pe pe;
	uint8_t *c = dup_n(f, n);
	memset(why, 0, sizeof(*why));
	int rc = hv_pe_parse(&pe, c, n, l, why);
	if (rc == HV_OK)
		hv_pe_free(&pe);
	free(c);
	return rc;
}

static inline void show_why(int rc, const hv_why *why)
{
	const char *v = getenv("HV_TEST_VERBOSE");
	if (v && *v == '1')
		printf("#     %s: %s\n", hv_status_str(rc), why->msg);
}

#define CHECK_STATUS(rc, want, why)                                                                \
	show_why((rc), &(why));                                                                    \
	CHECKF((rc) == (want) && (why).msg[0], "status %d (%s), want %d (%s); why \"%s\"", (rc),   \
	       hv_status_str(rc), (want), hv_status_str(want), (why).msg)

#define CHECK_PARSE_FAILS(f, n, l, want)                     \
	do {                                                 \
		hv_why w_;                                   \
		int rc_ = parse_n((f), (n), (l), &w_);       \
		CHECK_STATUS(rc_, (want), w_);               \
	} while (0)

static inline uint8_t *std_file(struct pb_std *s, enum pb_kind k, size_t *len)
{
	pb_std_init(s, k);
	return pb_link(&s->b, len);
}

static inline void std_done(struct pb_std *s, uint8_t *f)
{
	free(f);
	pb_free(&s->b);
}

static inline uint8_t *sh(const struct pb *b, uint8_t *f, int i) { return f + b->sect_off + PB_SH_SIZE * (uint32_t)i; }

static inline void set_dir(const struct pb *b, uint8_t *f, int d, uint32_t rva, uint32_t size)
{
	hv_put_le32(f + b->dirs_off + PB_DIRENT_SIZE * (uint32_t)d, rva);
	hv_put_le32(f + b->dirs_off + PB_DIRENT_SIZE * (uint32_t)d + 4, size);
}

/* Relocations seen by a walk. */
struct rlist {
	int n;
	struct {
		uint32_t rva;
		unsigned type;
		uint16_t arg;
	} e[256];
};

static inline int collect_reloc(void *ctx, uint32_t rva, unsigned type, uint16_t arg)
{
	struct rlist *l = ctx;
	if (l->n < 256) {
		l->e[l->n].rva = rva;
		l->e[l->n].type = type;
		l->e[l->n].arg = arg;
	}
	l->n++;
	return 0;
}

struct ilist {
	int n;
	struct hv_pe_import e[8];
};

static inline int collect_import(void *ctx, const struct hv_pe_import *imp)
{
	struct ilist *l = ctx;
	if (l->n < 8)
		l->e[l->n] = *imp;
	l->n++;
	return 0;
}

static inline int count_debug(void *ctx, const struct hv_pe_debug *d)
{
	(*(int *)ctx)++;
	return 0;
}

/* Parse f (exact-size copy kept in *copy) and run one directory walker. */
enum walker { W_RELOCS, W_IMPORTS, W_LOADCFG, W_DEBUG, W_CODEVIEW, W_EXPORT };

static inline int walk(const uint8_t *f, size_t n, enum hv_layout l, enum walker w, hv_why *why)
{
	struct hv_pe pe;
	uint8_t *c = dup_n(f, n);
	memset(why, 0, sizeof(*why));
	int rc = hv_pe_parse(&pe, c, n, l, why);
	if (rc != HV_OK) {
		printf("#   parse failed before the walk: %s\n", why->msg);
		free(c);
		return 1000; /* never a status the caller expects */
	}
	struct rlist rl = {0};
	struct ilist il = {0};
	struct hv_pe_loadcfg lc;
	char name[HV_CAP_NAME + 1];
	int cnt = 0;
	switch (w) {
	case W_RELOCS: rc = hv_pe_relocs(&pe, collect_reloc, &rl, why); break;
	case W_IMPORTS: rc = hv_pe_imports(&pe, collect_import, &il, why); break;
	case W_LOADCFG: rc = hv_pe_loadcfg(&pe, &lc, why); break;
	case W_DEBUG: rc = hv_pe_debug_entries(&pe, count_debug, &cnt, why); break;
	case W_CODEVIEW: rc = hv_pe_codeview_name(&pe, name, sizeof(name), why); break;
	case W_EXPORT: rc = hv_pe_export_name(&pe, name, sizeof(name), why); break;
	}
	hv_pe_free(&pe);
	free(c);
	return rc;
}

#define CHECK_WALK_FAILS(f, n, l, w, want)               \
	do {                                             \
		hv_why w_;                               \
		int rc_ = walk((f), (n), (l), (w), &w_); \
		CHECK_STATUS(rc_, (want), w_);           \
	} while (0)

#endif
