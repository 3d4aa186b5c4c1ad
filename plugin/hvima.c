/*
 * hvima.c: libhvima.so, the QEMU glue. Measures every image the guest runs,
 * before its first instruction, into a TCG event log and a hypervisor TPM,
 * and guards measured code (docs/plugin.md).
 *
 *   -plugin libhvima.so,outdir=DIR[,tpm=tcp:HOST:PORT][,banks=sha256,...]
 *           [,guard=on][,unattributed=on][,recheck_insns=N][,scan_pages=N]
 *           [,channel=PORT|off][,sender=SHA256]... (channel.c, docs/channel.md)
 *
 * Skeleton as in QEMU's own plugins: state, callbacks, install last. All
 * plugin state is behind one mutex (hvima.h); the per-vCPU instruction
 * counters are scoreboards updated inline.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hvima.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct hvp hvp;

static void vcpu_recheck(unsigned int vcpu, void *udata)
{
	(void)udata;
	g_mutex_lock(&hvp.lock);
	hvp.insns_done += qemu_plugin_u64_get(hvp.since_check, vcpu);
	qemu_plugin_u64_set(hvp.since_check, vcpu, 0);
	recheck_all();
	record_tpm_retry(false);
	g_mutex_unlock(&hvp.lock);
}

/* Without instruction counting, recheck when a vCPU goes idle, at most
 * every recheck_ms of host time. */
static void vcpu_idle(qemu_plugin_id_t id, unsigned int vcpu)
{
	int64_t now = g_get_monotonic_time();

	(void)id, (void)vcpu;
	g_mutex_lock(&hvp.lock);
	if (now - hvp.last_recheck_us >= (int64_t)hvp.recheck_ms * 1000) {
		hvp.last_recheck_us = now;
		recheck_all();
		record_tpm_retry(false);
	}
	g_mutex_unlock(&hvp.lock);
}

static void vcpu_init(qemu_plugin_id_t id, unsigned int vcpu)
{
	(void)id;
	channel_vcpu_init(vcpu);
}

static void vcpu_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	static uint8_t bytes[8192];
	size_t n = qemu_plugin_tb_n_insns(tb), len = 0;
	uint64_t pc = qemu_plugin_tb_vaddr(tb), hpage = 0;
	struct qemu_plugin_insn *first;
	struct page *pg;

	(void)id;
	if (n == 0)
		return;
	/* One inline add per executed block counts instructions for the
	 * events and, through the conditional callback, for the recheck. */
	if (hvp.count_insns)
		qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, hvp.since_check, n);
	if (hvp.count_insns && hvp.recheck_insns) {
		qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, vcpu_recheck, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_COND_GE,
							  hvp.since_check, hvp.recheck_insns, NULL);
	}
	first = qemu_plugin_tb_get_insn(tb, 0);
	if (qemu_plugin_insn_haddr(first))
		hpage = ((uint64_t)(uintptr_t)qemu_plugin_insn_haddr(first) - (pc & ~HVP_PAGE_MASK));

	g_mutex_lock(&hvp.lock);
	if (!hvp.scrtm_done)
		scrtm_measure();
	pg = page_lookup(pc, hpage);
	if (pg->kind == PAGE_IMAGE) {
		for (size_t i = 0; i < n; i++) {
			struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
			uint64_t off = qemu_plugin_insn_vaddr(insn) - pc;
			size_t sz = qemu_plugin_insn_size(insn);
			if (off + sz > sizeof(bytes))
				break;
			qemu_plugin_insn_data(insn, bytes + off, sz);
			len = off + sz;
		}
		guard_block(pg, pc, bytes, len);
	} else if (pg->kind == PAGE_NONE) {
		unattributed_block(pg, pc);
	}
	channel_tb_trans(tb);
	g_mutex_unlock(&hvp.lock);
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	g_autofree char *sum = NULL;

	(void)id, (void)p;
	g_mutex_lock(&hvp.lock);
	channel_exit();
	record_tpm_retry(true);
	if (hvp.tpm_down)
		record_note("tpm-unreachable-at-exit pending=%u", hvp.pending->len);
	sum = g_strdup_printf("hvima: %" PRIu64 " images (%" PRIu64 " malformed or incomplete, %" PRIu64
			      " seen again), %" PRIu64 " violations, %" PRIu64 " unattributed code pages, %" PRIu64 " channel records, %" PRIu64
			      " events, %" PRIu64 " guest instructions\n",
			      hvp.n_images, hvp.n_malformed, hvp.n_again, hvp.n_violations, hvp.n_unattributed, hvp.n_files, hvp.seq,
			      guest_insns());
	qemu_plugin_outs(sum);
	record_close();
	g_mutex_unlock(&hvp.lock);
}

