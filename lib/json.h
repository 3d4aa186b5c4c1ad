/*
 * json.h: a bounded JSON reader (RFC 8259) for the files a verifier is
 * given: manifests, baselines, policies. They are hostile input.
 *
 * The whole text is parsed into a tree of nodes held in one array; strings
 * are decoded (escapes, \uXXXX with surrogate pairs, to UTF-8) into a copy
 * of the text, so no string is longer than its source. The input size, the
 * nesting depth and the node count are capped (caps.h); a node costs at
 * least one byte of input, so memory is linear in the input. Errors name
 * the byte offset. Accessors never fail on a wrong type: they return NULL
 * or false and the caller names the JSON path in its error.
 */
#ifndef HVIMA_JSON_H
#define HVIMA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pe.h"

enum hv_json_type { HV_JSON_NULL, HV_JSON_FALSE, HV_JSON_TRUE, HV_JSON_NUM, HV_JSON_STR, HV_JSON_ARR, HV_JSON_OBJ };

#define HV_JSON_NONE UINT32_MAX

struct hv_json_node {
	uint8_t type;
	uint32_t key;    /* offset of the member name in strs (objects), else HV_JSON_NONE */
	uint32_t str;    /* STR: offset of the value in strs; NUL-terminated */
	uint32_t len;    /* STR: length in bytes; ARR/OBJ: number of children */
	uint32_t child;  /* ARR/OBJ: first child */
	uint32_t next;   /* next sibling */
	uint32_t off;    /* byte offset in the input */
	double num;
};

struct hv_json {
	struct hv_json_node *n;
	uint32_t count, cap;
	char *strs; /* decoded strings, same size as the input + 1 */
};

/* Parse text[0, len). HV_E_FORMAT / HV_E_TRUNCATED name the offset;
 * HV_E_CAP for input, depth or node count past caps.h; HV_E_NOMEM. */
int hv_json_parse(struct hv_json *doc, const uint8_t *text, size_t len, hv_why *why);
void hv_json_free(struct hv_json *doc);

static inline const struct hv_json_node *hv_json_root(const struct hv_json *doc) { return doc->count ? &doc->n[0] : NULL; }
/* Member of an object (the last one when a name repeats), or NULL. */
const struct hv_json_node *hv_json_get(const struct hv_json *doc, const struct hv_json_node *obj, const char *key);
/* First child, next sibling (iteration over arrays and objects). */
const struct hv_json_node *hv_json_first(const struct hv_json *doc, const struct hv_json_node *n);
const struct hv_json_node *hv_json_next(const struct hv_json *doc, const struct hv_json_node *n);
/* The value as a string (NULL unless STR), member name (NULL unless in an object). */
const char *hv_json_sval(const struct hv_json *doc, const struct hv_json_node *n);
const char *hv_json_key(const struct hv_json *doc, const struct hv_json_node *n);
/* A non-negative integer <= max (false for fractions, exponents giving
 * non-integers, negatives, other types). */
bool hv_json_u64(const struct hv_json_node *n, uint64_t max, uint64_t *out);

#endif
