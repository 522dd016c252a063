/* limits.h - named limits shared by the parsers of untrusted input, with bounded JSON and line readers.
 * docs/limits.md lists every limit of the program (most live in their module's header), its value and error. */
#ifndef UTIL_LIMITS_H
#define UTIL_LIMITS_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "util/buf.h"
#include "util/error.h"

/* Nesting of objects and arrays in a JSON document read from outside the program: model replies and JSON
 * answers, FHIR and SMART server replies, bundle files, journal and cache lines. cJSON alone stops at
 * CJSON_NESTING_LIMIT (1000) with a bare parse failure; this limit is far above any real document (a FHIR
 * bundle nests about 10 levels) and has its own error. */
#define LIMIT_JSON_DEPTH 64

/* Byte offset of the '{' or '[' that opens level max_depth + 1 of text, or -1 when none does. Strings and
 * their escapes are skipped; text need not be valid JSON nor NUL-terminated. */
long limits_json_too_deep(const char *text, size_t len, int max_depth);

/* cJSON_ParseWithLength after the LIMIT_JSON_DEPTH check. Too deep: NULL, and err gets code and
 * "<what> nests deeper than LIMIT_JSON_DEPTH (64 levels) at byte N". Not JSON: NULL and err untouched (the
 * caller names that). what names the document ("reply from https://host/...", "'x.json'"); borrowed.
 * Caller frees the result with cJSON_Delete. */
cJSON *limits_json_parse(const char *text, size_t len, const char *what, llmsyn_status code, struct error *err);

/* Reads one line (newline kept) of at most max bytes into line, which it empties first; never holds more
 * than max bytes. Returns 1 for a line (the last may lack its newline), 0 at end of file, -1 on a read error
 * (errno set). A longer line is consumed to its newline, line keeps its first max bytes, *too_long is set
 * to 1 (else 0). line->max must be 0 or at least max. */
int limits_read_line(FILE *f, struct buf *line, size_t max, int *too_long);

#endif
