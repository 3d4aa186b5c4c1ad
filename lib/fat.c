/*
 * fat.c: a read-only FAT12/16/32 reader over one partition (Microsoft's
 * "FAT: General Overview of On-Disk Format"): the BPB, the first FAT read
 * whole (capped), the fixed root directory (FAT12/16) or the root cluster
 * chain (FAT32), and directories with VFAT long names (checksum-matched to
 * their 8.3 entry; otherwise the 8.3 name, with the NT lower-case bits).
 * Each regular file's first cluster is read; when it starts like an image
 * the whole file is read along its chain and offered to the callback, else
 * only those first bytes are (the callback counts them as skipped).
 *
 * Hostile volume: the BPB is checked against the partition, every cluster
 * number against the cluster count, chains are cut at the cluster count
 * (a longer one loops) and must cover the file size, directories are
 * nested at most HV_CAP_DIR_DEPTH deep and hold at most
 * HV_CAP_FAT_DIR_ENTRIES entries, files at most HV_CAP_DISK_FILE bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"

struct fat {
	const struct hv_part *p;
	hv_mf_cb cb;
	void *ctx;
	hv_why *why;
	unsigned bits; /* 12, 16, 32 */
	uint32_t bps, spc, clsize;
	uint64_t fat_off, root_off, data_off;
	uint32_t root_entries; /* FAT12/16 */
	uint32_t root_clus;    /* FAT32 */
	uint32_t nclusters;    /* data clusters: numbers 2 .. nclusters + 1 */
	uint8_t *table;
	size_t table_len;
	uint64_t entries_seen;
};

static bool pow2(uint32_t v) { return v && !(v & (v - 1)); }

bool hv_fat_detect(const uint8_t *s, size_t len)
{
	uint16_t bps, rsvd;

	if (len < 512 || !(s[0] == 0xeb || s[0] == 0xe9))
		return false;
	bps = hv_le16(s + 11);
	rsvd = hv_le16(s + 14);
	return bps >= 512 && bps <= 4096 && pow2(bps) && pow2(s[13]) && rsvd >= 1 && s[16] >= 1 && s[16] <= 4 &&
	       (hv_le16(s + 22) || hv_le32(s + 36)) && (hv_le16(s + 19) || hv_le32(s + 32));
}

/* The FAT entry of cluster c (checked by the caller to be in range). */
static uint32_t fat_next(const struct fat *f, uint32_t c)
{
	size_t o;
	switch (f->bits) {
	case 12:
		o = c + c / 2;
		return c & 1 ? hv_le16(f->table + o) >> 4 : hv_le16(f->table + o) & 0xfff;
	case 16:
		return hv_le16(f->table + 2 * (size_t)c);
	default:
		return hv_le32(f->table + 4 * (size_t)c) & 0x0fffffff;
	}
}

static bool is_eoc(const struct fat *f, uint32_t v)
{
	return v >= (f->bits == 12 ? 0xff8u : f->bits == 16 ? 0xfff8u : 0x0ffffff8u);
}

/* Brent's cycle check, called with each next cluster of a chain: true once
 * the chain has come back to a cluster it passed. */
static bool chain_loops(uint32_t c, uint32_t *mark, uint64_t *k, uint64_t *lim)
{
	if (c == *mark)
		return true;
	if (++*k == *lim) {
		*mark = c;
		*lim *= 2;
		*k = 0;
	}
	return false;
}

/* Read want bytes of the chain from cluster c into buf. */
static int read_chain(struct fat *f, uint32_t c, uint8_t *buf, uint64_t want, const char *what)
{
	uint64_t got = 0, lim = 2, k = 0;
	uint32_t mark = c;

	for (uint32_t steps = 0; got < want; steps++) {
		uint32_t n = want - got < f->clsize ? (uint32_t)(want - got) : f->clsize;
		int rc;

		if (c < 2 || c > f->nclusters + 1)
			return hv_fail(f->why, HV_E_RANGE, "%sFAT: %s: cluster %u of the chain is outside [2, %u] after 0x%llx bytes",
				       f->p->prefix, what, c, f->nclusters + 1, (unsigned long long)got);
		if (steps > f->nclusters)
			return hv_fail(f->why, HV_E_FORMAT, "%sFAT: %s: cluster chain loops", f->p->prefix, what);
		rc = hv_part_read(f->p, f->data_off + (uint64_t)(c - 2) * f->clsize, buf + got, n, f->why);
		if (rc)
			return rc;
		got += n;
		if (got < want) {
			c = fat_next(f, c);
			if (is_eoc(f, c))
				return hv_fail(f->why, HV_E_TRUNCATED, "%sFAT: %s: chain ends after 0x%llx of 0x%llx bytes",
					       f->p->prefix, what, (unsigned long long)got, (unsigned long long)want);
			if (chain_loops(c, &mark, &k, &lim))
				return hv_fail(f->why, HV_E_FORMAT, "%sFAT: %s: cluster chain loops (cluster %u)", f->p->prefix,
					       what, c);
		}
	}
	return HV_OK;
}

