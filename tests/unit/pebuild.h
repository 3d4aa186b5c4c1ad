/*
 * pebuild.h: an in-memory builder of small synthetic PE32, PE32+ and TE
 * images for the unit tests of lib/.
 *
 * A test describes sections (RVA, sizes, contents), data directories and
 * the structures they point to, then links them into the file layout
 * (pb_link) or into a loaded image at a chosen base (pb_load). The builder
 * records where every header sits in the output, so a test can then corrupt
 * one field at a named offset and check that the parser says why it
 * refuses the image.
 *
 * Offsets are those of the Microsoft PE/COFF specification ("PE Format")
 * and of EDK2's EFI_TE_IMAGE_HEADER. The builder trusts its caller: it
 * aborts on a description that does not fit, it never validates input.
 */
#ifndef HVIMA_TESTS_PEBUILD_H
#define HVIMA_TESTS_PEBUILD_H

#include <stddef.h>
#include <stdint.h>

/* ---- Named offsets ---------------------------------------------------- */

/* IMAGE_DOS_HEADER */
#define PB_DOS_MAGIC 0x00 /* "MZ" */
#define PB_DOS_LFANEW 0x3c
#define PB_DOS_SIZE 0x40

/* IMAGE_FILE_HEADER, relative to the COFF header (after "PE\0\0") */
#define PB_COFF_MACHINE 0
#define PB_COFF_NSECTIONS 2
#define PB_COFF_TIMESTAMP 4
#define PB_COFF_SYMTAB 8
#define PB_COFF_NSYMBOLS 12
#define PB_COFF_OPT_SIZE 16
#define PB_COFF_CHARACTERISTICS 18
#define PB_COFF_SIZE 20

/* Optional header, relative to its start; PE32 and PE32+ where they agree */
#define PB_OPT_MAGIC 0
#define PB_OPT_ENTRY 16
#define PB_OPT_BASE_OF_CODE 20
#define PB_OPT32_IMAGE_BASE 28 /* 4 bytes */
#define PB_OPT64_IMAGE_BASE 24 /* 8 bytes */
#define PB_OPT_SECTION_ALIGN 32
#define PB_OPT_FILE_ALIGN 36
#define PB_OPT_SIZE_OF_IMAGE 56
#define PB_OPT_SIZE_OF_HEADERS 60
#define PB_OPT_CHECKSUM 64
#define PB_OPT_SUBSYSTEM 68
#define PB_OPT_DLL_CHARACTERISTICS 70
#define PB_OPT32_NDIRS 92
#define PB_OPT64_NDIRS 108
#define PB_OPT32_DIRS 96
#define PB_OPT64_DIRS 112
#define PB_DIRENT_SIZE 8

#define PB_MAGIC_PE32 0x10b
#define PB_MAGIC_PE32PLUS 0x20b

/* IMAGE_SECTION_HEADER */
#define PB_SH_NAME 0
#define PB_SH_VSIZE 8
#define PB_SH_VADDR 12
#define PB_SH_RAW_SIZE 16
#define PB_SH_RAW_PTR 20
#define PB_SH_CHARACTERISTICS 36
#define PB_SH_SIZE 40

/* EFI_TE_IMAGE_HEADER */
#define PB_TE_SIGNATURE 0 /* "VZ" */
#define PB_TE_MACHINE 2
#define PB_TE_NSECTIONS 4 /* one byte */
#define PB_TE_SUBSYSTEM 5 /* one byte */
#define PB_TE_STRIPPED 6
#define PB_TE_ENTRY 8
#define PB_TE_BASE_OF_CODE 12
#define PB_TE_IMAGE_BASE 16
#define PB_TE_DIR_RELOC 24
#define PB_TE_DIR_DEBUG 32
#define PB_TE_SIZE 40

/* IMAGE_IMPORT_DESCRIPTOR */
#define PB_IMP_ILT 0
#define PB_IMP_NAME 12
#define PB_IMP_IAT 16
#define PB_IMP_SIZE 20

/* IMAGE_BASE_RELOCATION */
#define PB_REL_PAGE 0
#define PB_REL_BLOCK_SIZE 4
#define PB_REL_HDR 8

/* IMAGE_DEBUG_DIRECTORY */
#define PB_DBG_TYPE 12
#define PB_DBG_SIZE_OF_DATA 16
#define PB_DBG_ADDRESS 20
#define PB_DBG_POINTER 24
#define PB_DBG_ENTRY 28
#define PB_DBG_CODEVIEW 2

/* IMAGE_EXPORT_DIRECTORY */
#define PB_EXP_NAME 12
#define PB_EXP_SIZE 40

/* IMAGE_LOAD_CONFIG_DIRECTORY32/64 */
#define PB_LC_SIZE 0
#define PB_LC32_SECURITY_COOKIE 60
#define PB_LC64_SECURITY_COOKIE 88
#define PB_LC32_STRUCT_SIZE 0xc0
#define PB_LC64_STRUCT_SIZE 0x140

/* Relocation types */
#define PB_REL_ABSOLUTE 0
#define PB_REL_HIGH 1
#define PB_REL_LOW 2
#define PB_REL_HIGHLOW 3
#define PB_REL_HIGHADJ 4
#define PB_REL_DIR64 10

/* ---- The builder ------------------------------------------------------ */

enum pb_kind { PB_PE32, PB_PE32PLUS, PB_TE };

#define PB_MAX_SECTIONS 8
#define PB_MAX_RELOCS 64
#define PB_NDIRS 16

struct pb_section {
	char name[9];
	uint32_t rva, vsize, raw_size, raw_ptr, characteristics;
	uint8_t *data; /* raw_size bytes, zeroed */
};

