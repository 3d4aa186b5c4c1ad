/*
 * channel.c: the hypervisor end of the minifilter's channel
 * (docs/channel.md). The guest writes records (lib/chanrec.h) byte by byte
 * to one I/O port; a stock isa-debugcon device at that port hands the same
 * bytes to a chardev (what `hvima collect` reads under KVM). Under TCG this
 * file watches every instruction that writes to an I/O port: at
 * translation, it registers an exec callback on each OUT/OUTS instruction
 * only; at execution, the callback reads the port (DX or the immediate)
 * and, for the channel port, decides where the byte came from.
 *
 * Trust: a byte is accepted only from `out dx, al` / `out imm8, al` whose
 * address lies in an executable section of a measured image (status
 * measured, no violation recorded for it, not gone) whose canonical SHA-256
 * is one of the sender= digests. Accepted bytes are reassembled per vCPU
 * (lib/chanrec.c's stream decoder); each record becomes an IMA-ng-like
 * event in PCR 10 (HV_TAG_FILE). A write to the channel port from any other
 * code is a "forged-report" violation in PCR 15 naming the PC and the image
 * (or none); malformed records and sequence gaps from the trusted sender are
 * violations too ("channel-malformed", "channel-gap"), a restart a note.
 *
 * The same watch serves the guard: a write of SLP_EN to the ACPI PM1a
 * control port (the guest powering off) triggers a last recheck of every
 * measured image, while guest memory can still be read (there is no vCPU
 * context at exit).
 *
 * Runs under the plugin lock (hvima.h) except the first port check.
 */
#include <string.h>

#include "chanrec.h"
#include "hvima.h"

#define MAX_SITES 65536u
/* ACPI PM1a control ports of QEMU's machines as OVMF sets them up (q35:
 * PM base 0x600; i440fx: 0xb000), and their sleep-enable bit. */
#define PM1A_CNT_Q35 0x604
#define PM1A_CNT_PC 0xb004
#define PM1_SLP_EN 0x2000
#define MAX_VCPUS 1024u

/* An OUT instruction seen at translation. */
struct out_site {
	uint64_t vaddr;
	uint8_t op;  /* E6 E7 EE EF 6E 6F */
	uint8_t imm; /* E6/E7: the port */
	bool rep;
};

static struct qemu_plugin_register *reg_rax, *reg_rdx;
/* "vaddr/op/imm/rep" -> struct out_site; sites are never freed, since
 * translated blocks keep pointing at them (bounded by MAX_SITES). */
static GHashTable *sites;
static struct hv_rx *rx[MAX_VCPUS];
static struct sender {
	uint64_t pc;
	struct image *img;
} rx_last[MAX_VCPUS]; /* the last accepted byte's sender, per vCPU */
static uint32_t last_seq;
static bool sites_full;

void channel_vcpu_init(unsigned int vcpu)
{
	g_autoptr(GArray) regs = qemu_plugin_get_registers();

	(void)vcpu;
	g_mutex_lock(&hvp.lock);
	for (guint i = 0; regs && i < regs->len; i++) {
		qemu_plugin_reg_descriptor *r = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
		if (!strcmp(r->name, "rax") || (!reg_rax && !strcmp(r->name, "eax")))
			reg_rax = r->handle;
		else if (!strcmp(r->name, "rdx") || (!reg_rdx && !strcmp(r->name, "edx")))
			reg_rdx = r->handle;
	}
	g_mutex_unlock(&hvp.lock);
}

/* Called outside the lock on every port write of the guest: one buffer
 * per vCPU thread, emptied before each read (the API appends to it). */
static uint64_t read_reg(struct qemu_plugin_register *r)
{
	static __thread GByteArray *b;
	uint64_t v = 0;
	int n;

	if (!b)
		b = g_byte_array_new();
	g_byte_array_set_size(b, 0);
	n = r ? qemu_plugin_read_register(r, b) : -1;

	for (int i = 0; i < n && i < 8; i++)
		v |= (uint64_t)b->data[i] << (8 * i);
	return v;
}

/* The opcode of an instruction that writes to an I/O port, after legacy
 * prefixes and REX; 0 for any other instruction. */
