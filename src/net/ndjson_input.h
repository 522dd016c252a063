/* ndjson_input.h - FHIR NDJSON (Bulk Data layout) as upload input: checked up front, chunked in dependency phases. */
#ifndef NET_NDJSON_INPUT_H
#define NET_NDJSON_INPUT_H

#include <stddef.h>

#include "net/upload.h"
#include "util/error.h"

#define NDJSON_DEFAULT_ENTRIES 100           /* resources per request when --max-bundle-entries is not given */
#define NDJSON_MAX_LINE ((size_t)16 << 20)   /* longest line (one resource) */
#define NDJSON_MAX_FILES 1024
#define NDJSON_MAX_TYPES 256

/* Whether PATH is NDJSON input: a file named *.ndjson, or a folder holding *.ndjson files (the post
 * journal and hidden files aside) and no record-*.json bundles. Returns 1 for NDJSON, 0 for bundle input
 * (or nothing usable: upload_list reports it), or -1 with err (LLMSYN_E_INPUT: unreadable, both kinds in
 * one folder, the journal given as input). */
int ndjson_detect(const char *path, struct error *err);

struct ndjson_input;

/* Reads and checks every line of PATH (a folder's *.ndjson files in name order, or one file) before
 * anything is sent: each non-blank line must be a JSON object with a resourceType and an id; no Type/id
 * twice; every urn:uuid:X reference must name a resource of the input (id X). Then plans the requests
 * (ndjson_plan.h): resources referencing one another stay together, referenced ones go in earlier phases,
 * at most max_entries (0: NDJSON_DEFAULT_ENTRIES) per request and about max_bytes bytes (0: no cap).
 * Returns the input (free with ndjson_close) or NULL with err (LLMSYN_E_INPUT naming path:line). */
struct ndjson_input *ndjson_open(const char *path, size_t max_entries, size_t max_bytes, struct error *err);

/* The folder of the journal: the input folder, or the one holding the file. Borrowed. */
const char *ndjson_dir(const struct ndjson_input *in);

struct ndjson_counts {
    size_t files, resources, chunks, entries_cap;
    unsigned phases;
};
void ndjson_counts(const struct ndjson_input *in, struct ndjson_counts *c);

/* An upload source over the input's requests (see upload_run_source). Chunk i is named after the lines it
 * holds, e.g. "Patient.ndjson#1-100" or "Condition.ndjson#1-262+Encounter.ndjson#1-100", and its body is
 * a transaction bundle of PUT Type/id entries, in which a urn:uuid reference to a resource of another
 * request becomes that resource's Type/id. src borrows in. */
void ndjson_source(struct ndjson_input *in, struct upload_source *src);

void ndjson_close(struct ndjson_input **in);

#endif
