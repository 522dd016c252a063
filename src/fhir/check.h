/* check.h - checks the promises of conformance/README.md on a FHIR R4 transaction bundle. */
#ifndef FHIR_CHECK_H
#define FHIR_CHECK_H

#include <cjson/cJSON.h>

#include "util/error.h"

/* Largest bundle file fhir_check_file() reads. */
#define FHIR_CHECK_MAX_FILE ((size_t)64 << 20)

/* Checks one bundle: Bundle of type transaction; every entry has a lower-case urn:uuid fullUrl, a
 * resource whose id is that uuid, a PUT Type/id (or POST Type) request; at least one Patient, Encounter,
 * Condition and Procedure; every "reference" resolves to an entry fullUrl; no empty strings; every
 * dateTime carries a time zone. `name` (may be NULL) names the bundle in messages.
 * Returns 0, or -1 with err set to LLMSYN_E_VALIDATION and a message "<name>: <json path>: <problem>". */
int fhir_check_bundle(const cJSON *bundle, const char *name, struct error *err);

/* Reads the file at path (at most FHIR_CHECK_MAX_FILE bytes) and checks it as above.
 * Returns 0, or -1 with err set: LLMSYN_E_INPUT when it cannot be read, LLMSYN_E_VALIDATION when it
 * is not one JSON value or fails a check. */
int fhir_check_file(const char *path, struct error *err);

#endif