static uint8_t out_opcode(const uint8_t *b, size_t n, uint8_t *imm, bool *rep)
{
	size_t i = 0;

	*rep = false;
	for (; i < n; i++) {
		uint8_t c = b[i];
		if (c == 0xf3 || c == 0xf2)
			*rep = true;
		else if (!(c == 0x66 || c == 0x67 || c == 0x2e || c == 0x36 || c == 0x3e || c == 0x26 || c == 0x64 ||
			   c == 0x65 || c == 0xf0 || (c & 0xf0) == 0x40))
			break;
	}
	if (i >= n)
		return 0;
	switch (b[i]) {
	case 0xe6: case 0xe7:
		if (i + 1 >= n)
			return 0;
		*imm = b[i + 1];
		return b[i];
	case 0xee: case 0xef: case 0x6e: case 0x6f:
		return b[i];
	default:
		return 0;
	}
}

/* Is pc in an executable section of img at base? */
static bool in_code(struct image *img, uint64_t base, uint64_t pc)
{
	uint64_t rva = pc - base + img->pe.rva_bias;

	if (!img->parsed)
		return false;
	for (uint16_t i = 0; i < img->pe.nsections; i++) {
		const struct hv_pe_section *s = &img->pe.sections[i];
		uint32_t len = s->virtual_size ? s->virtual_size : s->raw_size;
		if ((s->characteristics & HV_SCN_MEM_EXECUTE) && rva >= s->virtual_address &&
		    rva - s->virtual_address < len)
			return true;
	}
	return false;
}

static bool trusted_digest(const struct image *img)
{
	char hex[2 * HV_DIGEST_MAX + 1];

	hexd(&img->canon, HV_SHA256, hex);
	for (guint i = 0; hvp.senders && i < hvp.senders->len; i++)
		if (!strcmp(g_ptr_array_index(hvp.senders, i), hex))
			return true;
	return false;
}

static void chan_violation(const char *kind, struct image *img, uint64_t pc, const char *detail)
{
	char ih[2 * HV_DIGEST_MAX + 1] = "-";
	uint8_t ev[1024];
	g_autofree char *key = NULL, *text = NULL, *json = NULL, *edetail = g_strescape(detail, NULL);
	g_autofree char *ename = g_strescape(img && img->name[0] ? img->name : "-", NULL);
	int n;

	key = g_strdup_printf("c/%s/%" PRIx64 "/%s", kind, pc, detail);
	if (seen_before(key))
		return;
	if (img)
		hexd(&img->canon, HV_SHA256, ih);
	hvp.n_violations++;
	text = g_strdup_printf("kind=%s image=%s image-id=%d image-sha256=%s pc=0x%" PRIx64 " port=0x%x %s", kind,
			       img && img->name[0] ? img->name : "-", img ? (int)img->id : -1, ih, pc, hvp.chan_port,
			       detail);
	json = g_strdup_printf("\"event\":\"violation\",\"kind\":\"%s\",\"image\":\"%s\",\"image_id\":%d,"
			       "\"image_sha256\":\"%s\",\"pc\":\"0x%" PRIx64 "\",\"port\":%u,\"detail\":\"%s\"",
			       kind, ename, img ? (int)img->id : -1, ih, pc, hvp.chan_port, edetail);
	n = hv_ev_tagged_text(ev, sizeof(ev), HV_TAG_VIOLATION, text);
	record(HV_PCR_VIOLATIONS, EV_EVENT_TAG, NULL, ev, n > 0 ? (uint32_t)n : 0, text, json);
}

/* IMA ng-like event data (docs/channel.md): EV_EVENT_TAG HV_TAG_FILE,
 * {u32 len, "sha256:\0" digest} {u32 len, path\0} {u32 len, context\0}. */
static int file_event(uint8_t *buf, size_t cap, const struct hv_rec *r, const char *ctxt)
{
	size_t plen = strlen(r->path) + 1, clen = strlen(ctxt) + 1, body = 4 + 8 + 32 + 4 + plen + 4 + clen, o = 8;

	if (8 + body > cap)
		return -1;
	hv_put_le32(buf, HV_TAG_FILE);
	hv_put_le32(buf + 4, (uint32_t)body);
	hv_put_le32(buf + o, 8 + 32), o += 4;
	memcpy(buf + o, "sha256:\0", 8), o += 8;
	memcpy(buf + o, r->sha256, 32), o += 32;
	hv_put_le32(buf + o, (uint32_t)plen), o += 4;
	memcpy(buf + o, r->path, plen), o += plen;
	hv_put_le32(buf + o, (uint32_t)clen), o += 4;
	memcpy(buf + o, ctxt, clen), o += clen;
	return (int)o;
}

