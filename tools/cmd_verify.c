/*
 * cmd_verify.c: `hvima verify RUN_DIR|LOG`: replay the log, check the replay
 * against the hypervisor TPM (the run's hvtpm-pcrs.yaml, a live PCR read,
 * or a quote), match every image against manifests, judge unattributed code
 * and missing images by a policy, compare with a baseline, and report as
 * text, JSON and JUnit (docs/cli.md). Exit: 0 everything matched, 1 a
 * check failed, 3 an input is malformed, 4 the TPM is unreachable, 5 out
 * of memory, 2 usage.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "caps.h"
#include "hvima.h"
#include "quote.h"
#include "tpm.h"
#include "verify.h"
#include "verify_report.h"

struct opts {
	const char *subject, *policy, *baseline, *pcrs, *tpm, *quote, *nonce, *ak, *junit, *live;
	char live_nonce[41];
	const char *manifests[64];
	int nmanifests, json, no_tpm;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: hvima verify [OPTION]... RUN_DIR|LOG\n\n"
		   "Checks an hvima event log: replay against the hypervisor TPM, every image\n"
		   "against manifests, unattributed code and missing images against a policy.\n\n"
		   "  --manifest FILE   reference manifest (repeatable, up to 64)\n"
		   "  --policy FILE     allowed unattributed code, optional and extra images\n"
		   "  --baseline FILE   compare with a baseline (hvima baseline)\n"
		   "  --pcrs FILE       TPM PCRs, tpm2_pcrread YAML [RUN_DIR/hvtpm-pcrs.yaml]\n"
		   "  --tpm ADDR        read the PCRs live (tcp:HOST:PORT or unix:PATH)\n"
		   "  --quote DIR       check DIR/quote.msg, quote.sig (tools/hvima-quote)\n"
		   "  --nonce HEX       the nonce the quote must carry (required with --quote)\n"
		   "  --ak PEM          the attestation key recorded for the run [DIR/ak.pem]\n"
		   "  --live-quote DIR  with --tpm: quote it now with a fresh random nonce\n"
		   "                    (tools/hvima-quote into DIR), then check that quote\n"
		   "  --no-tpm          do not compare with a TPM (reported as skipped)\n"
		   "  --json            JSON instead of text\n"
		   "  --junit FILE      also write JUnit XML\n\n"
		   "Exit: 0 all matched, 1 a check failed, 2 usage, 3 malformed input,\n"
		   "4 TPM unreachable, 5 internal error (docs/cli.md).\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"manifest", 1, 0, 'm'}, {"policy", 1, 0, 'p'}, {"baseline", 1, 0, 'b'}, {"pcrs", 1, 0, 'P'},
		{"tpm", 1, 0, 't'}, {"quote", 1, 0, 'q'}, {"nonce", 1, 0, 'n'}, {"ak", 1, 0, 'a'},
		{"live-quote", 1, 0, 'L'}, {"no-tpm", 0, 0, 'N'}, {"json", 0, 0, 'j'}, {"junit", 1, 0, 'J'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
	int c;
	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (o->nmanifests == 64) {
				fprintf(stderr, "hvima verify: more than 64 manifests\n");
				return HV_EXIT_USAGE;
			}
			o->manifests[o->nmanifests++] = optarg;
			break;
		case 'p': o->policy = optarg; break;
		case 'b': o->baseline = optarg; break;
		case 'P': o->pcrs = optarg; break;
		case 't': o->tpm = optarg; break;
		case 'q': o->quote = optarg; break;
		case 'n': o->nonce = optarg; break;
		case 'a': o->ak = optarg; break;
		case 'L': o->live = optarg; break;
		case 'N': o->no_tpm = 1; break;
		case 'j': o->json = 1; break;
		case 'J': o->junit = optarg; break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return HV_EXIT_USAGE;
		}
	}
	if (!o->nmanifests && !o->baseline) {
		fprintf(stderr, "hvima verify: nothing to verify against: give --manifest or --baseline\n");
		return HV_EXIT_USAGE;
	}
	if (o->live && (!o->tpm || o->quote || o->nonce)) {
		fprintf(stderr, "hvima verify: --live-quote needs --tpm, and replaces --quote and --nonce\n");
		return HV_EXIT_USAGE;
	}
	if (optind != argc - 1 || (o->quote && !o->nonce) || (o->tpm && o->pcrs)) {
		usage(stderr);
		return HV_EXIT_USAGE;
	}
	o->subject = argv[optind];
	return 0;
}

/* dir/name into buf; empty if it does not fit. */
static const char *join(char *buf, size_t n, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, n, "%s/%s", dir, name) >= n)
		buf[0] = 0;
	return buf;
}

