/* csv.h - bounded RFC 4180 CSV reader whose errors name file:line (shared by the MIMIC and Synthea readers). */
#ifndef UTIL_CSV_H
#define UTIL_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "util/buf.h"
#include "util/error.h"

#define CSV_DEFAULT_MAX_RECORD ((size_t)1 << 20) /* bytes in one record (all its fields, quotes undone) */
#define CSV_DEFAULT_MAX_FIELDS 4096              /* fields in one record */

/*
 * Usage:
 *     struct csv_reader r;
 *     if (csv_open(&r, path, 0, 0, err)) ...error...
 *     while ((rc = csv_next(&r, err)) == 1) { csv_nfields(&r); csv_field(&r, i); }
 *     csv_close(&r);                 (always, also after a failed csv_open)
 *
 * Format: fields separated by ',', records ended by LF or CRLF (a lone CR inside a record is data),
 * a field starting with '"' is quoted and may hold ',', '"' (doubled) CR and LF. Rejected with
 * LLMSYN_E_INPUT and "FILE:LINE: reason" (LINE = the physical line where the record starts):
 * an unterminated quoted field, a character after a closing quote, a '"' inside an unquoted field, a NUL
 * byte, a field that is not valid UTF-8 (overlongs and surrogates included), a record over max_record
 * bytes or max_fields fields, and, once csv_expect_fields() was called (csv_read_header() does it),
 * a record whose field count differs from the header's. A UTF-8 byte order mark at the start is
 * skipped; an empty line is skipped (it is not a record of one empty field).
 */
struct csv_reader {
    FILE *fp;            /* owned */
    char *name;          /* the path, for messages; owned */
    unsigned long line;  /* physical line where the current record starts (1-based) */
    unsigned long next_line;
    struct buf rec;      /* the current record's fields, each NUL-terminated, back to back; owned */
    size_t *offs;        /* start of field i in rec.data; owned */
    size_t nfields, cap_fields;
    size_t max_record, max_fields;
    size_t expect;       /* required field count, 0 = any */
    int at_start;
};

/* Opens path. max_record/max_fields 0 take the defaults. Returns 0 or an llmsyn_status (err set). */
int csv_open(struct csv_reader *r, const char *path, size_t max_record, size_t max_fields, struct error *err);
/* Reads the next record: 1 when read, 0 at end of file, -1 on error (err set, file:line named). */
int csv_next(struct csv_reader *r, struct error *err);
/* Reads the first record as the header and requires every later record to have as many fields.
 * Returns 0, or -1 (err set) on error or an empty file. */
int csv_read_header(struct csv_reader *r, struct error *err);
void csv_expect_fields(struct csv_reader *r, size_t n);
size_t csv_nfields(const struct csv_reader *r);
/* Field i of the current record, "" past the end; borrowed until the next csv_next. */
const char *csv_field(const struct csv_reader *r, size_t i);
void csv_close(struct csv_reader *r);

/* Index of the header column named `name` (ASCII case-insensitive) in `header` of n names, or -1. */
int csv_column(char *const *header, size_t n, const char *name);
/* Copies the current record's fields into a NULL-free array of n owned strings (for keeping a header).
 * Returns the array (caller frees with csv_strings_free) or NULL when memory runs out. */
char **csv_copy_fields(const struct csv_reader *r);
void csv_strings_free(char ***v, size_t n);

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF), else 0. */
int csv_utf8_valid(const char *s, size_t n);

#endif