struct pb_reloc {
	uint32_t rva;
	unsigned type;
};

struct pb {
	enum pb_kind kind;
	uint16_t machine;
	uint16_t subsystem;
	uint64_t image_base;
	uint32_t e_lfanew;
	uint32_t ndirs; /* NumberOfRvaAndSizes written */
	uint32_t file_align, sect_align;
	uint32_t size_of_headers; /* 0: computed by pb_link */
	uint32_t size_of_image;   /* 0: computed by pb_link */
	uint32_t entry_rva;
	uint32_t te_stripped; /* TE StrippedSize; 0: computed */
	struct {
		uint32_t rva, size;
	} dirs[PB_NDIRS];
	int nsec;
	struct pb_section sec[PB_MAX_SECTIONS];
	int nrel;
	struct pb_reloc rel[PB_MAX_RELOCS];
	uint32_t debug_entry_rva; /* PointerToRawData filled by pb_link */
	size_t trailer_len;       /* zero bytes appended after the last section */

	/* Written by pb_link: offsets in the output. */
	uint32_t pe_off, coff_off, opt_off, dirs_off, sect_off;
	size_t file_len;
};

void pb_init(struct pb *b, enum pb_kind kind);
void pb_free(struct pb *b);

/* A section; raw_ptr is assigned by pb_link (file-aligned, in order). */
struct pb_section *pb_add_section(struct pb *b, const char *name, uint32_t rva, uint32_t vsize,
				  uint32_t raw_size, uint32_t characteristics);

/* Writable bytes [rva, rva + n) of a section's raw data; aborts if they are
 * not in one section. */
uint8_t *pb_at(struct pb *b, uint32_t rva, uint32_t n);
void pb_put16(struct pb *b, uint32_t rva, uint16_t v);
void pb_put32(struct pb *b, uint32_t rva, uint32_t v);
void pb_put64(struct pb *b, uint32_t rva, uint64_t v);
void pb_puts(struct pb *b, uint32_t rva, const char *s);

/* Write the VA image_base + target at rva (4 bytes for HIGHLOW, 8 for
 * DIR64) and record the site for pb_emit_relocs and pb_load. */
void pb_reloc(struct pb *b, uint32_t rva, unsigned type, uint32_t target);

/* Encode the recorded sites as base relocation blocks at rva (one block
 * per 4 KiB page, padded with ABSOLUTE to a 4-byte size) and point
 * directory 5 at them. Returns the directory size. */
uint32_t pb_emit_relocs(struct pb *b, uint32_t rva);

/* One imported DLL for pb_emit_imports. */
struct pb_dll {
	const char *name;
	int nfuncs;
	const char *const *funcs;
	/* written by pb_emit_imports */
	uint32_t desc_rva, ilt_rva, iat_rva, name_rva;
};

/* Lay out descriptors (terminated) at desc_rva, lookup tables, IATs (one
 * contiguous run at iat_rva, pointed to by directory 12), hint/name
 * entries and DLL names after the descriptors. Returns the first free RVA
 * after everything written. */
uint32_t pb_emit_imports(struct pb *b, uint32_t desc_rva, uint32_t iat_rva, struct pb_dll *dlls, int ndlls);

/* A load config at rva whose SecurityCookie is the VA of cookie_rva (a
 * relocation site) and the cookie there holds the default value. */
void pb_emit_loadcfg(struct pb *b, uint32_t rva, uint32_t cookie_rva);

/* One CodeView (RSDS) debug entry at rva with its record at cv_rva. */
void pb_emit_debug(struct pb *b, uint32_t rva, uint32_t cv_rva, const char *pdb);

/* An export directory at rva with no functions, named name (at rva + 40). */
void pb_emit_export(struct pb *b, uint32_t rva, const char *name);

/* The file layout, malloc'ed; *len its size. Fills the offsets of b. */
uint8_t *pb_link(struct pb *b, size_t *len);

/* The image a loader would leave at base, malloc'ed, SizeOfImage bytes
 * (TE: less the stripped header): headers copied, each section's
 * min(VirtualSize, SizeOfRawData) bytes copied and zero-filled to
 * VirtualSize, every other byte set to gap_fill, ImageBase set to base and
 * the recorded relocation sites moved by base - image_base. file is the
 * output of pb_link for b. */
uint8_t *pb_load(const struct pb *b, const uint8_t *file, uint64_t base, uint8_t gap_fill, size_t *len);

/* File offset of an RVA in the output of pb_link (headers or a section's
 * raw data); aborts if none. */
uint32_t pb_file_off(const struct pb *b, uint32_t rva);

/* ---- A standard image -------------------------------------------------- */

/*
 * .text  0x1000 vsize 0x180 raw 0x200 (raw padding past VirtualSize)
 * .rdata 0x2000 vsize 0x800 raw 0x800 IAT, imports, load config, debug, export
 * .data  0x3000 vsize 0x300 raw 0x200 (zero-filled tail), cookie, a pointer
 * .reloc 0x4000 relocation blocks
 * Two DLLs: "KERNEL32.dll" (3 functions), "ntoskrnl.exe" (1 function).
 * Relocation sites: two in .text, one in .data, the load config cookie
 * pointer. TE images get .text, .data and .reloc only (no imports...).
 */
struct pb_std {
	struct pb b;
	struct pb_dll dll[2];
	uint32_t text_rva, rdata_rva, data_rva, reloc_rva;
	uint32_t site_a, site_b, site_c; /* relocation sites */
	uint32_t loadcfg_rva, cookie_rva;
	uint32_t debug_rva, cv_rva;
	uint32_t export_rva;
	uint32_t reloc_size;
};

void pb_std_init(struct pb_std *s, enum pb_kind kind);

#endif