static int read_input(const char *what, const char *path, uint8_t **buf, size_t *len)
{
	int err = hv_read_file(path, buf, len);
	if (err)
		fprintf(stderr, "hvima verify: %s %s: %s\n", what, path, strerror(-err));
	return err;
}

/* The TPM's PCRs: a file (default: the run's) or a live read. 0 done,
 * 1 no TPM evidence, else an exit code. */
static int tpm_pcrs(const struct opts *o, bool is_dir, const struct hv_vf *v, struct hv_vf_pcrs *p, char *src,
		    size_t srclen)
{
	hv_why why = {{0}};
	if (o->tpm) {
		struct hv_tpm t;
		memset(p, 0, sizeof(*p));
		if (hv_tpm_init(&t, o->tpm, &why)) {
			fprintf(stderr, "hvima verify: --tpm %s: %s\n", o->tpm, why.msg);
			return HV_EXIT_USAGE;
		}
		for (int a = 0; a < HV_NALGS; a++) {
			if (!(v->replay.algs & HV_ALG_BIT(a)))
				continue;
			for (uint32_t i = 0; i < 24; i++) {
				int rc = hv_tpm_pcr_read(&t, a, i, p->v[a][i], NULL, &why);
				if (rc == HV_E_ABSENT)
					break;
				if (rc) {
					hv_tpm_close(&t);
					fprintf(stderr, "hvima verify: TPM %s: %s\n", o->tpm, why.msg);
					return rc == HV_E_RANGE ? HV_EXIT_ENV : HV_EXIT_INPUT;
				}
				p->have[a] |= 1u << i;
			}
		}
		hv_tpm_close(&t);
		snprintf(src, srclen, "live PCR read of %s", o->tpm);
		return 0;
	}
	char path[4096];
	const char *f = o->pcrs;
	if (!f && is_dir) {
		struct stat st;
		f = join(path, sizeof(path), o->subject, "hvtpm-pcrs.yaml");
		if (stat(f, &st))
			return 1;
	}
	if (!f)
		return 1;
	uint8_t *buf;
	size_t len;
	if (read_input("PCR file", f, &buf, &len))
		return HV_EXIT_INPUT;
	int rc = hv_vf_pcrs_parse_yaml(p, buf, len, &why);
	free(buf);
	if (rc) {
		fprintf(stderr, "hvima verify: %s: %s\n", f, why.msg);
		return HV_EXIT_INPUT;
	}
	snprintf(src, srclen, "%s", f);
	return 0;
}

static int check_tpm(const struct opts *o, bool is_dir, const struct hv_vf *v, struct vr *r)
{
	struct hv_vf_pcrs p;
	struct hv_vf_pcrdiff d[64];
	char src[4200], hex[2 * HV_DIGEST_MAX + 1], hex2[2 * HV_DIGEST_MAX + 1];
	unsigned compared;

	if (o->no_tpm) {
		vr_add(r, "tpm", VR_SKIP, "replay-equals-tpm", "not compared (--no-tpm)");
		return 0;
	}
	int rc = tpm_pcrs(o, is_dir, v, &p, src, sizeof(src));
	if (rc == 1) {
		if (!o->quote)
			vr_add(r, "tpm", VR_FAIL, "replay-equals-tpm",
			       "no TPM evidence: no hvtpm-pcrs.yaml (give --pcrs, --tpm, --quote or --no-tpm)");
		return 0;
	}
	if (rc)
		return rc;
	unsigned n = hv_vf_pcrs_compare(&v->replay, &p, d, 64, &compared);
	if (!compared) {
		vr_add(r, "tpm", VR_FAIL, "replay-equals-tpm", "%s: no PCR of the log's banks to compare", src);
		return 0;
	}
	if (!n) {
		vr_add(r, "tpm", VR_PASS, "replay-equals-tpm", "the log's replay equals %s (%u PCR values)", src,
		       compared);
		return 0;
	}
	for (unsigned i = 0; i < n && i < 64; i++) {
		size_t sz = hv_alg_size(d[i].alg);
		char name[32];
		snprintf(name, sizeof(name), "%s-pcr-%u", hv_alg_name(d[i].alg), d[i].pcr);
		vr_add(r, "tpm", VR_FAIL, name,
		       "log disagrees with the TPM (truncated or forged log): %s PCR %u replays to %s, the TPM (%s) "
		       "holds %s",
		       hv_alg_name(d[i].alg), d[i].pcr, hv_hex(v->replay.pcr[d[i].alg][d[i].pcr], sz, hex), src,
		       hv_hex(p.v[d[i].alg][d[i].pcr], sz, hex2));
	}
	return 0;
}

