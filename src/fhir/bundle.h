/* bundle.h - maps one record to a FHIR R4 transaction Bundle. */
#ifndef FHIR_BUNDLE_H
#define FHIR_BUNDLE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "core/record.h"
#include "util/error.h"

/* Finds a display text for a code; returns NULL when unknown. */
typedef const char *(*fhir_display_fn)(void *user, const char *system, const char *code);

struct fhir_context {
    uint64_t seed;            /* run seed: ids are UUIDv5 of (seed, record index, resource, n) */
    fhir_display_fn display;  /* may be NULL */
    void *display_user;
};

#define FHIR_SYSTEM_ICD9 "http://hl7.org/fhir/sid/icd-9-cm"
#define FHIR_SYSTEM_CPT "http://www.ama-assn.org/go/cpt"

/* Builds the transaction Bundle for `rec` (which must hold the demographics, at least one
 * ICD9_CODE and the pipeline's ADMITTIME/DISCHTIME/DOB/NAME_* fields).
 * Returns a new cJSON tree (caller frees with cJSON_Delete) or NULL with err set. */
cJSON *fhir_bundle_from_record(const struct record *rec, const struct fhir_context *ctx, struct error *err);

/* Writes the deterministic id of a resource: UUIDv5 in lower case (37 bytes with NUL). */
void fhir_resource_id(uint64_t seed, uint64_t index, const char *resource, unsigned n, char out[37]);

#endif