/* Length in bytes of the chain from c (directories carry no size). */
static int chain_bytes(struct fat *f, uint32_t c, uint64_t cap, uint64_t *out, const char *what)
{
	uint64_t n = 0, lim = 2, k = 0;
	uint32_t mark = c;

	for (;;) {
		if (c < 2 || c > f->nclusters + 1)
			return hv_fail(f->why, HV_E_RANGE, "%sFAT: %s: cluster %u of the chain is outside [2, %u]", f->p->prefix,
				       what, c, f->nclusters + 1);
		n += f->clsize;
		if (n > cap || n / f->clsize > f->nclusters)
			return hv_fail(f->why, HV_E_CAP, "%sFAT: %s: directory chain longer than 0x%llx bytes (or loops)",
				       f->p->prefix, what, (unsigned long long)cap);
		c = fat_next(f, c);
		if (is_eoc(f, c))
			break;
		if (chain_loops(c, &mark, &k, &lim))
			return hv_fail(f->why, HV_E_FORMAT, "%sFAT: %s: cluster chain loops (cluster %u)", f->p->prefix, what,
				       c);
	}
	*out = n;
	return HV_OK;
}

static void put_utf8(char *out, size_t outlen, size_t *n, uint32_t cp)
{
	char tmp[4];
	size_t k;

	if (cp == '/' || cp < 0x20 || (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
		cp = '?'; /* a lone surrogate is not a character */
	if (cp < 0x80) {
		tmp[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		tmp[0] = (char)(0xc0 | cp >> 6);
		tmp[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		tmp[0] = (char)(0xe0 | cp >> 12);
		tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		tmp[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		tmp[0] = (char)(0xf0 | cp >> 18);
		tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		tmp[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (*n + k < outlen) {
		memcpy(out + *n, tmp, k);
		*n += k;
	}
	out[*n] = '\0';
}

static void short_name(const uint8_t *e, char *out, size_t outlen)
{
	size_t n = 0;
	int b, x;

	for (b = 8; b > 0 && e[b - 1] == ' '; b--)
		;
	for (x = 3; x > 0 && e[8 + x - 1] == ' '; x--)
		;
	out[0] = '\0';
	for (int i = 0; i < b; i++) {
		uint8_t c = i == 0 && e[0] == 0x05 ? 0xe5 : e[i];
		put_utf8(out, outlen, &n, (e[12] & 0x08) && c >= 'A' && c <= 'Z' ? c + 32u : c);
	}
	if (x)
		put_utf8(out, outlen, &n, '.');
	for (int i = 0; i < x; i++) {
		uint8_t c = e[8 + i];
		put_utf8(out, outlen, &n, (e[12] & 0x10) && c >= 'A' && c <= 'Z' ? c + 32u : c);
	}
}

static uint8_t sfn_sum(const uint8_t *e)
{
	uint8_t s = 0;
	for (int i = 0; i < 11; i++)
		s = (uint8_t)(((s & 1) << 7) + (s >> 1) + e[i]);
	return s;
}

static int walk_dir(struct fat *f, const uint8_t *d, size_t len, const char *rel, unsigned depth);

static int one_file(struct fat *f, const uint8_t *e, const char *path)
{
	uint32_t c = (uint32_t)hv_le16(e + 20) << 16 | hv_le16(e + 26), size = hv_le32(e + 28);
	uint8_t *buf;
	uint64_t first;
	const char *base = strrchr(path, '/');
	struct hv_mf_cand cand = {.name = base ? base + 1 : path};
	char full[HV_MF_PATH + 16];
	int rc;

	snprintf(full, sizeof(full), "%s%s", f->p->prefix, path);
	cand.path = full;

	if (f->bits != 32)
		c &= 0xffff;
	if (!size)
		return HV_OK;
	if (size > HV_CAP_DISK_FILE)
		return hv_fail(f->why, HV_E_CAP, "%sFAT: %s: size 0x%x exceeds 0x%x", f->p->prefix, path, size,
			       HV_CAP_DISK_FILE);
	first = size < f->clsize ? size : f->clsize;
	buf = malloc((size_t)first);
	if (!buf)
		return hv_fail(f->why, HV_E_NOMEM, "%sFAT: %s: out of memory", f->p->prefix, path);
	rc = read_chain(f, c, buf, first, path);
	if (!rc && hv_mf_looks_like_image(buf, (size_t)first) && size > first) {
		uint8_t *whole = realloc(buf, size);
		if (!whole) {
			free(buf);
			return hv_fail(f->why, HV_E_NOMEM, "%sFAT: %s: out of memory", f->p->prefix, path);
		}
		buf = whole;
		rc = read_chain(f, c, buf, size, path);
	} else {
		size = (uint32_t)first; /* not an image: offer the first bytes only */
	}
	if (!rc) {
		cand.buf = buf;
		cand.len = size;
		rc = f->cb(f->ctx, &cand);
	}
	free(buf);
	return rc;
}

static int sub_dir(struct fat *f, uint32_t c, const char *path, unsigned depth)
{
	uint64_t len = 0;
	uint8_t *d;
	int rc;

	if (depth >= HV_CAP_DIR_DEPTH)
		return hv_fail(f->why, HV_E_CAP, "%sFAT: directories nested deeper than %u (a loop?) at %s", f->p->prefix,
			       HV_CAP_DIR_DEPTH, path);
	rc = chain_bytes(f, c, (uint64_t)HV_CAP_FAT_DIR_ENTRIES * 32, &len, path);
	if (rc)
		return rc;
	d = malloc((size_t)len);
	if (!d)
		return hv_fail(f->why, HV_E_NOMEM, "%sFAT: %s: out of memory", f->p->prefix, path);
	rc = read_chain(f, c, d, len, path);
	if (!rc)
		rc = walk_dir(f, d, (size_t)len, path, depth + 1);
	free(d);
	return rc;
}

static int walk_dir(struct fat *f, const uint8_t *d, size_t len, const char *rel, unsigned depth)
{
	uint16_t lfn[20 * 13 + 1];
	int lfn_seq = 0; /* next expected sequence number, 0 = none */
	uint8_t lfn_sum = 0;
	bool lfn_ok = false;

	for (size_t i = 0; i + 32 <= len; i += 32) {
		const uint8_t *e = d + i;
		uint8_t attr = e[11];
		char name[HV_CAP_NAME + 1], path[HV_MF_PATH];
		int rc;

		if (e[0] == 0)
			break;
		if (++f->entries_seen > HV_CAP_DIR_ENTRIES)
			return hv_fail(f->why, HV_E_CAP, "%sFAT: more than %u directory entries", f->p->prefix,
				       HV_CAP_DIR_ENTRIES);
		if (e[0] == 0xe5) {
			lfn_seq = 0;
			continue;
		}
		if ((attr & 0x3f) == 0x0f) { /* long-name part, stored last part first */
			int seq = e[0] & 0x1f;
			if (e[0] & 0x40) {
				memset(lfn, 0, sizeof(lfn));
				lfn_sum = e[13];
				lfn_ok = seq >= 1 && seq <= 20;
			} else if (seq != lfn_seq || e[13] != lfn_sum) {
				lfn_ok = false;
			}
			if (lfn_ok) {
				static const uint8_t at[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
				for (int k = 0; k < 13; k++)
					lfn[(seq - 1) * 13 + k] = hv_le16(e + at[k]);
			}
			lfn_seq = seq - 1;
			continue;
		}
		name[0] = '\0';
		if (lfn_ok && lfn_seq == 0 && sfn_sum(e) == lfn_sum) {
			size_t n = 0;
			for (int k = 0; k < 20 * 13 && lfn[k] && lfn[k] != 0xffff; k++) {
				uint32_t cp = lfn[k];
				if (cp >= 0xd800 && cp < 0xdc00 && lfn[k + 1] >= 0xdc00 && lfn[k + 1] < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lfn[++k] - 0xdc00u);
				put_utf8(name, sizeof(name), &n, cp);
			}
		}
		lfn_ok = false;
		lfn_seq = 0;
		if (attr & 0x08) /* volume label */
			continue;
		if (!name[0])
			short_name(e, name, sizeof(name));
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", name) >= sizeof(path))
			return hv_fail(f->why, HV_E_CAP, "%sFAT: %s/%s: path longer than %u bytes", f->p->prefix, rel, name,
				       HV_MF_PATH - 1);
		if (attr & 0x10)
			rc = sub_dir(f, (f->bits == 32 ? (uint32_t)hv_le16(e + 20) << 16 : 0) | hv_le16(e + 26), path, depth);
		else
			rc = one_file(f, e, path);
		if (rc)
			return rc;
	}
	return HV_OK;
}

/* The BPB, checked against the partition. */
static int bpb(struct fat *f, const uint8_t *s)
{
	uint32_t rsvd = hv_le16(s + 14), nfats = s[16], fatsz, tot, rootsec, first_data;

	f->bps = hv_le16(s + 11);
	f->spc = s[13];
	f->clsize = f->bps * f->spc;
	f->root_entries = hv_le16(s + 17);
	fatsz = hv_le16(s + 22) ? hv_le16(s + 22) : hv_le32(s + 36);
	tot = hv_le16(s + 19) ? hv_le16(s + 19) : hv_le32(s + 32);
	rootsec = (f->root_entries * 32 + f->bps - 1) / f->bps;
	first_data = rsvd + nfats * fatsz + rootsec; /* used only once the check below holds: then < tot */
	if ((uint64_t)rsvd + (uint64_t)nfats * fatsz + rootsec >= tot)
		return hv_fail(f->why, HV_E_FORMAT, "%sFAT boot sector: %u total sectors leave no data area after 0x%llx",
			       f->p->prefix, tot, (unsigned long long)rsvd + (uint64_t)nfats * fatsz + rootsec);
	if ((uint64_t)tot * f->bps > f->p->size)
		return hv_fail(f->why, HV_E_RANGE, "%sFAT boot sector: 0x%x sectors of %u bytes exceed the partition (0x%llx bytes)",
			       f->p->prefix, tot, f->bps, (unsigned long long)f->p->size);
	f->nclusters = (tot - first_data) / f->spc;
	f->bits = f->nclusters < 4085 ? 12 : f->nclusters < 65525 ? 16 : 32;
	f->fat_off = (uint64_t)rsvd * f->bps;
	f->root_off = ((uint64_t)rsvd + (uint64_t)nfats * fatsz) * f->bps;
	f->data_off = (uint64_t)first_data * f->bps;
	f->root_clus = hv_le32(s + 44);
	/* The FAT must hold an entry for every cluster. */
	f->table_len = (size_t)fatsz * f->bps;
	if (f->table_len > HV_CAP_FAT_BYTES)
		return hv_fail(f->why, HV_E_CAP, "%sFAT boot sector: a FAT of 0x%zx bytes exceeds 0x%x", f->p->prefix,
			       f->table_len, HV_CAP_FAT_BYTES);
	if (((uint64_t)f->nclusters + 2) * f->bits > (uint64_t)f->table_len * 8)
		return hv_fail(f->why, HV_E_FORMAT, "%sFAT boot sector: a FAT of 0x%zx bytes cannot map %u clusters",
			       f->p->prefix, f->table_len, f->nclusters);
	if (f->bits == 32 && f->root_entries)
		return hv_fail(f->why, HV_E_FORMAT, "%sFAT32 boot sector: RootEntCnt %u is not 0", f->p->prefix,
			       f->root_entries);
	return HV_OK;
}

int hv_fat_walk(const struct hv_part *p, hv_mf_cb cb, void *ctx, hv_why *why)
{
	struct fat f = {.p = p, .cb = cb, .ctx = ctx, .why = why};
	uint8_t sec[512], *root = NULL;
	int rc;

	rc = hv_part_read(p, 0, sec, sizeof(sec), why);
	if (rc)
		return rc;
	if (!hv_fat_detect(sec, sizeof(sec)))
		return hv_fail(why, HV_E_FORMAT, "%sno FAT boot sector", p->prefix);
	rc = bpb(&f, sec);
	if (rc)
		return rc;
	f.table = malloc(f.table_len);
	if (!f.table)
		return hv_fail(why, HV_E_NOMEM, "%sFAT: out of memory", p->prefix);
	rc = hv_part_read(p, f.fat_off, f.table, f.table_len, why);
	if (rc)
		goto out;
	if (f.bits == 32) {
		rc = sub_dir(&f, f.root_clus, "", 0);
	} else {
		size_t len = (size_t)f.root_entries * 32;
		root = malloc(len ? len : 1);
		if (!root) {
			rc = hv_fail(why, HV_E_NOMEM, "%sFAT: out of memory", p->prefix);
			goto out;
		}
		rc = hv_part_read(p, f.root_off, root, len, why);
		if (!rc)
			rc = walk_dir(&f, root, len, "", 0);
	}
out:
	free(root);
	free(f.table);
	return rc;
}
