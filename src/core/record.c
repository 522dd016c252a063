/* record.c - ordered field list of one synthetic record. */
#include "core/record.h"

#include <stdlib.h>
#include <string.h>

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p)
        memcpy(p, s, n);
    return p;
}

int record_add(struct record *r, const char *name, const char *value)
{
    struct field *f;

    if (r->nfields == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct field *p = realloc(r->fields, cap * sizeof *p);

        if (!p)
            return -1;
        r->fields = p;
        r->cap = cap;
    }
    f = &r->fields[r->nfields];
    f->name = dup_str(name);
    f->value = dup_str(value);
    if (!f->name || !f->value) {
        free(f->name);
        free(f->value);
        return -1;
    }
    r->nfields++;
    return 0;
}

int record_add_unique(struct record *r, const char *name, const char *value)
{
    size_t i;

    for (i = 0; i < r->nfields; i++)
        if (!strcmp(r->fields[i].name, name) && !strcmp(r->fields[i].value, value))
            return 0;
    return record_add(r, name, value);
}

int record_set(struct record *r, const char *name, const char *value)
{
    size_t i;
    char *v;

    for (i = 0; i < r->nfields; i++) {
        if (strcmp(r->fields[i].name, name))
            continue;
        v = dup_str(value);
        if (!v)
            return -1;
        free(r->fields[i].value);
        r->fields[i].value = v;
        return 0;
    }
    return record_add(r, name, value);
}

const char *record_get_nth(const struct record *r, const char *name, size_t n)
{
    size_t i;

    for (i = 0; i < r->nfields; i++)
        if (!strcmp(r->fields[i].name, name) && n-- == 0)
            return r->fields[i].value;
    return NULL;
}

const char *record_get(const struct record *r, const char *name)
{
    return record_get_nth(r, name, 0);
}

size_t record_count(const struct record *r, const char *name)
{
    size_t i, n = 0;

    for (i = 0; i < r->nfields; i++)
        n += !strcmp(r->fields[i].name, name);
    return n;
}

int record_replace_at(struct record *r, size_t i, const char *value)
{
    char *v = dup_str(value);

    if (!v)
        return -1;
    free(r->fields[i].value);
    r->fields[i].value = v;
    return 0;
}

void record_remove_at(struct record *r, size_t i)
{
    free(r->fields[i].name);
    free(r->fields[i].value);
    memmove(&r->fields[i], &r->fields[i + 1], (r->nfields - i - 1) * sizeof *r->fields);
    r->nfields--;
}

void record_clear(struct record *r)
{
    size_t i;

    for (i = 0; i < r->nfields; i++) {
        free(r->fields[i].name);
        free(r->fields[i].value);
    }
    r->nfields = 0;
}

void record_free(struct record *r)
{
    record_clear(r);
    free(r->fields);
    r->fields = NULL;
    r->cap = 0;
}
