/*
 * record.c: the measurement list. Each event goes, in this order and under
 * the plugin lock, to the TCG event log (eventlog.bin), to the hypervisor
 * TPM (TPM2_PCR_Extend), to the IMA-like text list (measurements.txt) and to
 * JSON lines (measurements.jsonl). Every file record is written whole and
 * flushed, so a QEMU killed at any point leaves valid prefixes.
 *
 * TPM outages: an extend that cannot reach the TPM is queued (bounded), the
 * log gets a note (PCR 16), and later events retry the connection at
 * most once a second; when it is back, the queued extends go first, in log
 * order, and a note says so. Measuring and logging never stop.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "hvima.h"

#define PENDING_MAX 65536
#define RETRY_US (1000 * 1000)

struct pending {
	uint32_t pcr;
	struct hv_digests d;
};

const char *hexd(const struct hv_digests *d, enum hv_alg a, char *buf)
{
	if (!(d->mask & HV_ALG_BIT(a)))
		return strcpy(buf, "-");
	return hv_hex(d->d[a], hv_alg_size(a), buf);
}

uint64_t guest_insns(void)
{
	if (!hvp.count_insns)
		return 0;
	return hvp.insns_done + qemu_plugin_u64_sum(hvp.since_check);
}

static const char *type_name(uint32_t t)
{
	switch (t) {
	case EV_SEPARATOR: return "EV_SEPARATOR";
	case EV_EVENT_TAG: return "EV_EVENT_TAG";
	case EV_S_CRTM_VERSION: return "EV_S_CRTM_VERSION";
	case EV_EFI_BOOT_SERVICES_APPLICATION: return "EV_EFI_BOOT_SERVICES_APPLICATION";
	case EV_EFI_BOOT_SERVICES_DRIVER: return "EV_EFI_BOOT_SERVICES_DRIVER";
	case EV_EFI_RUNTIME_SERVICES_DRIVER: return "EV_EFI_RUNTIME_SERVICES_DRIVER";
	case EV_EFI_PLATFORM_FIRMWARE_BLOB: return "EV_EFI_PLATFORM_FIRMWARE_BLOB";
	default: return "EV_UNKNOWN";
	}
}

static FILE *open_out(const char *name, char **err)
{
	g_autofree char *path = g_build_filename(hvp.outdir, name, NULL);
	FILE *f = fopen(path, "we");
	if (!f)
		*err = g_strdup_printf("hvima: cannot create %s: %s", path, strerror(errno));
	return f;
}

static void extend(uint32_t pcr, const struct hv_digests *d);

/* The log writer's padding records are measured events too (tcglog.h). */
static void pad_extend(void *ctx, uint32_t pcr, const struct hv_digests *d)
{
	(void)ctx;
	extend(pcr, d);
}

int record_open(char **err)
{
	g_autofree char *logpath = g_build_filename(hvp.outdir, "eventlog.bin", NULL);
	hv_why why = {{0}};

	if (g_mkdir_with_parents(hvp.outdir, 0755) < 0) {
		*err = g_strdup_printf("hvima: cannot create outdir %s: %s", hvp.outdir, strerror(errno));
		return -1;
	}
	if (hv_log_create(&hvp.log, logpath, hvp.banks, &why)) {
		*err = g_strdup_printf("hvima: cannot create %s: %s", logpath, why.msg);
		return -1;
	}
	hvp.log_ok = true;
	hvp.log.pad_cb = pad_extend;
	hvp.list = open_out("measurements.txt", err);
	if (!hvp.list)
		return -1;
	hvp.jsonl = open_out("measurements.jsonl", err);
	if (!hvp.jsonl)
		return -1;
	hvp.pending = g_array_new(FALSE, FALSE, sizeof(struct pending));
	return 0;
}

void record_close(void)
{
	if (hvp.log_ok)
		hv_log_close(&hvp.log);
	hvp.log_ok = false;
	if (hvp.list)
		fclose(hvp.list);
	if (hvp.jsonl)
		fclose(hvp.jsonl);
	hvp.list = hvp.jsonl = NULL;
	if (hvp.tpm_addr)
		hv_tpm_close(&hvp.tpm);
}