static void on_event(void *ctx, const struct hv_rx_event *ev)
{
	const struct sender *snd = ctx;
	uint64_t pc = snd->pc;
	struct image *img = snd->img;
	const struct hv_rec *r = ev->rec;
	static uint8_t buf[HV_REC_MAX + 256];
	char dhex[65];
	g_autofree char *detail = NULL, *ctxt = NULL, *text = NULL, *json = NULL, *epath = NULL, *eproc = NULL;
	int n;

	if (ev->kind == HV_RX_MALFORMED) {
		detail = g_strdup_printf("offset=%" PRIu64 " skipped=%u reason=\"%s\"", ev->offset, ev->skipped, ev->why);
		chan_violation("channel-malformed", img, pc, detail);
		return;
	}
	if (r->seq == 1 && last_seq) {
		record_note("channel-restart after-seq=%u", last_seq);
	} else if (r->seq != last_seq + 1) {
		detail = g_strdup_printf("expected-seq=%u seq=%u", last_seq + 1, r->seq);
		chan_violation("channel-gap", img, pc, detail);
		g_clear_pointer(&detail, g_free);
	}
	last_seq = r->seq;
	hv_hex(r->sha256, 32, dhex);
	ctxt = g_strdup_printf("access=%s decision=%s flags=0x%x size=%" PRIu64 " process=%s",
			       hv_rec_access_name(r->access), r->decision ? "denied" : "allowed", r->flags, r->size,
			       r->proc[0] ? r->proc : "-");
	n = file_event(buf, sizeof(buf), r, ctxt);
	if (n < 0)
		return;
	epath = g_strescape(r->path, NULL);
	eproc = g_strescape(r->proc, NULL);
	text = g_strdup_printf("sha256:%s %s %s", dhex, r->path, ctxt);
	json = g_strdup_printf("\"event\":\"file\",\"seq_guest\":%u,\"path\":\"%s\",\"file_sha256\":\"%s\","
			       "\"access\":\"%s\",\"decision\":\"%s\",\"flags\":%u,\"size\":%" PRIu64 ","
			       "\"pid\":%u,\"process\":\"%s\",\"sender_image_id\":%u",
			       r->seq, epath, dhex, hv_rec_access_name(r->access), r->decision ? "denied" : "allowed",
			       r->flags, r->size, r->pid, eproc, img->id);
	hvp.n_files++;
	record(HV_PCR_FILES, EV_EVENT_TAG, NULL, buf, (uint32_t)n, text, json);
}

static void accept_byte(unsigned int vcpu, uint8_t b, uint64_t pc, struct image *img)
{
	struct sender snd = {pc, img};

	if (vcpu >= MAX_VCPUS)
		return;
	rx_last[vcpu] = snd;
	if (!rx[vcpu]) {
		rx[vcpu] = g_try_new0(struct hv_rx, 1);
		if (!rx[vcpu])
			return;
		hv_rx_init(rx[vcpu]);
	}
	hv_rx_feed(rx[vcpu], &b, 1, on_event, &snd);
}

/* out dx, ax / out dx, eax of SLP_EN to a PM1a control port. */
static bool powering_off(uint8_t op, uint64_t port)
{
	return (port == PM1A_CNT_Q35 || port == PM1A_CNT_PC) && op == 0xef && (read_reg(reg_rax) & PM1_SLP_EN);
}

/* The guest is about to power off: check every measured image once more. */
static void power_off(void)
{
	if (!hvp.guard)
		return;
	g_mutex_lock(&hvp.lock);
	hvp.last_recheck_us = g_get_monotonic_time();
	recheck_all();
	record_tpm_retry(false);
	g_mutex_unlock(&hvp.lock);
}

/* Past MAX_SITES an instruction gets no site: its udata is the opcode
 * and immediate packed in a small integer, and what it sends to the
 * channel is never trusted (fail closed). */
