/* dict.c - classifies one code: normalises it, finds it in its system's table (or CPT ranges) and fills in
 * display, status, validation level, CCS category, phenotype and section or chapter. */
#include <string.h>

#include "codes/dict_internal.h"

const char *code_system_name(enum code_system system)
{
    switch (system) {
    case CODE_ICD9_DX: return "icd9-dx";
    case CODE_ICD9_PX: return "icd9-px";
    case CODE_CPT: return "cpt";
    case CODE_HCPCS: return "hcpcs";
    }
    return "unknown";
}

const char *code_status_name(enum code_status status)
{
    switch (status) {
    case CODE_VALID: return "valid";
    case CODE_HEADER: return "header";
    case CODE_RETIRED: return "retired";
    case CODE_INVALID: return "invalid";
    }
    return "unknown";
}

int dict_cpt_exact(const struct dict *d)
{
    return d && d->cpt_exact;
}

/* Fills *out from a table entry (exact validation). */
static enum code_status from_entry(const struct dict *d, const struct code_entry *e, struct code_info *out)
{
    if (!e) {
        out->status = CODE_INVALID;
        return out->status;
    }
    out->status = (enum code_status)e->status;
    out->display = e->display;
    if (e->ccs) {
        out->ccs = e->ccs->text;
        out->phenotype = e->ccs->phenotype;
    }
    if (out->system == CODE_ICD9_DX)
        out->section = dict_chapter(d, e->code);
    return out->status;
}

/* HCPCS Level II: exact (its CCS category is in the table, taken from the services ranges at import). */
static enum code_status hcpcs_lookup(const struct dict *d, struct code_info *out)
{
    out->system = CODE_HCPCS;
    out->level = CODE_LEVEL_EXACT;
    return from_entry(d, table_find(&d->tables[TABLE_HCPCS], out->code), out);
}

static int is_letter(char c)
{
    return c >= 'A' && c <= 'Z';
}

enum code_status dict_lookup(const struct dict *d, enum code_system system, const char *raw, struct code_info *out)
{
    if (!out)
        return CODE_INVALID;
    memset(out, 0, sizeof *out);
    out->system = system;
    out->status = CODE_INVALID;
    out->level = (system == CODE_CPT && !dict_cpt_exact(d)) ? CODE_LEVEL_STRUCTURAL : CODE_LEVEL_EXACT;
    if (!d || code_normalise(system, raw, out->code, sizeof out->code) < 0)
        return CODE_INVALID;
    switch (system) {
    case CODE_ICD9_DX: return from_entry(d, table_find(&d->tables[TABLE_DX], out->code), out);
    case CODE_ICD9_PX: return from_entry(d, table_find(&d->tables[TABLE_PX], out->code), out);
    case CODE_HCPCS: return hcpcs_lookup(d, out);
    case CODE_CPT: return is_letter(out->code[0]) ? hcpcs_lookup(d, out) : cpt_classify(d, out);
    }
    out->code[0] = '\0';
    return CODE_INVALID;
}
