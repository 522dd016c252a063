/* table.c - the memory of the code dictionaries: a chunked arena and open-addressing hash tables of codes. */
#include <stdlib.h>
#include <string.h>

#include "codes/dict_internal.h"

#define CHUNK_SIZE ((size_t)256 << 10) /* arena chunk; bigger requests get a chunk of their own */
#define ALIGN 16

struct arena_chunk {
    struct arena_chunk *next; /* owned */
    size_t used, size;
    _Alignas(ALIGN) unsigned char mem[]; /* size bytes */
};

static struct arena_chunk *chunk_new(size_t size)
{
    struct arena_chunk *c = calloc(1, sizeof *c + size);

    if (c)
        c->size = size;
    return c;
}

void *arena_alloc(struct arena *a, size_t size)
{
    struct arena_chunk *c = a->head;
    size_t need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    void *p;

    if (size == 0 || size > DICT_MAX_FILE * 4)
        return NULL;
    if (!c || c->size - c->used < need) {
        c = chunk_new(need > CHUNK_SIZE / 4 ? need : CHUNK_SIZE);
        if (!c)
            return NULL;
        if (a->head && need > CHUNK_SIZE / 4) {
            /* keep filling the current chunk: put the big one behind it */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    p = c->mem + c->used;
    c->used += need;
    return p;
}

void arena_free(struct arena *a)
{
    struct arena_chunk *c = a->head, *next;

    while (c) {
        next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/* FNV-1a, 32 bits. */
static uint32_t hash_code(const char *s)
{
    uint32_t h = 2166136261u;

    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 16777619u;
    }
    return h;
}

int table_init(struct code_table *t, struct arena *a, size_t cap)
{
    size_t slots = 16;

    memset(t, 0, sizeof *t);
    if (cap > DICT_MAX_ROWS)
        return -1;
    while (slots < cap * 2)
        slots *= 2;
    t->e = arena_alloc(a, (cap ? cap : 1) * sizeof *t->e);
    t->slots = arena_alloc(a, slots * sizeof *t->slots);
    if (!t->e || !t->slots)
        return -1;
    t->cap = cap;
    t->mask = slots - 1;
    return 0;
}

/* The slot holding code, or the empty slot where it would go. */
static size_t probe(const struct code_table *t, const char *code)
{
    size_t i = hash_code(code) & t->mask;

    while (t->slots[i] && strcmp(t->e[t->slots[i] - 1].code, code) != 0)
        i = (i + 1) & t->mask;
    return i;
}

struct code_entry *table_add(struct code_table *t, const struct code_entry *e, const struct code_entry **dup)
{
    size_t i;

    *dup = NULL;
    if (t->n >= t->cap)
        return NULL;
    i = probe(t, e->code);
    if (t->slots[i]) {
        *dup = &t->e[t->slots[i] - 1];
        return NULL;
    }
    t->e[t->n] = *e;
    t->slots[i] = (uint32_t)(++t->n);
    return &t->e[t->n - 1];
}

const struct code_entry *table_find(const struct code_table *t, const char *code)
{
    size_t i;

    if (!t->slots)
        return NULL;
    i = probe(t, code);
    return t->slots[i] ? &t->e[t->slots[i] - 1] : NULL;
}
