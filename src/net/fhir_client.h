/* fhir_client.h - FHIR REST specifics of posting bundles: reading replies, rewriting bundles, pre-flight. */
#ifndef NET_FHIR_CLIENT_H
#define NET_FHIR_CLIENT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "util/error.h"

/* What to do with a bundle after its reply. */
enum fhir_reply_kind {
    FHIR_REPLY_OK = 0,   /* stored: every entry succeeded */
    FHIR_REPLY_RETRY,    /* transient (429, 5xx, unreadable reply): safe to send again */
    FHIR_REPLY_FAILED    /* refused: report, do not retry */
};

struct fhir_reply {
    enum fhir_reply_kind kind;
    int auth_refused;          /* 401 or 403: every later request will fail the same way */
    long retry_after_s;        /* from the reply, or -1 */
    unsigned entries;          /* entries in the transaction-/batch-response */
    unsigned created, updated; /* entries answered 201, and 200 */
    unsigned failed_entries;
    char reason[512];          /* for RETRY and FAILED: HTTP status and OperationOutcome issues */
};

/* The leading three digits of a status such as "201" or "201 Created"; -1 when there are none. */
int fhir_status_code(const char *status);

/* Splits a Location ("Patient/1", "Patient/1/_history/2", "https://h/fhir/Patient/1/_history/2") into
 * type, id and version ("" when absent). Returns 0, or -1 when it names no Type/id. Outputs NUL-terminated. */
int fhir_parse_location(const char *loc, char *type, size_t tlen, char *id, size_t ilen, char *ver, size_t vlen);

/* Writes an OperationOutcome's issues as "error invalid: diagnostics (at Patient.x); ..." into out.
 * Writes "" when oo is not an OperationOutcome. Always NUL-terminates. */
void fhir_outcome_text(const cJSON *oo, char *out, size_t outlen);

/* Classifies the reply to one transaction or batch. `sent_entries` is the number of entries posted
 * (0 when unknown); a response with another count is FAILED. body may be NULL. */
void fhir_read_reply(long http_status, long retry_after_s, const char *body, size_t len, unsigned sent_entries,
                     struct fhir_reply *out);

/* Checks a CapabilityStatement: FHIR 4.0.x, and the transaction (or batch) interaction when `need`
 * is "transaction" or "batch". Returns 0, or -1 with err (LLMSYN_E_UPLOAD) saying what is missing. */
int fhir_check_capability(const char *body, size_t len, const char *need, const char *where, struct error *err);

/* Rewrites a transaction into a batch: type "batch", urn:uuid references replaced by the Type/id of the
 * PUT entry they name. Returns 0, or -1 with err when an entry it references has no Type/id. */
int fhir_bundle_to_batch(cJSON *bundle, struct error *err);

/* Rewrites PUT Type/id entries into conditional creates: POST Type with ifNoneExist on the resource's
 * first identifier (one with system urn:llmsyn-fhir:id and the id as value is added when it has none);
 * the resource id is dropped. urn:uuid references stay (the server resolves them). Returns 0 or -1. */
int fhir_bundle_to_conditional(cJSON *bundle, struct error *err);

#define FHIR_ID_SYSTEM "urn:llmsyn-fhir:id"

#endif