#define CAPPED(op, imm) ((void *)(uintptr_t)(0x10000u | (unsigned)(op) << 8 | (imm)))
#define IS_CAPPED(p) ((uintptr_t)(p) < 0x20000u)

static void out_exec_capped(uintptr_t u)
{
	uint8_t op = (uint8_t)(u >> 8), imm = (uint8_t)u;
	uint64_t port = (op == 0xe6 || op == 0xe7) ? imm : (read_reg(reg_rdx) & 0xffff);

	if (powering_off(op, port)) {
		power_off();
		return;
	}
	if (!hvp.chan_port || port != hvp.chan_port)
		return;
	g_mutex_lock(&hvp.lock);
	chan_violation("forged-report", NULL, 0, "sender=unknown-site (site limit reached)");
	g_mutex_unlock(&hvp.lock);
}

static void out_exec(unsigned int vcpu, void *udata)
{
	const struct out_site *s = udata;
	uint64_t port, base = 0;
	struct image *img;
	bool trusted;

	if (IS_CAPPED(udata)) {
		out_exec_capped((uintptr_t)udata);
		return;
	}
	port = (s->op == 0xe6 || s->op == 0xe7) ? s->imm : (read_reg(reg_rdx) & 0xffff);
	if (powering_off(s->op, port)) {
		power_off();
		return;
	}
	if (!hvp.chan_port || port != hvp.chan_port)
		return;
	g_mutex_lock(&hvp.lock);
	img = known(s->vaddr, &base);
	trusted = img && !img->violated && !img->gone && !strcmp(img->status, "measured") && trusted_digest(img) &&
		  in_code(img, base, s->vaddr);
	if (!trusted) {
		chan_violation("forged-report", img, s->vaddr, img ? "sender=untrusted-image" : "sender=no-image");
	} else if (s->op != 0xe6 && s->op != 0xee) {
		chan_violation("channel-malformed", img, s->vaddr, "reason=\"only byte-wide out dx,al is accepted\"");
	} else {
		accept_byte(vcpu, (uint8_t)read_reg(reg_rax), s->vaddr, img);
	}
	g_mutex_unlock(&hvp.lock);
}

/* At exit, under the lock: bytes of an unfinished record from the trusted
 * sender are reported (channel-malformed), not dropped. */
void channel_exit(void)
{
	for (unsigned i = 0; i < MAX_VCPUS; i++) {
		if (!rx[i])
			continue;
		hv_rx_end(rx[i], on_event, &rx_last[i]);
		g_free(rx[i]);
		rx[i] = NULL;
	}
}

/* Called from vcpu_tb_trans, under the lock. */
void channel_tb_trans(struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	if (!hvp.chan_port && !hvp.guard)
		return;
	if (!sites)
		sites = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint8_t b[16], imm = 0, op;
		size_t sz = qemu_plugin_insn_size(insn);
		uint64_t va = qemu_plugin_insn_vaddr(insn);
		struct out_site *s;
		bool rep;

		if (sz > sizeof(b))
			sz = sizeof(b);
		qemu_plugin_insn_data(insn, b, sz);
		op = out_opcode(b, sz, &imm, &rep);
		/* out imm8 reaches ports below 256: never the PM1a ports */
		if (!op || ((op == 0xe6 || op == 0xe7) && imm != hvp.chan_port))
			continue;
		g_autofree char *key = g_strdup_printf("%" PRIx64 "/%x/%x/%d", va, op, imm, rep);
		s = g_hash_table_lookup(sites, key);
		if (!s) {
			if (g_hash_table_size(sites) >= MAX_SITES) {
				if (!sites_full)
					record_note("channel-site-limit reached=%u: reports from further sites are forged",
						    MAX_SITES);
				sites_full = true;
				qemu_plugin_register_vcpu_insn_exec_cb(insn, out_exec, QEMU_PLUGIN_CB_R_REGS,
								       CAPPED(op, imm));
				continue;
			}
			s = g_new0(struct out_site, 1);
			*s = (struct out_site){va, op, imm, rep};
			g_hash_table_insert(sites, g_steal_pointer(&key), s);
		}
		qemu_plugin_register_vcpu_insn_exec_cb(insn, out_exec, QEMU_PLUGIN_CB_R_REGS, s);
	}
}
