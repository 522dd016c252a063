/* services.h - the LLMSYN paper's medical-service categories (table 6): CPT by range, SNOMED CT by code. */
#ifndef EVAL_SERVICES_H
#define EVAL_SERVICES_H

#include <stddef.h>

#include "util/error.h"

/* The eight categories of the paper's table 6, in its order, then codes no table maps. */
enum service_category {
    SVC_DIAGNOSTIC_IMAGING = 0,
    SVC_RESPIRATORY_SUPPORT,
    SVC_EMERGENCY_CARE,
    SVC_WARD_MANAGEMENT,
    SVC_INTERVENTION_SURGICAL,
    SVC_PLANNING_COORDINATING,
    SVC_NOTIFICATION_ASSESSMENT,
    SVC_CONSULTATION_ASSESSMENT,
    SVC_UNMAPPED,
    SVC_COUNT
};

/* The key used in the tables and report.json ("diagnostic_imaging", ..., "unmapped"); static. */
const char *services_key(enum service_category c);
/* The paper's name ("Diagnostic imaging", ...); static. */
const char *services_title(enum service_category c);
/* The category of a key, or SVC_COUNT when the key is unknown. */
enum service_category services_from_key(const char *key);

/* The two mapping tables, loaded. */
struct services;

/* Reads mappings/service_categories_cpt.tsv (first, last, category, basis) and
 * mappings/service_categories_snomed.tsv (code, category, display, reason); '#' lines are comments, the
 * first other line is the header. LLMSYN_E_INPUT naming file:line on a malformed row. Caller frees with
 * services_free. */
struct services *services_load(const char *cpt_path, const char *snomed_path, struct error *err);
void services_free(struct services **s);

/* The category of a CPT code: the narrowest range holding it; SVC_UNMAPPED for codes that are not five
 * digits (Category II/III, HCPCS) or in no range. Leading and trailing blanks are ignored. */
enum service_category services_cpt(const struct services *s, const char *code);
/* The category of a SNOMED CT code, SVC_UNMAPPED when the table does not list it. */
enum service_category services_snomed(const struct services *s, const char *code);
/* Rows loaded (for reports and tests). */
size_t services_cpt_rows(const struct services *s);
size_t services_snomed_rows(const struct services *s);

#endif
