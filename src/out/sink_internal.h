/* sink_internal.h - helpers shared by sink.c, render.c and fsutil.c; not part of sink.h's API. */
#ifndef OUT_SINK_INTERNAL_H
#define OUT_SINK_INTERNAL_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "util/buf.h"
#include "util/error.h"

/* The flat table's header line, written once per file by the sink (render.c writes the rows). */
#define SINK_CSV_NAME "records.csv"
#define SINK_CSV_HEADER                                                                              \
    "RECORD_ID,GENDER,AGE,INSURANCE,LANGUAGE,RELIGION,MARITAL_STATUS,ETHNICITY,HOSPITAL_EXPIRE_FLAG," \
    "ICD9_CODE,COMPLICATION_CODES,CPT_CD\n"

/* Synthea's CSV files (--format synthea-csv) and their header lines, exactly as Synthea writes them;
 * the sink writes each header once, render.c the rows. */
#define SINK_SYNTHEA_PATIENTS "patients.csv"
#define SINK_SYNTHEA_PATIENTS_HEADER                                                                     \
    "Id,BIRTHDATE,DEATHDATE,SSN,DRIVERS,PASSPORT,PREFIX,FIRST,LAST,SUFFIX,MAIDEN,MARITAL,RACE,ETHNICITY," \
    "GENDER,BIRTHPLACE,ADDRESS,CITY,STATE,COUNTY,ZIP,LAT,LON,HEALTHCARE_EXPENSES,HEALTHCARE_COVERAGE\n"
#define SINK_SYNTHEA_ENCOUNTERS "encounters.csv"
#define SINK_SYNTHEA_ENCOUNTERS_HEADER                                                                   \
    "Id,START,STOP,PATIENT,ORGANIZATION,PROVIDER,PAYER,ENCOUNTERCLASS,CODE,DESCRIPTION,BASE_ENCOUNTER_COST," \
    "TOTAL_CLAIM_COST,PAYER_COVERAGE,REASONCODE,REASONDESCRIPTION\n"
#define SINK_SYNTHEA_CONDITIONS "conditions.csv"
#define SINK_SYNTHEA_CONDITIONS_HEADER "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION\n"
#define SINK_SYNTHEA_PROCEDURES "procedures.csv"
#define SINK_SYNTHEA_PROCEDURES_HEADER "DATE,PATIENT,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,REASONCODE,REASONDESCRIPTION\n"

/* For bulk-data export: appends `text` (a resource printed by cJSON_PrintUnformatted) to b with every
 * "reference": "urn:uuid:X" that names an entry of the bundle's `entries` rewritten to the literal "Type/X".
 * Returns 0, or -1 when memory runs out. */
int literal_refs_append(struct buf *b, const char *text, const cJSON *entries);

/* Returns "<dir>/<prefix><name><suffix>" (dir may be "" for no folder); caller frees with free().
 * NULL with errno ENOMEM when memory runs out. */
char *fs_join(const char *dir, const char *prefix, const char *name, const char *suffix);
/* Creates dir and its missing parents with `mode`. 0, or -1 with errno (ENOTDIR when a part is a file). */
int fs_mkdir_p(const char *dir, mode_t mode);
/* Sets *empty to 1 when dir holds nothing but "." and "..". 0, or -1 with errno. */
int fs_dir_is_empty(const char *dir, int *empty);
/* Creates or truncates `path` for writing (mode 0644, no symlink following, close-on-exec).
 * Returns a stream (caller closes with fs_close_synced or fclose) or NULL with errno. */
FILE *fs_create(const char *path);
/* fwrite of all `len` bytes, then fflush. 0, or -1 with errno (never 0 on a failure). */
int fs_write_all(FILE *fp, const char *data, size_t len);
/* fflush, fsync and fclose, each checked; closes and NULLs *fp whatever happens.
 * 0, or -1 with errno of the first failure. */
int fs_close_synced(FILE **fp);
/* fsyncs a folder so renames in it are durable; filesystems that cannot sync folders count as done. */
int fs_sync_dir(const char *dir);
/* Flushes every file of the file system holding dir to disk (one syncfs instead of an fsync per file). */
int fs_sync_filesystem(const char *dir);
/* Writes path via path.tmp and rename, so no reader or crash ever sees half a file. With sync the data
 * is fsynced before the rename; without, the caller makes it durable later (fs_sync_filesystem). */
int fs_write_atomic(const char *path, const char *data, size_t len, int sync, struct error *err);
/* 1 when `name` is a plain visible file name: non-empty, no '/', not starting with '.'. */
int fs_plain_name(const char *name);

/* Opens `path` for appending after cutting it to `len` bytes (no symlink following, close-on-exec).
 * Returns a stream positioned at len, or NULL with errno (ENODATA when the file is shorter than len). */
FILE *fs_reopen_truncated(const char *path, unsigned long long len);
/* Removes the leftovers of a killed run in dir: "*.tmp" files and hidden ".*.partial" files for which
 * keep(name-of-the-visible-file, user) is 0. 0, or -1 with errno. */
int fs_remove_leftovers(const char *dir, int (*keep)(const char *name, void *user), void *user);

#endif