static void log_append(uint32_t pcr, uint32_t type, const struct hv_digests *d, const void *data, uint32_t size)
{
	hv_why why = {{0}};

	if (!hvp.log_ok)
		return;
	if (hv_log_append(&hvp.log, pcr, type, d, data, size, &why)) {
		/* The log is the record of truth: without it nothing is
		 * verifiable. Say it once, loudly, and keep extending. */
		g_autofree char *m = g_strdup_printf("hvima: event log write failed: %s\n", why.msg);
		qemu_plugin_outs(m);
		hvp.log_ok = false;
	}
}

/* Extend now, or queue while the TPM is unreachable. */
static void extend(uint32_t pcr, const struct hv_digests *d)
{
	struct pending p = {pcr, *d};
	uint32_t trc = 0;
	hv_why why = {{0}};
	int rc;

	if (!hvp.tpm_addr)
		return;
	if (hvp.tpm_down) {
		if (hvp.pending->len < PENDING_MAX)
			g_array_append_val(hvp.pending, p);
		record_tpm_retry(false);
		return;
	}
	rc = hv_tpm_pcr_extend(&hvp.tpm, pcr, d, &trc, &why);
	hv_tpm_close(&hvp.tpm);
	if (rc == HV_E_RANGE) {
		hvp.tpm_down = true;
		hvp.last_retry_us = g_get_monotonic_time();
		g_array_append_val(hvp.pending, p);
		record_note("tpm-outage at-seq=%" PRIu64 " reason=\"%s\"", hvp.seq, why.msg);
	} else if (rc) {
		record_note("tpm-error at-seq=%" PRIu64 " pcr=%u rc=0x%x reason=\"%s\"", hvp.seq, pcr, trc, why.msg);
	}
}

void record_tpm_retry(bool force)
{
	int64_t now = g_get_monotonic_time();
	guint done = 0;
	hv_why why = {{0}};

	if (!hvp.tpm_down || (!force && now - hvp.last_retry_us < RETRY_US))
		return;
	hvp.last_retry_us = now;
	for (; done < hvp.pending->len; done++) {
		struct pending *p = &g_array_index(hvp.pending, struct pending, done);
		if (hv_tpm_pcr_extend(&hvp.tpm, p->pcr, &p->d, NULL, &why) == HV_E_RANGE)
			break;
	}
	hv_tpm_close(&hvp.tpm);
	g_array_remove_range(hvp.pending, 0, done);
	if (hvp.pending->len == 0) {
		hvp.tpm_down = false;
		record_note("tpm-restored replayed=%u", done);
	}
}

void record(uint32_t pcr, uint32_t type, const struct hv_digests *d, const void *data, uint32_t size, const char *text,
	    const char *json)
{
	struct hv_digests own;
	char hex[2 * HV_DIGEST_MAX + 1];
	struct hv_mh h;

	if (!d) {
		if (hv_mh_init(&h, hvp.banks) || hv_mh_update(&h, data, size) || hv_mh_final(&h, &own)) {
			qemu_plugin_outs("hvima: digest library failure; event not recorded\n");
			return;
		}
		d = &own;
	}
	hvp.seq++;
	log_append(pcr, type, d, data, size);
	extend(pcr, d);
	if (hvp.list) {
		fprintf(hvp.list, "%2u %s sha256:%s %s\n", pcr, type_name(type), hexd(d, HV_SHA256, hex), text);
		fflush(hvp.list);
	}
	if (hvp.jsonl) {
		fprintf(hvp.jsonl, "{\"seq\":%" PRIu64 ",\"pcr\":%u,\"type\":\"%s\",\"type_id\":%u,\"sha256\":\"%s\"%s%s}\n",
			hvp.seq, pcr, type_name(type), type, hexd(d, HV_SHA256, hex), json && *json ? "," : "",
			json ? json : "");
		fflush(hvp.jsonl);
	}
}

/* A note: an hvima tagged event in PCR 16, extended like any other. */
void record_note(const char *fmt, ...)
{
	uint8_t buf[512];
	g_autofree char *text = NULL, *esc = NULL, *json = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	n = hv_ev_tagged_text(buf, sizeof(buf), HV_TAG_NOTE, text);
	if (n < 0)
		n = hv_ev_tagged_text(buf, sizeof(buf), HV_TAG_NOTE, "note too long");
	esc = g_strescape(text, NULL);
	json = g_strdup_printf("\"event\":\"note\",\"text\":\"%s\"", esc);
	record(HV_PCR_NOTES, EV_EVENT_TAG, NULL, buf, (uint32_t)n, text, json);
}
