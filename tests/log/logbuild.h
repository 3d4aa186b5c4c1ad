/*
 * logbuild.h: the sample log of the tests of tests/log: every kind of event
 * the plugin writes (S-CRTM version, firmware blob, UEFI image loads with
 * and without a file path, SIPA module aggregations, hvima's violation,
 * unattributed, malformed and note tags, EV_NO_ACTION notes (hvima's
 * earlier form of notes, still decoded), separators), with
 * digests made up from the event index, written with hv_log_writer.
 */
#ifndef HVIMA_TESTS_LOGBUILD_H
#define HVIMA_TESTS_LOGBUILD_H

#include "tcglog.h"

/* Write the sample log for banks algs to path; with notes 0, without the
 * EV_NO_ACTION notes (padding records stay). Returns the number of records
 * (header and padding included) or a negative hv_status (why says which).
 * The digests of EV_S_CRTM_VERSION and EV_SEPARATOR are those of their
 * data, as tpm2_eventlog checks; the others are made up. */
int logbuild_sample(const char *path, unsigned algs, int notes, hv_why *why);

/* Read a whole file into a malloc'd buffer of exactly its size (so that
 * ASan sees reads past the end). 0 or -1. */
int logbuild_read(const char *path, uint8_t **buf, size_t *len);

#endif