static int check_quote(const struct opts *o, const struct hv_vf *v, struct vr *r)
{
	char p1[4096], p2[4096], p3[4096];
	uint8_t *msg = NULL, *sig = NULL, *pem = NULL, nonce[64];
	size_t mlen, slen, plen, nlen = strlen(o->nonce) / 2;
	struct hv_quote q;
	struct hv_quote_sig s;
	hv_why why = {{0}};
	int rc = HV_EXIT_INPUT;

	if (nlen < 8 || nlen > sizeof(nonce) || !hv_unhex(o->nonce, nonce, nlen)) {
		fprintf(stderr, "hvima verify: --nonce: expected 8 to 64 bytes in hex\n");
		return HV_EXIT_USAGE;
	}
	if (read_input("quote", join(p1, sizeof(p1), o->quote, "quote.msg"), &msg, &mlen) ||
	    read_input("quote signature", join(p2, sizeof(p2), o->quote, "quote.sig"), &sig, &slen) ||
	    read_input("attestation key", o->ak ? o->ak : join(p3, sizeof(p3), o->quote, "ak.pem"), &pem, &plen))
		goto out;
	if (mlen > HV_CAP_QUOTE_SIZE || slen > HV_CAP_QUOTE_SIZE) {
		fprintf(stderr, "hvima verify: quote: larger than %u bytes\n", HV_CAP_QUOTE_SIZE);
		goto out;
	}
	if (hv_quote_parse(msg, mlen, &q, &why) || hv_quote_parse_sig(sig, slen, &s, &why)) {
		fprintf(stderr, "hvima verify: %s: %s\n", o->quote, why.msg);
		goto out;
	}
	rc = 0;
	if (hv_quote_verify_sig(msg, mlen, &s, pem, plen, &why))
		vr_add(r, "quote", VR_FAIL, "signature", "%s (a quote made by another TPM?)", why.msg);
	else
		vr_add(r, "quote", VR_PASS, "signature", "signed by the run's attestation key");
	if (hv_quote_check(&q, s.hash_alg, nonce, nlen, &v->replay, &why))
		vr_add(r, "quote", VR_FAIL, "pcr-digest-and-nonce", "%s", why.msg);
	else
		vr_add(r, "quote", VR_PASS, "pcr-digest-and-nonce",
		       "the nonce matches and the quoted PCRs equal the log's replay");
out:
	free(msg);
	free(sig);
	free(pem);
	return rc;
}

int verify_baseline(struct vr *r, const struct hv_vf *v, const char *path); /* cmd_baseline.c */
int verify_live_quote(const char *addr, const char *dir, char *nonce_hex, size_t cap); /* verify_live.c */
void verify_images(struct vr *r, const struct hv_vf *v, const struct hv_mr_set *s, const struct hv_vf_policy *p,
		   bool with_manifests);

