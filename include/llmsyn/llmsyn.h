/* llmsyn.h - public API of libllmsyn: generate synthetic inpatient records as FHIR R4. */
#ifndef LLMSYN_H
#define LLMSYN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One status enum for the whole library; 0 is success. The CLI maps each to an exit status. */
typedef enum {
    LLMSYN_OK = 0,
    LLMSYN_E_USAGE = 2,      /* bad option or option value */
    LLMSYN_E_INPUT = 3,      /* malformed prior, prompt, knowledge base, dictionary */
    LLMSYN_E_BACKEND = 4,    /* the model backend failed or answered unusably */
    LLMSYN_E_VALIDATION = 5, /* produced data failed validation */
    LLMSYN_E_UPLOAD = 6,     /* a FHIR server refused or failed */
    LLMSYN_E_OUTPUT = 7,     /* cannot write the output folder */
    LLMSYN_E_INTERRUPTED = 8,/* stopped by a signal; resumable */
    LLMSYN_E_NOMEM = 9,
    LLMSYN_E_INTERNAL = 10,
    LLMSYN_E_NOT_FOUND = 11  /* a looked-up code or searched text matched nothing (llmsyn-fhir codes) */
} llmsyn_status;

/* A short static description of a status. */
const char *llmsyn_strerror(llmsyn_status status);

typedef enum { LLMSYN_MODE_FULL = 0, LLMSYN_MODE_PRIOR, LLMSYN_MODE_BASE } llmsyn_mode;
typedef enum {
    LLMSYN_FORMAT_BUNDLES = 0, LLMSYN_FORMAT_NDJSON, LLMSYN_FORMAT_CSV,
    LLMSYN_FORMAT_SYNTHEA_CSV  /* patients.csv, encounters.csv, conditions.csv, procedures.csv as Synthea names them */
} llmsyn_format;

/* Options of one generation run. Strings are borrowed for the life of the run.
 * llmsyn_options_init() fills the defaults; NULL strings mean "use the default". */
struct llmsyn_options {
    uint64_t count;            /* records in the whole (unsharded) run; default 100 */
    uint64_t seed;             /* default 1 */
    unsigned shard_index;      /* K of --shard K/N (0-based); default 0 */
    unsigned shard_count;      /* N of --shard K/N; default 1 */
    unsigned jobs;             /* worker threads; default 1 */
    llmsyn_mode mode;
    llmsyn_format format;
    int force;                 /* allow a non-empty output folder */
    const char *out_dir;       /* required */
    const char *data_dir;      /* holds prompts/ and mappings/; default: built-in search */
    const char *prior_path;    /* default: <data_dir>/mappings/prior.json */
    const char *knowledge_path;/* default: <data_dir>/mappings/knowledge.json */
    const char *prompts_dir;   /* default: <data_dir>/prompts */
    const char *extra_steps;   /* comma list of optional steps to enable, e.g. "prescriptions" */
    const char *cpt_dict_path; /* licensed CPT CSV (code,description) for exact CPT checks; NULL: structural */
    /* retrieval of z_R (mode full) */
    unsigned knowledge_k;          /* passages retrieved per record; default 3; 0 uses the card prose */
    unsigned knowledge_budget;     /* token budget of the retrieved passages; default 1500 */
    const char *medlineplus_path;  /* NLM MedlinePlus health-topics XML added to the index; NULL: none */
    int knowledge_live;            /* ask the MedlinePlus Connect web service by ICD-9-CM code */
    const char *knowledge_cache;   /* folder caching live answers; NULL: none */
    const char *knowledge_live_url;/* service root; NULL: https://connect.medlineplus.gov */
    /* model backend */
    const char *backend;       /* "builtin" (default), "openai", "azure", "ollama" or "anthropic" */
    const char *llm_url;       /* openai: base URL, default https://api.openai.com/v1 */
    const char *model;         /* openai: model name */
    const char *api_key;       /* openai: secret; never printed or written */
    double temperature;        /* default 0.7 */
    int max_tokens;            /* default 2048 */
    long timeout_ms;           /* per request, default 120000 */
    int resume;                /* go on with the run in out_dir from its journal (.llmsyn-journal) */
    unsigned concurrency;      /* model requests in flight (workers of a network backend); 0: jobs */
    /* model traffic: retries, limits, cache, cost; the CLI turns retries and the cache on */
    unsigned max_retries;      /* attempts after the first on 429/5xx/timeouts/bad replies; default 0 */
    unsigned max_consecutive_failures; /* failed attempts in a row (process-wide) that stop the run; 0: off */
    long retry_base_ms;        /* first backoff, doubled per retry and jittered; default 500 */
    double rpm, tpm;           /* requests / tokens per minute for the whole process; 0: unlimited */
    const char *cache_dir;     /* disk cache of model answers; NULL: no cache */
    int no_cache;              /* ignore cache_dir */
    double price_in, price_out;/* price per million prompt / completion tokens; 0: no cost estimate */
    const char *azure_api_version;   /* azure: api-version query value; default 2024-10-21 */
    const char *anthropic_version;   /* anthropic: anthropic-version header; default 2023-06-01 */
    int structured_output;     /* openai/azure/ollama: ask for JSON in a per-step schema; default off */
    int procedure_codes_icd9;  /* procedures as ICD-9-CM volume 3 codes (step procedures_icd9), not CPT */
    /* TLS of the model server (openai, azure, ollama, anthropic); neither changes answers nor the cache key */
    const char *llm_cacert;    /* CA bundle (PEM) verifying the model server instead of the system store, e.g.
                                * a private CA; must be readable; NULL: system store */
    int llm_insecure;          /* do not verify the model server's certificate or host name (explicit opt-out;
                                * the CLI warns); default off */
};

void llmsyn_options_init(struct llmsyn_options *opts);

/* The default answer cache folder: $XDG_CACHE_HOME/llmsyn-fhir, else $HOME/.cache/llmsyn-fhir.
 * Returns 0, or -1 when neither variable is usable or the path does not fit in n bytes. */
int llmsyn_default_cache_dir(char *out, size_t n);

/* Progress and diagnostics: the library never prints. */
struct llmsyn_callbacks {
    void (*progress)(void *user, uint64_t done, uint64_t total, uint64_t failed);
    void (*warning)(void *user, const char *message);
    void *user;
    /* Optional (bundles format): called by llmsyn_generate's writer thread right after a record file is
     * in place; name is relative to the output folder ("record-0000000042.json"). */
    void (*record_written)(void *user, const char *name);
};

/* Summary of a finished run. */
struct llmsyn_summary {
    uint64_t records_ok;
    uint64_t records_failed;
    uint64_t model_calls;
    uint64_t reasks;
    double seconds;
};

/* Runs one generation. Returns LLMSYN_OK or a status; on failure `errbuf`
 * (if not NULL) receives a one-line message naming the file, field or flag. */
llmsyn_status llmsyn_generate(const struct llmsyn_options *opts, const struct llmsyn_callbacks *cb,
                              struct llmsyn_summary *summary, char *errbuf, size_t errlen);

/* Asks a running llmsyn_generate() to stop after the records in flight (signal-safe). */
void llmsyn_request_stop(void);

#ifdef __cplusplus
}
#endif
#endif
