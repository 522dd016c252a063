/* sink.h - where finished records go: a bundle folder, NDJSON per resource type, or the paper's flat CSV. */
#ifndef OUT_SINK_H
#define OUT_SINK_H

#include <cjson/cJSON.h>

#include "core/record.h"
#include "llmsyn/llmsyn.h"
#include "util/buf.h"
#include "util/error.h"

/* The bytes one record contributes to the output, rendered by a worker thread.
 * Each part goes to one output file, named relative to the output folder. */
#define SINK_MAX_PARTS 16
struct sink_chunk {
    uint64_t index;
    size_t nparts;
    struct {
        char name[64];     /* "bundles/0000000042.json", "Patient.ndjson", "records.csv" */
        struct buf data;
    } parts[SINK_MAX_PARTS];
};

void sink_chunk_reset(struct sink_chunk *c);
void sink_chunk_free(struct sink_chunk *c);

/* Renders a record (and its bundle) for `format` into c. Pure: safe from several threads. */
int sink_render(llmsyn_format format, const struct record *rec, const cJSON *bundle, struct sink_chunk *c,
                struct error *err);

struct sink;

/* Prepares `dir`: creates it, refuses a non-empty folder unless force (LLMSYN_E_OUTPUT
 * with the folder named). Caller closes with sink_close. */
struct sink *sink_open(const char *dir, llmsyn_format format, int force, struct error *err);
/* Writes a chunk. Record files are written under a temporary name and renamed;
 * appended files (NDJSON, CSV) are kept as temporary files until sink_close. Single-threaded. */
int sink_write(struct sink *s, const struct sink_chunk *c, struct error *err);
/* Writes a whole file atomically (temporary name, fsync, rename) into the output folder. */
int sink_write_file(struct sink *s, const char *name, const char *data, size_t len, struct error *err);
/* Finishes: renames appended files into place when ok != 0, removes them otherwise; frees s. */
int sink_close(struct sink **s, int ok, struct error *err);

/* Writes `len` bytes to `path` atomically (path.tmp, fsync, rename). */
int write_file_atomic(const char *path, const char *data, size_t len, struct error *err);

#endif