static int load_all(const struct opts *o, struct hv_mr_set *s, struct hv_vf_policy *p)
{
	hv_why why = {{0}};
	uint8_t *buf;
	size_t len;
	for (int i = 0; i < o->nmanifests; i++) {
		if (read_input("manifest", o->manifests[i], &buf, &len))
			return HV_EXIT_INPUT;
		int rc = hv_mr_load(s, o->manifests[i], buf, len, &why);
		free(buf);
		if (rc) {
			fprintf(stderr, "hvima verify: %s\n", why.msg);
			return rc == HV_E_NOMEM ? HV_EXIT_INTERNAL : HV_EXIT_INPUT;
		}
	}
	if (hv_mr_index(s, &why)) {
		fprintf(stderr, "hvima verify: %s\n", why.msg);
		return HV_EXIT_INTERNAL;
	}
	if (o->policy) {
		if (read_input("policy", o->policy, &buf, &len))
			return HV_EXIT_INPUT;
		int rc = hv_vf_policy_load(p, o->policy, buf, len, &why);
		free(buf);
		if (rc) {
			fprintf(stderr, "hvima verify: %s\n", why.msg);
			return HV_EXIT_INPUT;
		}
	}
	return 0;
}

static void finish(struct vr *r, const struct opts *o)
{
	if (r->oom)
		r->exit_code = HV_EXIT_INTERNAL;
	if (o->json)
		vr_json(r, stdout);
	else
		vr_text(r, stdout);
	if (o->junit && vr_junit(r, o->junit)) {
		fprintf(stderr, "hvima verify: cannot write %s\n", o->junit);
		if (!r->exit_code)
			r->exit_code = HV_EXIT_INPUT;
	}
}

int cmd_verify(int argc, char **argv)
{
	struct opts o;
	struct hv_mr_set s;
	struct hv_vf_policy p;
	struct hv_vf v;
	struct vr r = {0};
	struct stat st;
	char logpath[4096];
	uint8_t *log = NULL;
	size_t len;
	hv_why why = {{0}};
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc < 0 ? HV_EXIT_OK : rc;
	memset(&s, 0, sizeof(s));
	memset(&p, 0, sizeof(p));
	memset(&v, 0, sizeof(v));
	r.subject = o.subject;
	bool is_dir = !stat(o.subject, &st) && S_ISDIR(st.st_mode);
	const char *lp = is_dir ? join(logpath, sizeof(logpath), o.subject, "eventlog.bin") : o.subject;
	if ((rc = load_all(&o, &s, &p)))
		goto out;
	if (read_input("log", lp, &log, &len)) {
		rc = HV_EXIT_INPUT;
		goto out;
	}
	if ((rc = hv_vf_scan(&v, log, len, &why))) {
		vr_add(&r, "log", VR_FAIL, "well-formed", "%s: %s", hv_status_str(rc), why.msg);
		r.exit_code = rc == HV_E_NOMEM ? HV_EXIT_INTERNAL : HV_EXIT_INPUT;
		finish(&r, &o);
		rc = r.exit_code;
		goto out;
	}
	if (o.live) {
		if ((rc = verify_live_quote(o.tpm, o.live, o.live_nonce, sizeof(o.live_nonce))))
			goto out;
		o.quote = o.live;
		o.nonce = o.live_nonce;
	}
	vr_add(&r, "log", VR_PASS, "well-formed", "%s: %llu records", lp, (unsigned long long)v.nev + 1);
	if ((rc = check_tpm(&o, is_dir, &v, &r)) || (o.quote && (rc = check_quote(&o, &v, &r))))
		goto out;
	if ((rc = hv_vf_match(&v, &s, &p, &why))) {
		fprintf(stderr, "hvima verify: %s\n", why.msg);
		rc = HV_EXIT_INTERNAL;
		goto out;
	}
	verify_images(&r, &v, &s, &p, o.nmanifests > 0);
	if (!o.nmanifests)
		vr_add(&r, "image", VR_SKIP, "manifests", "no --manifest: images are checked against the baseline only");
	if (o.baseline && (rc = verify_baseline(&r, &v, o.baseline)))
		goto out;
	r.exit_code = vr_failures(&r, NULL) ? HV_EXIT_MISMATCH : HV_EXIT_OK;
	finish(&r, &o);
	rc = r.exit_code;
out:
	free(log);
	hv_vf_free(&v);
	hv_mr_free(&s);
	hv_vf_policy_free(&p);
	vr_free(&r);
	return rc;
}