/* ---- arguments ----------------------------------------------------------- */

static bool parse_u64(const char *key, const char *val, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	*out = g_ascii_strtoull(val, &end, 0);
	if (errno || end == val || *end || *out < lo || *out > hi) {
		fprintf(stderr, "hvima: %s=%s: expected a number from %" PRIu64 " to %" PRIu64 "\n", key, val, lo, hi);
		return false;
	}
	return true;
}

static bool parse_banks(const char *val, unsigned *mask)
{
	g_auto(GStrv) v = g_strsplit(val, ",", -1);
	*mask = 0;
	for (char **b = v; *b; b++) {
		int a = hv_alg_from_name(*b);
		if (a < 0) {
			fprintf(stderr, "hvima: banks=%s: '%s' is not sha1, sha256 or sha384\n", val, *b);
			return false;
		}
		*mask |= HV_ALG_BIT(a);
	}
	return *mask != 0;
}

static bool parse_args(int argc, char **argv, bool *banks_given)
{
	uint64_t v;

	for (int i = 0; i < argc; i++) {
		g_auto(GStrv) kv = g_strsplit(argv[i], "=", 2);
		const char *k = kv[0], *val = kv[1];
		if (!val) {
			fprintf(stderr, "hvima: argument '%s' is not key=value\n", argv[i]);
			return false;
		}
		if (!strcmp(k, "outdir")) {
			g_free(hvp.outdir);
			hvp.outdir = g_strdup(val);
		} else if (!strcmp(k, "tpm")) {
			g_free(hvp.tpm_addr);
			hvp.tpm_addr = *val ? g_strdup(val) : NULL;
		} else if (!strcmp(k, "banks")) {
			if (!parse_banks(val, &hvp.banks))
				return false;
			*banks_given = true;
		} else if (!strcmp(k, "guard") || !strcmp(k, "unattributed") || !strcmp(k, "insns")) {
			bool b;
			if (!qemu_plugin_bool_parse(k, val, &b)) {
				fprintf(stderr, "hvima: %s=%s: expected on or off\n", k, val);
				return false;
			}
			*(!strcmp(k, "guard") ? &hvp.guard : !strcmp(k, "insns") ? &hvp.count_insns : &hvp.unattributed) = b;
		} else if (!strcmp(k, "recheck_ms")) {
			if (!parse_u64(k, val, 1, 3600000, &v))
				return false;
			hvp.recheck_ms = (uint32_t)v;
		} else if (!strcmp(k, "recheck_insns")) {
			if (!parse_u64(k, val, 0, UINT64_MAX / 2, &hvp.recheck_insns))
				return false;
		} else if (!strcmp(k, "scan_pages")) {
			if (!parse_u64(k, val, 1, 65536, &v))
				return false;
			hvp.scan_pages = (uint32_t)v;
		} else if (!strcmp(k, "channel")) {
			if (!strcmp(val, "off"))
				hvp.chan_port = 0;
			else if (!parse_u64(k, val, 1, 0xffff, &v))
				return false;
			else
				hvp.chan_port = (uint32_t)v;
		} else if (!strcmp(k, "sender")) {
			if (strlen(val) != 64 || strspn(val, "0123456789abcdefABCDEF") != 64) {
				fprintf(stderr, "hvima: sender=%s: expected a SHA-256 in 64 hex digits\n", val);
				return false;
			}
			g_ptr_array_add(hvp.senders, g_ascii_strdown(val, -1));
		} else if (!strcmp(k, "firmware_max")) {
			if (!parse_u64(k, val, HVP_PAGE, 256ull << 20, &hvp.firmware_max))
				return false;
		} else {
			fprintf(stderr, "hvima: unknown argument '%s' (outdir, tpm, banks, guard, unattributed, "
					"insns, recheck_insns, recheck_ms, scan_pages, firmware_max, channel, sender)\n",
				k);
			return false;
		}
	}
	if (!hvp.outdir) {
		fprintf(stderr, "hvima: outdir=DIR is required\n");
		return false;
	}
	return true;
}

