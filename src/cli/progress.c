/* progress.c - progress on stderr: a redrawn bar on a terminal, a line every few seconds otherwise. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

#define BAR_WIDTH 30
#define TTY_INTERVAL 0.1   /* seconds between redraws */
#define PLAIN_INTERVAL 5.0 /* seconds between plain lines */

double cli_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, int quiet)
{
    p->tty = isatty(STDERR_FILENO);
    p->quiet = quiet;
    p->start = p->last = cli_now();
    p->last_done = 0;
}

static void draw_bar(uint64_t done, uint64_t total, uint64_t failed, double rate)
{
    int filled = total ? (int)(BAR_WIDTH * done / total) : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    char bar[BAR_WIDTH + 1];
    int i;

    for (i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    fprintf(stderr, "\r[%s] %llu/%llu records, %llu failed, %.0f rec/s, ETA %.0fs  ", bar,
            (unsigned long long)done, (unsigned long long)total, (unsigned long long)failed, rate, eta);
}

void progress_update(void *user, uint64_t done, uint64_t total, uint64_t failed)
{
    struct progress *p = user;
    double now = cli_now();
    double rate = now > p->start ? (double)done / (now - p->start) : 0;

    p->last_done = done;
    if (p->quiet)
        return;
    if (p->tty && (now - p->last >= TTY_INTERVAL || done == total)) {
        draw_bar(done, total, failed, rate);
        p->last = now;
    } else if (!p->tty && now - p->last >= PLAIN_INTERVAL) {
        fprintf(stderr, CLI_NAME ": %llu/%llu records (%llu failed), %.0f rec/s\n", (unsigned long long)done,
                (unsigned long long)total, (unsigned long long)failed, rate);
        p->last = now;
    }
}

void progress_finish(struct progress *p)
{
    if (!p->quiet && p->tty && p->last_done)
        fputc('\n', stderr);
}
