/* connect.h - live retrieval from the MedlinePlus Connect web service by ICD-9-CM code, with a disk cache. */
#ifndef KNOWLEDGE_CONNECT_H
#define KNOWLEDGE_CONNECT_H

#include <stddef.h>

#include "knowledge/medlineplus.h"
#include "util/error.h"

#define CONNECT_DEFAULT_BASE "https://connect.medlineplus.gov"
#define CONNECT_ICD9_OID "2.16.840.1.113883.6.103"   /* mainSearchCriteria.v.cs for ICD-9-CM */
#define CONNECT_MAX_RESPONSE ((size_t)1 << 20)       /* bytes of one answer; more is an error */
#define CONNECT_DEFAULT_TIMEOUT_MS 30000L
/* NLM asks for at most 100 requests per minute per IP address, so requests from all clients of a
 * process are spaced at least this far apart unless the caller asks otherwise. */
#define CONNECT_DEFAULT_INTERVAL_MS 600L

struct connect_options {
    const char *base_url;  /* service root without "/service"; NULL: CONNECT_DEFAULT_BASE */
    const char *cache_dir; /* folder of cached answers (created if missing, parent must exist); NULL: none */
    long timeout_ms;       /* per request; <= 0: CONNECT_DEFAULT_TIMEOUT_MS */
    long interval_ms;      /* least time between two requests of the process; < 0: the default; 0: none */
};

struct connect_stats {
    unsigned long requests;   /* answers fetched over the network */
    unsigned long cache_hits; /* answers read from the cache */
};

/* One client per thread. Returns the client (caller frees with connect_client_free) or NULL with err. */
struct connect_client *connect_client_new(const struct connect_options *opts, struct error *err);
void connect_client_free(struct connect_client **c);

/* The topics MedlinePlus Connect gives for an ICD-9-CM diagnosis code (dotted or not), appended to *out
 * (zero-initialise it first; free with mplus_topics_free). The answer comes from the cache folder when
 * <cache_dir>/<dotted code>.xml holds a readable answer; otherwise it is fetched with
 *   GET <base>/service?mainSearchCriteria.v.cs=2.16.840.1.113883.6.103&mainSearchCriteria.v.c=<code>
 *       &informationRecipient.languageCode.c=en&knowledgeResponseType=text/xml
 * and, when the cache is on, written there atomically (temporary file, then rename). An answer with no
 * topics is a valid answer (0 topics) and is cached too. Returns the number of topics added, or -1 with
 * err (LLMSYN_E_INPUT for a code that is not ICD-9-CM or a malformed answer, LLMSYN_E_BACKEND for
 * network errors and HTTP statuses other than 200, LLMSYN_E_OUTPUT when the cache cannot be written). */
int connect_lookup(struct connect_client *c, const char *icd9, struct mplus_topics *out, struct error *err);

/* Counters of this client. */
void connect_client_stats(const struct connect_client *c, struct connect_stats *out);

/* Writes the request URL for a code into out. Returns 0, or -1 when the code is not ICD-9-CM or out is
 * too small. */
int connect_request_url(const char *base_url, const char *icd9, char *out, size_t outlen);

#endif
