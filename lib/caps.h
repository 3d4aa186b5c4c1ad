/*
 * caps.h: every limit hvima puts on a count or size taken from untrusted
 * input (guest memory, files). One place, so a reviewer can check that no
 * guest-controlled number reaches an allocation or a loop unbounded.
 *
 * The limits sit well above what real images use (ntoskrnl.exe: ~12 MiB,
 * ~40 sections, ~100k relocations, a few hundred imports) and well below
 * what would let a hostile image make the plugin slow or large.
 */
#ifndef HVIMA_CAPS_H
#define HVIMA_CAPS_H

/* PE/COFF header: SizeOfHeaders, e_lfanew, SizeOfOptionalHeader. */
#define HV_CAP_HEADERS_SIZE (1u << 20)
#define HV_CAP_LFANEW (1u << 16)
/* SizeOfImage; a section's raw or virtual size cannot exceed it. */
#define HV_CAP_IMAGE_SIZE (256u << 20)
/* NumberOfSections (Windows accepts up to 96 in old releases; mingw builds
 * with debug info carry ~20). */
#define HV_CAP_SECTIONS 1024u
/* Base relocation entries over all blocks, and blocks. */
#define HV_CAP_RELOC_ENTRIES (16u << 20)
#define HV_CAP_RELOC_BLOCKS (1u << 20)
/* Import descriptors, thunks per descriptor, thunks in all. */
#define HV_CAP_IMPORT_DESCRIPTORS 4096u
#define HV_CAP_IMPORT_THUNKS 65536u
#define HV_CAP_IMPORT_THUNKS_TOTAL (1u << 20)
/* Debug directory entries. */
#define HV_CAP_DEBUG_ENTRIES 64u
/* Names copied out of an image (DLL names, PDB path, export module name). */
#define HV_CAP_NAME 256u
/* Dynamic Value Relocation Table: entries over all blocks. */
#define HV_CAP_DVRT_ENTRIES (1u << 20)
/* Certificate table entries (WIN_CERTIFICATE) in a file. */
#define HV_CAP_CERT_ENTRIES 16u
/* Input files read by the tools. */
#define HV_CAP_FILE_SIZE (1024u << 20)

/* JSON files a verifier reads (manifests, baselines, policies): size,
 * nesting depth, nodes. A 100k-image manifest is ~60 MiB and ~3M nodes. */
#define HV_CAP_JSON_SIZE (512u << 20)
#define HV_CAP_JSON_DEPTH 64u
#define HV_CAP_JSON_NODES (32u << 20)
/* Images in all manifests given to one verify, and manifests. */
#define HV_CAP_MANIFEST_IMAGES (4u << 20)
#define HV_CAP_MANIFESTS 64u
/* Quote (TPMS_ATTEST) and signature blobs. */
#define HV_CAP_QUOTE_SIZE 4096u

/* Manifests (lib/manifest.c, fv.c, disk.c, tools/cmd_manifest.c): images
 * in one manifest; directory depth and entries walked per source. */
#define HV_CAP_MF_IMAGES (1u << 20)
#define HV_CAP_DIR_DEPTH 64u
#define HV_CAP_DIR_ENTRIES (1u << 20)
/* Firmware volumes: nesting of FVs in FV image or GUID-defined sections,
 * sections per file, files per volume, bytes decompressed per firmware file
 * in all, and the LZMA decoder's memory limit (OVMF's FVs: ~12 MiB out,
 * dictionaries of a few MiB). */
#define HV_CAP_FV_DEPTH 8u
#define HV_CAP_FV_FILES 65536u
#define HV_CAP_FV_SECTIONS 4096u
#define HV_CAP_FV_DECOMPRESSED (64u << 20)
#define HV_CAP_LZMA_MEMLIMIT (128u << 20)
/* Disk images: partitions walked, GPT entries, the size of a FAT, entries
 * of one FAT directory, bytes of one file read out of a disk image. */
#define HV_CAP_PARTITIONS 128u
#define HV_CAP_GPT_ENTRIES 1024u
#define HV_CAP_FAT_BYTES (64u << 20)      /* one FAT, read whole */
#define HV_CAP_FAT_DIR_ENTRIES 65536u     /* entries in one directory */
#define HV_CAP_DISK_FILE (256u << 20)

#endif