/* The banks to log: those the TPM has allocated, unless given. */
static bool setup_tpm(bool banks_given)
{
	hv_why why = {{0}};
	unsigned active = 0;
	uint32_t trc;

	if (!hvp.tpm_addr)
		return true;
	if (hv_tpm_init(&hvp.tpm, hvp.tpm_addr, &why)) {
		fprintf(stderr, "hvima: tpm=%s: %s\n", hvp.tpm_addr, why.msg);
		return false;
	}
	if (hv_tpm_startup_clear(&hvp.tpm, &trc, &why) == HV_OK &&
	    hv_tpm_active_banks(&hvp.tpm, &active, &trc, &why) == HV_OK && !banks_given && active)
		hvp.banks = active;
	else if (!active)
		hvp.tpm_down = true; /* recorded as an outage once the log is open */
	hv_tpm_close(&hvp.tpm);
	if (banks_given && active && (hvp.banks & ~active)) {
		fprintf(stderr, "hvima: banks: the TPM at %s has no PCRs in some of the banks asked for\n", hvp.tpm_addr);
		return false;
	}
	return true;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	bool banks_given = false;
	g_autofree char *err = NULL;

	if (strcmp(info->target_name, "x86_64") && strcmp(info->target_name, "i386")) {
		fprintf(stderr, "hvima: target %s is not x86\n", info->target_name);
		return -1;
	}
	/* OpenSSL's own atexit cleanup would run before QEMU calls
	 * plugin_exit (atexit is LIFO), and the events recorded there (a
	 * truncated channel record, a TPM still unreachable) could not be
	 * digested: keep the library alive until the process ends. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	hvp.banks = HV_ALG_BIT(HV_SHA256);
	hvp.guard = hvp.unattributed = true;
	hvp.recheck_ms = 1000;
	hvp.recheck_insns = 2000000000ull;
	hvp.scan_pages = 4096;
	hvp.firmware_max = 16ull << 20;
	hvp.chan_port = 0x4e8;
	hvp.senders = g_ptr_array_new_with_free_func(g_free);
	if (!parse_args(argc, argv, &banks_given) || !setup_tpm(banks_given))
		return -1;
	g_mutex_init(&hvp.lock);
	hvp.rbuf = g_byte_array_new();
	hvp.pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	hvp.images = g_ptr_array_new();
	hvp.by_digest = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	hvp.seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	hvp.sb = qemu_plugin_scoreboard_new(sizeof(struct vcpu_counts));
	hvp.since_check = qemu_plugin_scoreboard_u64_in_struct(hvp.sb, struct vcpu_counts, since_check);
	if (record_open(&err)) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (hvp.tpm_down) {
		hvp.last_retry_us = g_get_monotonic_time();
		record_note("tpm-outage at-seq=0 reason=\"TPM at %s unreachable at start\"", hvp.tpm_addr);
	}
	qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
	qemu_plugin_register_vcpu_tb_trans_cb(id, vcpu_tb_trans);
	if (!hvp.count_insns)
		qemu_plugin_register_vcpu_idle_cb(id, vcpu_idle);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
