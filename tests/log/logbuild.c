/*
 * logbuild.c: the sample log of tests/log (logbuild.h), built with the
 * plugin's own event builders (lib/events.h), so the tests against
 * tpm2_eventlog cover the layouts the plugin really writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "logbuild.h"

/* A digest per bank, made up from a seed. */
static void fake_digests(struct hv_digests *d, unsigned algs, unsigned seed)
{
	memset(d, 0, sizeof(*d));
	d->mask = algs;
	for (int a = 0; a < HV_NALGS; a++)
		for (size_t i = 0; i < hv_alg_size(a); i++)
			d->d[a][i] = (uint8_t)(seed * 31 + a * 7 + i);
}

/* The digests of data, as firmware computes them for separators. */
static int data_digests(struct hv_digests *d, unsigned algs, const void *p, size_t n)
{
	struct hv_mh h;
	int rc = hv_mh_init(&h, algs);
	if (rc)
		return rc;
	rc = hv_mh_update(&h, p, n);
	if (rc) {
		hv_mh_abort(&h);
		return rc;
	}
	return hv_mh_final(&h, d);
}

int logbuild_sample(const char *path, unsigned algs, int notes, hv_why *why)
{
	static const char *const uefi[] = {"", "\\EFI\\BOOT\\BOOTX64.EFI", "PciBus.efi", "\\EFI\\Microsoft\\Boot\\bootmgfw.efi"};
	static const char *const kernel[] = {"\\Windows\\System32\\ntoskrnl.exe", "\\Windows\\System32\\hal.dll",
					     "\\Windows\\System32\\drivers\\CLFS.SYS"};
	struct hv_log_writer w;
	struct hv_digests d;
	uint8_t ev[1024];
	unsigned seed = 1;
	int n, rc;

	rc = hv_log_create(&w, path, algs, why);
	if (rc)
		return rc;
#define APPEND(pcr, type, dig, data, size)                                                   \
	do {                                                                                 \
		rc = hv_log_append(&w, (pcr), (type), (dig), (data), (uint32_t)(size), why); \
		if (rc)                                                                      \
			goto out;                                                            \
	} while (0)

	/* PCR 0: S-CRTM version (UTF-16LE "hvima 0.1.0") and the firmware. */
	{
		const char *v = "hvima 0.1.0";
		size_t k = 0;
		for (; v[k]; k++) {
			ev[2 * k] = (uint8_t)v[k];
			ev[2 * k + 1] = 0;
		}
		ev[2 * k] = ev[2 * k + 1] = 0;
		if ((rc = data_digests(&d, algs, ev, 2 * k + 2)) != 0)
			goto out;
		APPEND(0, EV_S_CRTM_VERSION, &d, ev, 2 * k + 2);
	}
	n = hv_ev_firmware_blob(ev, sizeof(ev), 0xffc00000, 0x400000);
	fake_digests(&d, algs, seed++);
	APPEND(0, EV_EFI_PLATFORM_FIRMWARE_BLOB, &d, ev, n);

	/* PCR 2 and 4: UEFI drivers and applications. */
	for (unsigned i = 0; i < 4; i++) {
		uint32_t type = i == 2 ? EV_EFI_RUNTIME_SERVICES_DRIVER
				: i == 0 ? EV_EFI_BOOT_SERVICES_DRIVER
					 : EV_EFI_BOOT_SERVICES_APPLICATION;
		n = hv_ev_image_load(ev, sizeof(ev), 0x7e000000 + 0x100000 * i, 0x20000 + 0x1000 * i, 0, uefi[i]);
		if (n < 0) {
			rc = hv_fail(why, n, "hv_ev_image_load failed");
			goto out;
		}
		fake_digests(&d, algs, seed++);
		APPEND(type == EV_EFI_BOOT_SERVICES_APPLICATION ? 4 : 2, type, &d, ev, n);
	}
	n = hv_ev_note(ev, sizeof(ev), "tpm-outage since-event=7 reason=\"connection refused\"");
	if (notes)
		APPEND(0, EV_NO_ACTION, NULL, ev, n);

	/* PCR 13: kernel-mode images as Windows logs them; enough of them for
	 * the log to span pages, so that it holds padding records. */
	for (unsigned i = 0; i < 30; i++) {
		uint8_t digest[48];
		fake_digests(&d, algs, seed++);
		memcpy(digest, d.d[HV_SHA256], 32);
		n = hv_ev_sipa_module(ev, sizeof(ev), kernel[i % 3], 0x1000000 + i, 0xfffff80000000000ull + 0x200000 * i,
				      HV_SHA256, digest);
		if (n < 0) {
			rc = hv_fail(why, n, "hv_ev_sipa_module failed");
			goto out;
		}
		APPEND(13, EV_EVENT_TAG, &d, ev, n);
	}

	/* hvima's own events. */
	n = hv_ev_tagged_text(ev, sizeof(ev), HV_TAG_UNATTRIBUTED, "rip=0xfffff80012345678 cr3=0x1aa000 size=0x40");
	fake_digests(&d, algs, seed++);
	APPEND(14, EV_EVENT_TAG, &d, ev, n);
	n = hv_ev_tagged_text(ev, sizeof(ev), HV_TAG_MALFORMED, "base=0x7e400000 pcr=2 reason=\"section 2 runs past SizeOfImage\"");
	fake_digests(&d, algs, seed++);
	APPEND(2, EV_EVENT_TAG, &d, ev, n);
	n = hv_ev_tagged_text(ev, sizeof(ev), HV_TAG_VIOLATION, "image=ntoskrnl.exe rva=0x1000 old=ab12 new=cd34");
	fake_digests(&d, algs, seed++);
	APPEND(15, EV_EVENT_TAG, &d, ev, n);
	n = hv_ev_tagged_text(ev, sizeof(ev), HV_TAG_NOTE, "tpm-back pending=3");
	fake_digests(&d, algs, seed++);
	APPEND(HV_PCR_NOTES, EV_EVENT_TAG, &d, ev, n);

	/* Separators, as firmware ends the pre-OS phase (4 zero bytes). */
	memset(ev, 0, 4);
	if ((rc = data_digests(&d, algs, ev, 4)) != 0)
		goto out;
	for (uint32_t pcr = 0; pcr < 8; pcr++)
		APPEND(pcr, EV_SEPARATOR, &d, ev, 4);
	if (notes) {
		n = hv_ev_note(ev, sizeof(ev), "end events=44");
		APPEND(0, EV_NO_ACTION, NULL, ev, n);
	}
	rc = (int)w.events;
out:
	hv_log_close(&w);
	return rc;
#undef APPEND
}

int logbuild_read(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	*buf = NULL;
	*len = 0;
	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(*buf = malloc(n ? (size_t)n : 1)) || fread(*buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(*buf);
		*buf = NULL;
		return -1;
	}
	fclose(f);
	*len = (size_t)n;
	return 0;
}
