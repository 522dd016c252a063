/* cli.h - the command-line front end: subcommands, messages, progress. */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdint.h>

#include "llmsyn/llmsyn.h"

#define CLI_NAME "llmsyn-fhir"
#define CLI_VERSION "0.1.0"

/* Messages go through one place: "llmsyn-fhir: error: ..." on stderr. */
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Progress on stderr: a bar with rate and ETA on a terminal, plain lines otherwise. */
struct progress {
    int tty;
    int quiet;
    double start, last;
    uint64_t last_done;
};
void progress_init(struct progress *p, int quiet);
void progress_update(void *user, uint64_t done, uint64_t total, uint64_t failed);
void progress_finish(struct progress *p);
double cli_now(void);

int cmd_generate(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_codes(int argc, char **argv);
int cmd_post(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_prior(int argc, char **argv);
int cmd_compare(int argc, char **argv);
void usage_generate(void);

#endif
