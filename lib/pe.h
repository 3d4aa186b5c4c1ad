/*
 * pe.h: a bounded PE/COFF (PE32, PE32+) and TE parser for hostile input.
 *
 * The same parser reads two layouts of one image:
 *   HV_LAYOUT_FILE    the bytes of a file: sections at PointerToRawData;
 *   HV_LAYOUT_LOADED  an image as a loader left it in memory: byte i of the
 *                     buffer is RVA i (TE: RVA i + rva_bias), so sections sit
 *                     at their VirtualAddress.
 * Everything after hv_pe_parse() addresses the image by RVA through
 * hv_pe_rva(), which maps an RVA to bytes of either layout or fails.
 *
 * Every function returns HV_OK or a negative hv_status and, on failure,
 * writes a one-line reason naming the field or offset into a hv_why.
 * No function trusts a count or size before checking it against the input
 * and against caps.h.
 */
#ifndef HVIMA_PE_H
#define HVIMA_PE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps.h"
#include "rd.h"

enum hv_status {
	HV_OK = 0,
	HV_E_TRUNCATED = -1,   /* the input ends inside a structure */
	HV_E_FORMAT = -2,      /* a magic, signature or value the format forbids */
	HV_E_RANGE = -3,       /* an offset, RVA or size points outside its container */
	HV_E_CAP = -4,         /* a count or size beyond a limit of caps.h */
	HV_E_NOMEM = -5,       /* an allocation failed */
	HV_E_UNSUPPORTED = -6, /* valid, but not something hvima handles */
	HV_E_CRYPTO = -7,      /* the digest library failed */
	HV_E_ABSENT = -8,      /* the requested directory or field is not present */
};

const char *hv_status_str(int status);

/* A reason for a failure, for people: "section 2 (.data): raw data
 * [0x600, 0x10600) runs past the end of the file (0x8000)". */
typedef struct {
	char msg[192];
} hv_why;

