/* dict_internal.h - what the files of the code dictionaries (src/codes/) share: arena, hash tables, ranges,
 * the tab-separated table reader. Not for use outside src/codes/ (and its tests and fuzz targets). */
#ifndef CODES_DICT_INTERNAL_H
#define CODES_DICT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "codes/dict.h"
#include "util/error.h"
#include "util/utf8.h"

#define DICT_MAX_FILE ((size_t)64 << 20) /* bytes of one dictionary file; more is an error */
#define DICT_MAX_ROWS 2000000u           /* rows of one table */
#define CCS_MAX_ID 9999                  /* CCS category ids are 1..CCS_MAX_ID (E codes: 2601-2621) */
#define DICT_CODE_MAX 16                 /* bytes of a normalised code, with its NUL */

/* ---- arena: everything a dictionary holds, freed at once (table.c) ---- */

struct arena_chunk;
struct arena {
    struct arena_chunk *head; /* owned list */
};

/* Zeroed, 16-byte aligned memory living until arena_free; NULL when out of memory or size is absurd. */
void *arena_alloc(struct arena *a, size_t size);
void arena_free(struct arena *a);

/* ---- hash tables of codes (table.c) ---- */

struct ccs_cat {
    const char *text;      /* "id: label" (arena) */
    const char *phenotype; /* the label when it is a mimic3-benchmarks phenotype, else NULL (arena) */
};

struct code_entry {
    const char *code;          /* normalised (arena) */
    const char *display;       /* NULL when none (arena) */
    const struct ccs_cat *ccs; /* NULL when none; borrowed from struct dict */
    uint32_t line;             /* line in its file, for messages */
    uint8_t status;            /* enum code_status */
};

struct code_table {
    struct code_entry *e; /* arena; n used of cap */
    size_t n, cap;
    uint32_t *slots;      /* arena; open addressing with linear probing: entry index + 1, 0 = empty */
    size_t mask;          /* number of slots - 1 (a power of two, at least twice cap) */
};

/* Sizes the table for up to `cap` entries. Returns 0, or -1 when out of memory. */
int table_init(struct code_table *t, struct arena *a, size_t cap);
/* Appends a copy of *e unless its code is present. Returns the new entry, or NULL with *dup set to the
 * existing one (or NULL when the table is full). */
struct code_entry *table_add(struct code_table *t, const struct code_entry *e, const struct code_entry **dup);
/* The entry of a normalised code, or NULL. */
const struct code_entry *table_find(const struct code_table *t, const char *code);

/* ---- ranges of CPT/HCPCS codes and ICD-9-CM categories (cpt.c) ---- */

struct code_range {
    uint32_t lo, hi;           /* range_key() / chapter_key() values, lo <= hi */
    const char *label;         /* arena; NULL when none */
    const struct ccs_cat *ccs; /* NULL when none */
    uint8_t status;            /* enum code_status: CODE_RETIRED for MIMIC's "(deleted codes)" subsections */
};

struct range_set {
    struct code_range *r; /* arena; sorted by lo, disjoint */
    size_t n;
};

/* Order key of a 5-character CPT/HCPCS code: 5 digits, then 4 digits + letter (by letter), then letter +
 * 4 digits (by letter), each by number (tools/import-codes.py code_key). 0 when s is not such a code. */
uint32_t range_key(const char *s);
/* Order key of an ICD-9-CM diagnosis category ("428", "V58", "E878"), or 0. */
uint32_t chapter_key(const char *s, size_t n);
/* The range holding key, or NULL. */
const struct code_range *range_find(const struct range_set *rs, uint32_t key);

/* ---- the dictionary ---- */

enum { TABLE_DX = 0, TABLE_PX, TABLE_HCPCS, TABLE_CPT, TABLE_COUNT };

struct dict {
    struct arena arena;                      /* owns everything below */
    struct code_table tables[TABLE_COUNT];   /* TABLE_CPT: the licensed file, empty without one */
    struct ccs_cat *ccs_dx[CCS_MAX_ID + 1];  /* by id; NULL when unknown */
    struct ccs_cat *ccs_pr[CCS_MAX_ID + 1];  /* procedures and services, by id */
    struct range_set sections;               /* CPT sections */
    struct range_set subsections;            /* labels "Section: Subsection" */
    struct range_set services;               /* CCS services and procedures ranges */
    struct range_set chapters;               /* ICD-9-CM diagnosis chapters */
    int cpt_exact;                           /* a licensed CPT file was loaded */
};

/* ---- the tab-separated table reader (tsv.c) ---- */

struct tsv {
    const char *path; /* borrowed */
    char *p, *end;    /* unread part of the file (arena copy, split in place) */
    uint32_t line;    /* line of the row last returned (1 = the header) */
    size_t rows;      /* data rows in the file */
};

/* Reads the whole file into the arena and checks it: not empty, at most DICT_MAX_FILE bytes, UTF-8, no
 * control characters but tab and newline, ends with a newline, first line exactly `header`.
 * Returns 0, or -1 with err (LLMSYN_E_INPUT) naming file and line. */
int tsv_open(struct tsv *t, struct arena *a, const char *path, const char *header, struct error *err);
/* Checks a buffer the same way (len bytes at data, which the reader then splits in place). */
int tsv_init(struct tsv *t, const char *path, char *data, size_t len, const char *header, struct error *err);
/* Splits the next row into exactly nf fields (NUL-terminated in place). Returns 1, 0 at the end, or -1 with
 * err naming file and line when the field count differs. */
int tsv_next(struct tsv *t, char **f, size_t nf, struct error *err);
/* Sets "FILE:LINE: message" for the row last returned. Returns -1. */
int tsv_fail(const struct tsv *t, struct error *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reads a whole file into the arena (NUL-terminated); sets *len. Returns NULL with err on failure. */
char *read_file(struct arena *a, const char *path, size_t *len, struct error *err);

/* ---- loaders (load.c, cpt.c) ---- */

/* Loads the licensed CPT CSV ("code,description", optional header line) into d->tables[TABLE_CPT]. */
int cpt_dict_load(struct dict *d, const char *path, struct error *err);
/* Parses a licensed CPT CSV held in memory: len bytes at data plus a writable byte at data[len]
 * (split in place; the strings stay there). */
int cpt_dict_parse(struct dict *d, const char *path, char *data, size_t len, struct error *err);
/* Fills the CPT part of *out (code already normalised, not HCPCS). */
enum code_status cpt_classify(const struct dict *d, struct code_info *out);
/* The ICD-9-CM chapter title of a dotted diagnosis code, or NULL. */
const char *dict_chapter(const struct dict *d, const char *code);

#endif
