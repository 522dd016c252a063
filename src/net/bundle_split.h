/* bundle_split.h - splits a transaction bundle into parts under entry and byte caps, keeping references valid. */
#ifndef NET_BUNDLE_SPLIT_H
#define NET_BUNDLE_SPLIT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "util/error.h"

/* Most entries a bundle may hold to be split (the reference graph is walked recursively). */
#define SPLIT_MAX_ENTRIES 20000u

/* Splits `bundle` (a transaction or batch, borrowed) into parts of at most max_entries entries and about
 * max_bytes serialised bytes (0: no cap). Entries that reference each other in a cycle (Encounter and its
 * diagnoses) stay in one part; parts are ordered so every referenced entry is in the same or an earlier
 * part; a urn:uuid reference whose target is in another part becomes the target's PUT Type/id.
 * On success *parts (caller frees with split_free) holds *nparts >= 1 new bundles. Returns 0, or -1 with
 * err (LLMSYN_E_INPUT when a cycle is larger than a cap or a cross-part target has no PUT Type/id). */
int bundle_split(const cJSON *bundle, size_t max_entries, size_t max_bytes, cJSON ***parts, size_t *nparts,
                 struct error *err);

/* Frees the parts and the array, and NULLs *parts. */
void split_free(cJSON ***parts, size_t nparts);

#endif
