/*
 * fuzz_pe.c: libFuzzer target for the PE/TE parser (lib/pe.c, pe_dirs.c).
 * The input is parsed as a file and as a loaded image; every walker runs on
 * each parse that succeeds: relocations, imports, Load Config and its DVRT,
 * debug entries, CodeView name, export name, best name. The callbacks touch
 * what they are given, so ASan sees any out-of-bounds pointer the parser
 * hands out; names must be NUL-terminated within their buffers.
 */
#include <stdint.h>
#include <string.h>

#include "pe.h"

static volatile unsigned sink;

static int on_reloc(void *ctx, uint32_t rva, unsigned type, uint16_t arg)
{
	const struct hv_pe *pe = ctx;
	unsigned w = hv_reloc_width(type);
	const uint8_t *p = w ? hv_pe_rva(pe, rva, w) : NULL;
	sink += p ? p[w - 1] : type + arg;
	return 0;
}

static int on_import(void *ctx, const struct hv_pe_import *imp)
{
	const struct hv_pe *pe = ctx;
	const uint8_t *p = hv_pe_rva(pe, imp->iat_rva, (uint64_t)imp->nthunks * imp->thunk_size);
	sink += (unsigned)strlen(imp->dll) + imp->nthunks;
	if (imp->nthunks && p)
		sink += p[(size_t)imp->nthunks * imp->thunk_size - 1];
	return 0;
}

static int on_dvrt(void *ctx, uint32_t rva, unsigned width)
{
	const uint8_t *p = width ? hv_pe_rva(ctx, rva, width) : NULL;
	sink += p ? p[width - 1] : rva;
	return 0;
}

static int on_debug(void *ctx, const struct hv_pe_debug *d)
{
	const uint8_t *p = d->size && d->data_rva ? hv_pe_rva(ctx, d->data_rva, d->size) : NULL;
	sink += p ? p[d->size - 1] : d->type;
	return 0;
}

static void walk(const uint8_t *data, size_t size, enum hv_layout layout)
{
	struct hv_pe pe;
	struct hv_pe_loadcfg lc;
	hv_why why;
	char name[HV_CAP_NAME + 1];

	if (hv_pe_parse(&pe, data, size, layout, &why) != HV_OK) {
		sink += (unsigned)strlen(why.msg);
		return;
	}
	for (unsigned d = 0; d < HV_DIR_COUNT; d++)
		sink += hv_pe_dir(&pe, (enum hv_dir)d) != NULL;
	for (uint32_t i = 0; i < pe.nsections; i++)
		sink += hv_pe_section_copied(&pe.sections[i]) + (hv_pe_section_at(&pe, pe.sections[i].virtual_address) != NULL);
	hv_pe_relocs(&pe, on_reloc, &pe, &why);
	hv_pe_imports(&pe, on_import, &pe, &why);
	if (hv_pe_loadcfg(&pe, &lc, &why) == HV_OK)
		hv_pe_dvrt(&pe, &lc, on_dvrt, &pe, &why);
	hv_pe_debug_entries(&pe, on_debug, &pe, &why);
	if (hv_pe_codeview_name(&pe, name, sizeof(name), &why) == HV_OK)
		sink += (unsigned)strlen(name);
	if (hv_pe_export_name(&pe, name, sizeof(name), &why) == HV_OK)
		sink += (unsigned)strlen(name);
	hv_pe_best_name(&pe, name, sizeof(name));
	sink += (unsigned)strlen(name);
	/* A tiny buffer must also give a terminated (possibly empty) name. */
	hv_pe_best_name(&pe, name, 4);
	sink += (unsigned)strnlen(name, 4) + (unsigned)strlen(hv_pe_kind_str(pe.kind));
	sink += (unsigned)strlen(hv_pe_machine_str(pe.machine)) + (unsigned)strlen(hv_pe_subsystem_str(pe.subsystem));
	hv_pe_free(&pe);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	walk(data, size, HV_LAYOUT_FILE);
	walk(data, size, HV_LAYOUT_LOADED);
	return 0;
}
