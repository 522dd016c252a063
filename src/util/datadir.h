/* datadir.h - finds the data folder (prompts/, mappings/, tools/) shared by generate and eval. */
#ifndef UTIL_DATADIR_H
#define UTIL_DATADIR_H

#include <stddef.h>

/*
 * Writes the data folder into out (n bytes): override when not NULL, else $LLMSYN_DATA_DIR when set and
 * not empty, else the folder above the running binary when it holds prompts/demographics.prompt (the
 * source tree: build/..), else the install prefix LLMSYN_DATADIR. Returns 0, or -1 when the path does not
 * fit in out (out then holds "").
 */
int find_data_dir(const char *override, char *out, size_t n);

#endif