int hv_fail(hv_why *why, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

enum hv_layout { HV_LAYOUT_FILE, HV_LAYOUT_LOADED };
enum hv_pe_kind { HV_PE32, HV_PE32PLUS, HV_TE };

/* Named offsets (Microsoft PE/COFF specification; EDK2 PiFirmwareFile/TE). */
#define HV_DOS_E_LFANEW 0x3c
#define HV_COFF_SIZE 20          /* IMAGE_FILE_HEADER after the "PE\0\0" signature */
#define HV_OPT_CHECKSUM 64       /* same offset in PE32 and PE32+ */
#define HV_OPT32_DIRS 96         /* first data directory, PE32 */
#define HV_OPT64_DIRS 112        /* first data directory, PE32+ */
#define HV_SECTION_HDR_SIZE 40
#define HV_TE_HDR_SIZE 40

#define HV_MACHINE_I386 0x014c
#define HV_MACHINE_AMD64 0x8664
#define HV_MACHINE_ARM64 0xaa64

#define HV_SUBSYS_NATIVE 1
#define HV_SUBSYS_WINDOWS_GUI 2
#define HV_SUBSYS_WINDOWS_CUI 3
#define HV_SUBSYS_EFI_APPLICATION 10
#define HV_SUBSYS_EFI_BOOT_SERVICE_DRIVER 11
#define HV_SUBSYS_EFI_RUNTIME_DRIVER 12
#define HV_SUBSYS_EFI_ROM 13

enum hv_dir {
	HV_DIR_EXPORT = 0,
	HV_DIR_IMPORT = 1,
	HV_DIR_RESOURCE = 2,
	HV_DIR_EXCEPTION = 3,
	HV_DIR_SECURITY = 4, /* the certificate table: a FILE OFFSET, not an RVA */
	HV_DIR_BASERELOC = 5,
	HV_DIR_DEBUG = 6,
	HV_DIR_LOAD_CONFIG = 10,
	HV_DIR_IAT = 12,
	HV_DIR_DELAY_IMPORT = 13,
	HV_DIR_COUNT = 16,
};

#define HV_SCN_CNT_CODE 0x00000020u
#define HV_SCN_MEM_DISCARDABLE 0x02000000u
#define HV_SCN_MEM_EXECUTE 0x20000000u
#define HV_SCN_MEM_READ 0x40000000u
#define HV_SCN_MEM_WRITE 0x80000000u

struct hv_pe_section {
	char name[9]; /* NUL-terminated, bytes past 8 are not part of the name */
	uint32_t virtual_size;
	uint32_t virtual_address;
	uint32_t raw_size;
	uint32_t raw_ptr;
	uint32_t characteristics;
	uint32_t hdr_off; /* offset of this section header in the input */
};

struct hv_pe_dirent {
	uint32_t rva; /* for HV_DIR_SECURITY: a file offset */
	uint32_t size;
};

struct hv_pe {
	struct hv_rd in;
	enum hv_layout layout;
	enum hv_pe_kind kind;

	uint16_t machine;
	uint16_t nsections;
	uint32_t timestamp;
	uint16_t characteristics; /* COFF Characteristics */
	uint16_t subsystem;       /* TE keeps the subsystem as one byte */
	uint16_t dll_characteristics;
	uint64_t image_base;       /* as stored in the header of this input */
	uint32_t size_of_image;    /* TE: computed, see hv_pe_parse() */
	uint32_t size_of_headers;  /* PE: the header field; TE: TE header + section headers */
	uint32_t entry_rva;
	uint32_t checksum;

	uint32_t pe_off;  /* offset of "PE\0\0"; 0 for TE */
	uint32_t opt_off; /* offset of the optional header; 0 for TE */
	uint32_t opt_size;
	uint32_t image_base_off; /* offset of the ImageBase field in the input */
	uint8_t image_base_width; /* 4 (PE32) or 8 */
	uint32_t checksum_off;   /* 0 for TE */
	uint32_t dirs_off;       /* offset of the first data directory entry (PE; 0 for TE) */
	/* NumberOfRvaAndSizes clamped to 16 and to the entries that fit in
	 * SizeOfOptionalHeader; the raw field is in ndirs_raw. */
	uint32_t ndirs;
	uint32_t ndirs_raw;
	struct hv_pe_dirent dirs[HV_DIR_COUNT];

	/* TE: StrippedSize - sizeof(TE header); RVA r is at input offset
	 * r - rva_bias (loaded) and raw_ptr - rva_bias (file). 0 for PE. */
	uint32_t rva_bias;

	struct hv_pe_section *sections; /* nsections entries, owned */
};

/*
 * Parse the headers of the image in [buf, buf + len). The buffer must stay
 * alive and unchanged while pe is used. Checks: DOS and PE signatures or TE
 * signature, e_lfanew, optional header magic and size, section table inside
 * the headers, every section's virtual range inside SizeOfImage and not
 * overlapping another, and (FILE) every section's raw data inside the file.
 */
int hv_pe_parse(struct hv_pe *pe, const uint8_t *buf, size_t len, enum hv_layout layout, hv_why *why);
void hv_pe_free(struct hv_pe *pe);

/* The directory entry, or NULL if absent (beyond NumberOfRvaAndSizes, or
 * rva and size both 0). */
const struct hv_pe_dirent *hv_pe_dir(const struct hv_pe *pe, enum hv_dir d);

/* Bytes [rva, rva + n) of the image as loaded, or NULL if they are not all
 * present in this input (FILE: inside the headers, or inside one section's
 * raw data within its virtual size; LOADED: inside the buffer and
 * SizeOfImage). */
const uint8_t *hv_pe_rva(const struct hv_pe *pe, uint64_t rva, uint64_t n);

/* The section holding rva in its virtual range, or NULL. */
const struct hv_pe_section *hv_pe_section_at(const struct hv_pe *pe, uint64_t rva);

/* Number of bytes of section s that every loader copies from the file:
 * min(VirtualSize, SizeOfRawData), or SizeOfRawData when VirtualSize is 0. */
uint32_t hv_pe_section_copied(const struct hv_pe_section *s);

const char *hv_pe_kind_str(enum hv_pe_kind k);
const char *hv_pe_machine_str(uint16_t machine);
const char *hv_pe_subsystem_str(uint16_t subsystem);

/* ---- Base relocations (directory 5) ---------------------------------- */

#define HV_REL_ABSOLUTE 0
#define HV_REL_HIGH 1
#define HV_REL_LOW 2
#define HV_REL_HIGHLOW 3
#define HV_REL_HIGHADJ 4
#define HV_REL_DIR64 10

/* Called once per relocation entry, ABSOLUTE included. For HIGHADJ, arg is
 * the 16-bit parameter taken from the next entry; otherwise 0. A non-zero
 * return stops the walk and is returned. */
typedef int (*hv_reloc_cb)(void *ctx, uint32_t rva, unsigned type, uint16_t arg);

/* Walk every block of the relocation directory. Blocks must be whole:
 * SizeOfBlock >= 8, even, inside the directory. HV_E_ABSENT if there is no
 * directory. */
int hv_pe_relocs(const struct hv_pe *pe, hv_reloc_cb cb, void *ctx, hv_why *why);

/* Width in bytes of the site a relocation type rewrites, 0 for ABSOLUTE and
 * types hvima does not know. */
unsigned hv_reloc_width(unsigned type);

/* ---- Imports (directory 1) ------------------------------------------- */

struct hv_pe_import {
	uint32_t desc_rva; /* RVA of this IMAGE_IMPORT_DESCRIPTOR */
	char dll[HV_CAP_NAME + 1];
	uint32_t ilt_rva;  /* OriginalFirstThunk (0 if absent) */
	uint32_t iat_rva;  /* FirstThunk */
	uint32_t nthunks;  /* entries before the terminating zero */
	uint8_t thunk_size; /* 4 or 8 */
	uint32_t handle_rva; /* delay imports: the module handle slot; else 0 */
};

typedef int (*hv_import_cb)(void *ctx, const struct hv_pe_import *imp);

/* Walk the import descriptors up to the all-zero one. The number of entries
 * of each IAT is counted on the lookup table when there is one (a loader
 * does not write it), else on the IAT. HV_E_ABSENT if no directory. */
int hv_pe_imports(const struct hv_pe *pe, hv_import_cb cb, void *ctx, hv_why *why);

/* The same for delay-load descriptors (directory 13, ImgDelayDescr): iat_rva
 * is the delay IAT the image's helper fills at run time, ilt_rva its name
 * table. Only RVA-based descriptors (Attributes bit 0) are supported. */
int hv_pe_delay_imports(const struct hv_pe *pe, hv_import_cb cb, void *ctx, hv_why *why);

/* ---- Load Config (directory 10) -------------------------------------- */

/* Fields hvima uses. VAs as stored (relocated in a loaded image); 0 when the
 * structure is too short to hold the field. */
struct hv_pe_loadcfg {
	uint32_t rva;  /* of the structure */
	uint32_t size; /* its Size field; all Size bytes must be in the image */
	uint64_t security_cookie;
	uint64_t guard_cf_check_fptr;
	uint64_t guard_cf_dispatch_fptr;
	uint32_t guard_flags;
	uint64_t dvrt_va; /* DynamicValueRelocTable (obsolete form) */
	uint32_t dvrt_offset;
	uint16_t dvrt_section; /* 1-based; 0 = none */
	uint64_t guard_rf_failure_fptr;
	uint64_t guard_rf_verify_sp_fptr;
	uint64_t guard_xfg_check_fptr;
	uint64_t guard_xfg_dispatch_fptr;
	uint64_t guard_xfg_table_dispatch_fptr;
	uint64_t guard_memcpy_fptr;
};

int hv_pe_loadcfg(const struct hv_pe *pe, struct hv_pe_loadcfg *lc, hv_why *why);

/* The default x64 and x86 /GS cookie values a loader replaces. */
#define HV_GS_COOKIE_DEFAULT64 0x00002B992DDFA232ull
#define HV_GS_COOKIE_DEFAULT32 0xBB40E64Eu

/* Called for each site of the Dynamic Value Relocation Table: the RVA of
 * the first byte the loader may rewrite and the number of bytes. */
typedef int (*hv_dvrt_cb)(void *ctx, uint32_t rva, unsigned width);

/* Walk the DVRT of a load config (version 1 tables; symbols 3, 4, 5).
 * HV_E_ABSENT if there is none; HV_E_UNSUPPORTED for other versions. */
int hv_pe_dvrt(const struct hv_pe *pe, const struct hv_pe_loadcfg *lc, hv_dvrt_cb cb, void *ctx, hv_why *why);

/* ---- Debug directory (6) and exports (0) ----------------------------- */

struct hv_pe_debug {
	uint32_t entry_rva; /* RVA of this IMAGE_DEBUG_DIRECTORY entry */
	uint32_t type;
	uint32_t size;
	uint32_t data_rva;  /* AddressOfRawData */
	uint32_t data_ptr;  /* PointerToRawData */
};
#define HV_DEBUG_TYPE_CODEVIEW 2
#define HV_DEBUG_ENTRY_SIZE 28
#define HV_DEBUG_ADDRESS_OF_RAW_DATA 20 /* offset inside an entry */

typedef int (*hv_debug_cb)(void *ctx, const struct hv_pe_debug *d);
int hv_pe_debug_entries(const struct hv_pe *pe, hv_debug_cb cb, void *ctx, hv_why *why);

/* The PDB path of the CodeView (RSDS or NB10) entry, NUL-terminated and
 * cut at HV_CAP_NAME. HV_E_ABSENT if there is none. */
int hv_pe_codeview_name(const struct hv_pe *pe, char *out, size_t outlen, hv_why *why);

/* The export directory's module name. HV_E_ABSENT if none. */
int hv_pe_export_name(const struct hv_pe *pe, char *out, size_t outlen, hv_why *why);

/* A printable name from the image: export name, else PDB base name.
 * Empty string if neither. Never fails. */
void hv_pe_best_name(const struct hv_pe *pe, char *out, size_t outlen);

#endif
