/* csv.c - bounded RFC 4180 CSV reader; every error names file:line. */
#include "util/csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int csv_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned c = p[i];
        size_t len = 0;
        unsigned cp = 0, min = 0;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

int csv_open(struct csv_reader *r, const char *path, size_t max_record, size_t max_fields, struct error *err)
{
    memset(r, 0, sizeof *r);
    r->max_record = max_record ? max_record : CSV_DEFAULT_MAX_RECORD;
    r->max_fields = max_fields ? max_fields : CSV_DEFAULT_MAX_FIELDS;
    buf_init(&r->rec, r->max_record + r->max_fields + 1);
    r->next_line = 1;
    r->at_start = 1;
    r->name = strdup(path);
    if (!r->name)
        return error_set(err, LLMSYN_E_NOMEM, "out of memory");
    r->fp = fopen(path, "rb");
    if (!r->fp)
        return error_set(err, LLMSYN_E_INPUT, "cannot open '%s': %s", path, strerror(errno));
    return 0;
}

void csv_close(struct csv_reader *r)
{
    if (r->fp)
        fclose(r->fp);
    free(r->name);
    free(r->offs);
    buf_free(&r->rec);
    memset(r, 0, sizeof *r);
}

static int fail(struct csv_reader *r, struct error *err, const char *why)
{
    error_set(err, LLMSYN_E_INPUT, "%s:%lu: %s", r->name, r->line, why);
    return -1;
}

/* Starts a new field at the end of rec. */
static int field_begin(struct csv_reader *r, struct error *err)
{
    if (r->nfields >= r->max_fields)
        return fail(r, err, "too many fields");
    if (r->nfields == r->cap_fields) {
        size_t cap = r->cap_fields ? r->cap_fields * 2 : 32;
        size_t *n = realloc(r->offs, cap * sizeof *n);
        if (!n)
            return error_set(err, LLMSYN_E_NOMEM, "out of memory"), -1;
        r->offs = n;
        r->cap_fields = cap;
    }
    r->offs[r->nfields++] = r->rec.len;
    return 0;
}

static int field_putc(struct csv_reader *r, int c, struct error *err)
{
    if (c == 0)
        return fail(r, err, "NUL byte in field");
    /* rec holds the record's bytes so far and the NULs of the nfields - 1 fields already ended */
    if (r->rec.len - (r->nfields - 1) >= r->max_record || buf_putc(&r->rec, (char)c) != 0)
        return fail(r, err, "record too long");
    return 0;
}

/* Ends the current field: NUL-terminates it and checks its UTF-8. */
static int field_end(struct csv_reader *r, struct error *err)
{
    size_t start = r->offs[r->nfields - 1];
    if (buf_putc(&r->rec, '\0') != 0)
        return fail(r, err, "record too long");
    if (!csv_utf8_valid(r->rec.data + start, r->rec.len - 1 - start)) {
        char why[64];
        snprintf(why, sizeof why, "field %zu is not valid UTF-8", r->nfields);
        return fail(r, err, why);
    }
    return 0;
}

static int getch(struct csv_reader *r)
{
    int c = getc(r->fp);
    if (c == '\n')
        r->next_line++;
    return c;
}

/* Reads a quoted field's body after the opening quote; returns the char after the closing quote. */
static int read_quoted(struct csv_reader *r, struct error *err)
{
    for (;;) {
        int c = getch(r);
        if (c == EOF)
            return fail(r, err, "unterminated quoted field"), -2;
        if (c == '"') {
            c = getch(r);
            if (c != '"')
                return c;
        }
        if (field_putc(r, c, err))
            return -2;
    }
}

/* Reads one field; returns the separator that ended it (',', '\n', EOF) or -2 on error. */
static int read_field(struct csv_reader *r, struct error *err)
{
    int c = getch(r);

    if (field_begin(r, err))
        return -2;
    if (c == '"') {
        c = read_quoted(r, err);
        if (c == -2)
            return -2;
        if (c == '\r')
            c = getch(r);
        if (c != ',' && c != '\n' && c != EOF)
            return fail(r, err, "unexpected character after closing quote"), -2;
        return field_end(r, err) ? -2 : c;
    }
    while (c != ',' && c != '\n' && c != EOF) {
        if (c == '"')
            return fail(r, err, "quote inside an unquoted field"), -2;
        if (c == '\r') {
            int d = getch(r);
            if (d == '\n' || d == EOF) { c = d; break; }
            if (field_putc(r, c, err))
                return -2;
            c = d;
            continue;
        }
        if (field_putc(r, c, err))
            return -2;
        c = getch(r);
    }
    return field_end(r, err) ? -2 : c;
}

static void skip_bom(struct csv_reader *r)
{
    unsigned char b[3];
    size_t n = fread(b, 1, sizeof b, r->fp);
    if (n == 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
        return;
    rewind(r->fp);
}

int csv_next(struct csv_reader *r, struct error *err)
{
    if (r->at_start) {
        skip_bom(r);
        r->at_start = 0;
    }
    for (;;) {
        int c = 0;
        r->nfields = 0;
        buf_reset(&r->rec);
        r->line = r->next_line;
        c = getc(r->fp);
        if (c == EOF)
            return ferror(r->fp) ? fail(r, err, "read error") : 0;
        if (c == '\n') { r->next_line++; continue; }
        if (c == '\r') {
            int d = getc(r->fp);
            if (d == '\n') { r->next_line++; continue; }
            if (d != EOF) ungetc(d, r->fp);
        }
        ungetc(c, r->fp);
        do {
            c = read_field(r, err);
        } while (c == ',');
        if (c == -2)
            return -1;
        if (r->expect && r->nfields != r->expect) {
            char why[96];
            snprintf(why, sizeof why, "%zu fields, the header has %zu", r->nfields, r->expect);
            return fail(r, err, why);
        }
        return 1;
    }
}

int csv_read_header(struct csv_reader *r, struct error *err)
{
    int rc = csv_next(r, err);
    if (rc == 0) {
        error_set(err, LLMSYN_E_INPUT, "%s:1: empty file (a header line is required)", r->name);
        return -1;
    }
    if (rc < 0)
        return -1;
    r->expect = r->nfields;
    return 0;
}

void csv_expect_fields(struct csv_reader *r, size_t n) { r->expect = n; }

size_t csv_nfields(const struct csv_reader *r) { return r->nfields; }

const char *csv_field(const struct csv_reader *r, size_t i)
{
    return i < r->nfields ? r->rec.data + r->offs[i] : "";
}

int csv_column(char *const *header, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(header[i], name))
            return (int)i;
    return -1;
}

char **csv_copy_fields(const struct csv_reader *r)
{
    char **v = calloc(r->nfields + 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < r->nfields; i++) {
        v[i] = strdup(csv_field(r, i));
        if (!v[i]) {
            csv_strings_free(&v, i);
            return NULL;
        }
    }
    return v;
}

void csv_strings_free(char ***v, size_t n)
{
    if (!v || !*v)
        return;
    for (size_t i = 0; i < n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
}
