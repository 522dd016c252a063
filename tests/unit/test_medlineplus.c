/* test_medlineplus.c - unit tests of the MedlinePlus XML loader, the HTML-to-text pass and live MedlinePlus
 * Connect retrieval against tests/servers/fake_medlineplus_connect.py (src/knowledge/{medlineplus,text,connect}.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "knowledge/connect.h"
#include "knowledge/medlineplus.h"
#include "knowledge/text.h"
#include "util/buf.h"

#define MIN_BAD_SAMPLES 6

static const char *repo_root(void)
{
    const char *r = getenv("LLMSYN_ROOT");

    return r && *r ? r : ".";
}

static void path_of(char *out, size_t len, const char *rel)
{
    if (snprintf(out, len, "%s/%s", repo_root(), rel) >= (int)len)
        fail_msg("LLMSYN_ROOT too long");
}

static void read_all(const char *path, struct buf *b)
{
    char chunk[4096];
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f)
        fail_msg("cannot open %s", path);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(buf_append(b, chunk, n), 0);
    fclose(f);
    assert_int_equal(buf_append(b, "", 0), 0);
}

static const struct mplus_topic *find_topic(const struct mplus_topics *t, const char *title)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (!strcmp(t->items[i].title, title))
            return &t->items[i];
    return NULL;
}

static int has_name(char *const *names, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return 1;
    return 0;
}

/* The real NLM file excerpt of ../shared/data/medlineplus (one English topic, 2012 format). */
static void test_real_excerpt(void **state)
{
    char path[4096];
    struct mplus_topics t = { NULL, 0, 0 };
    struct error err = { 0 };
    const struct mplus_topic *a;

    (void)state;
    path_of(path, sizeof path, "tests/data/medlineplus/mplus_topics_2012-07-21_excerpt.xml");
    if (mplus_load(path, &t, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.skipped, 0);
    a = &t.items[0];
    assert_string_equal(a->title, "Abdominal Pain");
    assert_string_equal(a->url, "https://www.nlm.nih.gov/medlineplus/abdominalpain.html");
    assert_string_equal(a->id, "3061");
    assert_string_equal(a->institute, "");
    assert_null(a->icd9);
    assert_int_equal(a->from_connect, 0);
    /* also-called and see-reference, "Bellyache" once. */
    assert_int_equal(a->nnames, 3);
    assert_true(has_name(a->names, a->nnames, "Bellyache"));
    assert_true(has_name(a->names, a->nnames, "Pain, Abdominal"));
    assert_true(has_name(a->names, a->nnames, "Stomach Ache"));
    assert_int_equal(a->nmesh, 1);
    assert_string_equal(a->mesh[0], "Abdominal Pain");
    /* The escaped HTML became text: paragraphs and list items on their own lines, no tags. */
    assert_int_equal(strncmp(a->summary, "Your abdomen extends from below your chest to your groin. ", 58), 0);
    assert_non_null(strstr(a->summary, "not serious.\nCall your healthcare provider"));
    assert_non_null(strstr(a->summary, "\n- You have abdominal pain that is sudden and sharp\n"));
    assert_non_null(strstr(a->summary, "\n- You can't move your bowels, especially if you're also vomiting"));
    assert_null(strchr(a->summary, '<'));
    assert_null(strstr(a->summary, "  "));
    assert_null(strstr(a->summary, "&lt;"));
    mplus_topics_free(&t);
    assert_int_equal(t.n, 0);
}

/* The current format: meta-desc, primary-institute, CDATA summaries, a Spanish topic left out. */
static void test_sample_topics(void **state)
{
    char path[4096];
    struct mplus_topics t = { NULL, 0, 0 };
    struct error err = { 0 };
    const struct mplus_topic *g, *h, *s;

    (void)state;
    path_of(path, sizeof path, "tests/data/medlineplus/mplus_topics_sample.xml");
    if (mplus_load(path, &t, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.skipped, 1);
    assert_null(find_topic(&t, "Gota"));
    assert_non_null(g = find_topic(&t, "Gout"));
    assert_non_null(h = find_topic(&t, "Heart Failure"));
    assert_non_null(s = find_topic(&t, "Sleep Apnea"));
    assert_string_equal(g->institute, "National Institute of Arthritis and Musculoskeletal and Skin Diseases");
    assert_true(has_name(g->names, g->nnames, "Gouty arthritis"));
    assert_true(has_name(g->names, g->nnames, "Hyperuricemia"));
    assert_non_null(strstr(g->summary, "\n- Drinking enough fluids & limiting alcohol"));
    assert_non_null(strstr(g->summary, "over the long term\n")); /* &nbsp; then the end of the item */
    assert_null(strstr(g->summary, "nbsp"));
    assert_non_null(strstr(h->summary, "the body\xe2\x80\x99s needs")); /* &#8217; as UTF-8 */
    assert_int_equal(h->nnames, 3);
    assert_non_null(strstr(s->summary, "The most common kind happens when the airway is blocked.\nIt raises"));
    assert_string_equal(s->mesh[0], "Sleep Apnea Syndromes");
    mplus_topics_free(&t);
}

/* Every bad-*.xml is refused with the "<file>:<line>: <what>" of its .expect file, and the list it was
 * appended to keeps what it held. */
static void test_bad_files(void **state)
{
    char dir[4096], path[4200], expect_path[4200];
    struct mplus_topics t = { NULL, 0, 0 };
    struct error err = { 0 };
    struct dirent *e;
    DIR *d;
    size_t n, before;
    int seen = 0;

    (void)state;
    path_of(dir, sizeof dir, "tests/data/medlineplus");
    snprintf(path, sizeof path, "%s/mplus_topics_sample.xml", dir);
    assert_int_equal(mplus_load(path, &t, &err), 0);
    before = t.n;
    assert_non_null(d = opendir(dir));
    while ((e = readdir(d))) {
        struct buf want;

        n = strlen(e->d_name);
        if (strncmp(e->d_name, "bad-", 4) || n < 5 || strcmp(e->d_name + n - 4, ".xml"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(expect_path, sizeof expect_path, "%s/%.*s.expect", dir, (int)(n - 4), e->d_name);
        buf_init(&want, 0);
        read_all(expect_path, &want);
        while (want.len && want.data[want.len - 1] == '\n')
            want.data[--want.len] = '\0';
        error_clear(&err);
        if (mplus_load(path, &t, &err) != -1)
            fail_msg("%s: loaded", e->d_name);
        assert_int_equal(err.code, LLMSYN_E_INPUT);
        if (strncmp(err.msg, dir, strlen(dir)) || !strstr(err.msg, want.data))
            fail_msg("%s: message '%s' lacks '%s'", e->d_name, err.msg, want.data);
        assert_int_equal(t.n, before);
        buf_free(&want);
        seen++;
    }
    closedir(d);
    assert_true(seen >= MIN_BAD_SAMPLES);
    error_clear(&err);
    assert_int_equal(mplus_load("/nonexistent/mplus.xml", &t, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/mplus.xml: cannot open"));
    mplus_topics_free(&t);
}

static void html(const char *in, const char *text, const char *also, const char *attrib)
{
    struct buf t, a, b;
    struct ktext_html_out out = { &t, &a, &b };

    buf_init(&t, 0);
    buf_init(&a, 0);
    buf_init(&b, 0);
    assert_int_equal(ktext_html_to_text(in, strlen(in), &out), 0);
    assert_string_equal(buf_str(&t), text);
    assert_string_equal(buf_str(&a), also);
    assert_string_equal(buf_str(&b), attrib);
    buf_free(&t);
    buf_free(&a);
    buf_free(&b);
}

static void test_html_to_text(void **state)
{
    struct buf small;
    struct ktext_html_out out = { &small, NULL, NULL };

    (void)state;
    html("<p>One  two\n three</p><p>Four</p>", "One two three\nFour", "", "");
    html("A&amp;B &lt;C&gt; &quot;q&quot; &#39;s&#39; caf&#233; &#xE9;&#x1F600; x&nbsp;y", "A&B <C> \"q\" 's' caf\xc3\xa9 "
         "\xc3\xa9\xf0\x9f\x98\x80 x y", "", "");
    /* NUL, surrogates and out-of-range references become spaces; unknown or unterminated ones stay text. */
    html("bad &#0; &#xD800; &#99999999; &bogus; & lone &amp", "bad &bogus; & lone &amp", "", "");
    html("<ul><li>a</li><li> b </li></ul>tail", "- a\n- b\ntail", "", "");
    html("<p class=\"NLMalsoCalled\">Also called: X, Y</p><p>Body <a href=\"u\">link</a>.</p>"
         "<p class=\"NLMattribution\">NIH: Z</p> <p class=\"NLMrelatedLinks\"><ul><li>drop</li></ul></p>",
         "Body link.", "Also called: X, Y", "NIH: Z");
    html("x<script>var a = '<p>no</p>';</script>y<style>p{}</style>z<br/>w <unclosed", "xyz\nw <unclosed", "", "");
    html("a\x01\x7f" "b\tc", "a b c", "", "");
    /* The output cap is an error, never a cut. */
    buf_init(&small, 8);
    assert_int_equal(ktext_html_to_text("<p>longer than eight</p>", 24, &out), -1);
    buf_free(&small);
}

static void test_tokens_and_codes(void **state)
{
    const char *text = "The Arteries' infections, and HTN of a patient; IV stage-V 2.5mg sepsis status";
    const char *p = text, *end = text + strlen(text);
    static const char *const want[] = { "artery", "infection", "htn", "patient", "iv", "stage", "v", "2", "5mg",
                                        "sepsis", "status" };
    char tok[KTEXT_MAX_TOKEN], code[KTEXT_MAX_CODE], a[KTEXT_MAX_TOKEN], b[KTEXT_MAX_TOKEN];
    size_t i = 0;

    (void)state;
    while (ktext_next_token(&p, end, tok) > 0) {
        assert_true(i < sizeof want / sizeof want[0]);
        assert_string_equal(tok, want[i++]);
    }
    assert_int_equal(i, sizeof want / sizeof want[0]);
    assert_int_equal(ktext_icd9_undot("v05.3", code), 0);
    assert_string_equal(code, "V053");
    ktext_icd9_dot("E8788", code);
    assert_string_equal(code, "E878.8");
    ktext_icd9_dot("486", code);
    assert_string_equal(code, "486");
    assert_int_equal(ktext_icd9_undot("42.80", code), -1);
    assert_int_equal(ktext_icd9_undot("428.", code), -1);
    assert_int_equal(ktext_icd9_undot("4280000", code), -1);
    assert_int_equal(ktext_code_token("428.0", a), 0);
    assert_int_equal(ktext_code_token("4280", b), 0);
    assert_string_equal(a, "#4280");
    assert_string_equal(b, "#4280");
    assert_int_equal(ktext_phrase_token("Atrial fibrillation", 19, a), 0);
    assert_int_equal(ktext_phrase_token(" atrial  FIBRILLATION. ", 23, b), 0);
    assert_string_equal(a, b);
    assert_int_equal(ktext_phrase_token("atrial flutter", 14, b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(ktext_phrase_token("the of", 6, b), -1);
}

static void test_connect_answer_parse(void **state)
{
    static const char bare[] = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><title>T</title>"
                               "<summary type=\"html\">&lt;p&gt;S&lt;/p&gt;</summary></entry></feed>";
    char path[4096];
    struct mplus_topics t = { NULL, 0, 0 };
    struct error err = { 0 };
    struct buf xml;
    const struct mplus_topic *h;

    (void)state;
    buf_init(&xml, 0);
    path_of(path, sizeof path, "tests/data/medlineplus/connect/428.0.xml");
    read_all(path, &xml);
    assert_int_equal(mplus_parse_connect(xml.data, xml.len, "428.0.xml", NULL, &t, &err), 0);
    assert_int_equal(t.n, 1);
    h = &t.items[0];
    assert_string_equal(h->title, "Heart Failure");
    assert_string_equal(h->url, "https://medlineplus.gov/heartfailure.html?utm_source=mplusconnect&utm_medium=service");
    assert_string_equal(h->icd9, "428.0");
    assert_int_equal(h->from_connect, 1);
    assert_string_equal(h->institute, "NIH: National Heart, Lung, and Blood Institute");
    assert_int_equal(h->nnames, 3);
    assert_string_equal(h->names[0], "Congestive heart failure");
    assert_string_equal(h->names[1], "CHF");
    assert_string_equal(h->names[2], "Cardiac failure");
    assert_int_equal(strncmp(h->summary, "In heart failure the heart still beats", 38), 0);
    assert_non_null(strstr(h->summary, "\n- Swollen feet and ankles\n"));
    assert_null(strstr(h->summary, "BNP"));
    assert_null(strstr(h->summary, "Also called"));
    assert_null(strstr(h->summary, "NIH:"));
    mplus_topics_free(&t);
    buf_reset(&xml);
    path_of(path, sizeof path, "tests/data/medlineplus/connect/250.00.xml");
    read_all(path, &xml);
    assert_int_equal(mplus_parse_connect(xml.data, xml.len, "250.00.xml", "999.9", &t, &err), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.items[1].title, "Diabetes");
    assert_string_equal(t.items[1].icd9, "250.00"); /* the feed's code wins over the caller's */
    /* A topics file is not an answer, and a feed with no category takes the caller's code. */
    buf_reset(&xml);
    path_of(path, sizeof path, "tests/data/medlineplus/mplus_topics_sample.xml");
    read_all(path, &xml);
    assert_int_equal(mplus_parse_connect(xml.data, xml.len, "x.xml", "428.0", &t, &err), -1);
    assert_non_null(strstr(err.msg, "x.xml:4: root element is <health-topics>, expected an atom <feed>"));
    assert_int_equal(t.n, 2);
    error_clear(&err);
    assert_int_equal(mplus_parse_connect(bare, strlen(bare), "y.xml", "4280", &t, &err), 0);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.items[2].icd9, "428.0");
    assert_string_equal(t.items[2].url, "");
    mplus_topics_truncate(&t, 1);
    assert_int_equal(t.n, 1);
    mplus_topics_free(&t);
    buf_free(&xml);
}

/* ---- live retrieval against the fake service ---- */

struct server {
    pid_t pid;
    int port;
    char log[512];
};

/* Starts the fake service in `mode`, logging requests to a fresh file; reads its port. */
static void server_start(struct server *s, const char *mode, const char *tmpdir)
{
    char script[4096], line[32], errlog[512];
    int fds[2], fd;
    FILE *f;

    path_of(script, sizeof script, "tests/servers/fake_medlineplus_connect.py");
    if (snprintf(s->log, sizeof s->log, "%s/requests-%s.jsonl", tmpdir, mode) >= (int)sizeof s->log ||
        snprintf(errlog, sizeof errlog, "%s/server-%s.err", tmpdir, mode) >= (int)sizeof errlog)
        fail_msg("temporary folder name too long");
    unlink(s->log);
    assert_int_equal(pipe(fds), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if ((fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) /* aborted transfers log there */
            dup2(fd, 2);
        execlp("python3", "python3", script, "--log", s->log, "--mode", mode, "--delay", "0.5", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    assert_non_null(f = fdopen(fds[0], "r"));
    if (!fgets(line, sizeof line, f))
        fail_msg("fake server (%s) did not print its port", mode);
    fclose(f);
    s->port = (int)strtol(line, NULL, 10);
    assert_true(s->port > 0 && s->port < 65536);
}

static void server_stop(struct server *s)
{
    int status = 0;

    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, &status, 0);
    }
    s->pid = 0;
}

/* Requests the server has logged. */
static int server_requests(const struct server *s)
{
    FILE *f = fopen(s->log, "r");
    int n = 0, c;

    if (!f)
        return 0;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static struct connect_client *client_for(const struct server *s, const char *cache, long interval_ms)
{
    char base[64];
    struct connect_options o = { NULL, NULL, 5000, 0 };
    struct error err = { 0 };
    struct connect_client *c;

    snprintf(base, sizeof base, "http://127.0.0.1:%d/", s->port);
    o.base_url = base;
    o.cache_dir = cache;
    o.interval_ms = interval_ms;
    if (!(c = connect_client_new(&o, &err)))
        fail_msg("%s", err.msg);
    return c;
}

static char tmp_root[256];

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof tmp_root, "/tmp/llmsyn-test-mplus-XXXXXX");
    return mkdtemp(tmp_root) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    char cmd[400];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    return system(cmd) == 0 ? 0 : -1;
}

/* Files in dir whose name starts with '.' (left-over temporary files). */
static int hidden_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)))
        n += e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_connect_live_and_cache(void **state)
{
    char cache[400], file[450], log_text[8192];
    struct server s;
    struct connect_client *c, *nocache;
    struct mplus_topics t = { NULL, 0, 0 };
    struct connect_stats st;
    struct error err = { 0 };
    struct stat sb;
    struct buf logb;

    (void)state;
    snprintf(cache, sizeof cache, "%s/cache", tmp_root);
    server_start(&s, "normal", tmp_root);
    c = client_for(&s, cache, 0);
    /* First look-up: one request, the answer parsed and cached under the dotted code. */
    assert_int_equal(connect_lookup(c, "428.0", &t, &err), 1);
    assert_string_equal(t.items[0].title, "Heart Failure");
    assert_string_equal(t.items[0].icd9, "428.0");
    assert_int_equal(server_requests(&s), 1);
    snprintf(file, sizeof file, "%s/428.0.xml", cache);
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(hidden_files(cache), 0);
    /* Second look-up (undotted this time): served from the cache, the server sees nothing new. */
    assert_int_equal(connect_lookup(c, "4280", &t, &err), 1);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.items[1].title, "Heart Failure");
    assert_int_equal(server_requests(&s), 1);
    connect_client_stats(c, &st);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.cache_hits, 1);
    /* The request carried the real service's parameters. */
    buf_init(&logb, 0);
    read_all(s.log, &logb);
    snprintf(log_text, sizeof log_text, "%s", buf_str(&logb));
    assert_non_null(strstr(log_text, "\"path\": \"/service\""));
    assert_non_null(strstr(log_text, "mainSearchCriteria.v.cs=2.16.840.1.113883.6.103&mainSearchCriteria.v.c=428.0"));
    assert_non_null(strstr(log_text, "knowledgeResponseType=text/xml"));
    buf_free(&logb);
    /* A code the service does not map: 0 topics, cached as such. */
    assert_int_equal(connect_lookup(c, "V49.86", &t, &err), 0);
    assert_int_equal(connect_lookup(c, "V49.86", &t, &err), 0);
    assert_int_equal(server_requests(&s), 2);
    /* A damaged cache file is fetched again and replaced. */
    {
        FILE *f = fopen(file, "w");

        assert_non_null(f);
        fputs("<feed><entry>", f);
        fclose(f);
    }
    assert_int_equal(connect_lookup(c, "428.0", &t, &err), 1);
    assert_int_equal(server_requests(&s), 3);
    assert_int_equal(connect_lookup(c, "428.0", &t, &err), 1);
    assert_int_equal(server_requests(&s), 3);
    /* Without a cache every look-up is a request. */
    nocache = client_for(&s, NULL, 0);
    assert_int_equal(connect_lookup(nocache, "486", &t, &err), 1);
    assert_int_equal(connect_lookup(nocache, "486", &t, &err), 1);
    assert_int_equal(server_requests(&s), 5);
    assert_int_equal(err.code, LLMSYN_OK);
    /* Not an ICD-9-CM code: refused before any request. */
    assert_int_equal(connect_lookup(nocache, "A41.9", &t, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_INPUT);
    assert_int_equal(server_requests(&s), 5);
    connect_client_free(&nocache);
    connect_client_free(&c);
    assert_null(c);
    server_stop(&s);
    mplus_topics_free(&t);
}

/* A failed look-up: -1 with `code` and `what` in the message, the query string never quoted, nothing cached. */
static void expect_failure(const char *mode, llmsyn_status code, const char *what)
{
    char cache[400], file[450];
    struct server s;
    struct connect_client *c;
    struct mplus_topics t = { NULL, 0, 0 };
    struct error err = { 0 };
    struct stat sb;

    snprintf(cache, sizeof cache, "%s/cache-%s", tmp_root, mode);
    server_start(&s, mode, tmp_root);
    c = client_for(&s, cache, 0);
    assert_int_equal(connect_lookup(c, "428.0", &t, &err), -1);
    assert_int_equal(t.n, 0);
    if (err.code != code || !strstr(err.msg, what))
        fail_msg("mode %s: got %d '%s', want %d '%s'", mode, (int)err.code, err.msg, (int)code, what);
    assert_null(strstr(err.msg, "mainSearchCriteria"));
    snprintf(file, sizeof file, "%s/428.0.xml", cache);
    assert_int_equal(stat(file, &sb), -1);
    assert_int_equal(hidden_files(cache), 0);
    assert_null(t.items);
    connect_client_free(&c);
    server_stop(&s);
}

static void test_connect_failures(void **state)
{
    char base[64];
    struct server s;
    struct connect_client *c;
    struct mplus_topics t = { NULL, 0, 0 };
    struct connect_options o = { "ftp://example.org", NULL, 0, 0 };
    struct error err = { 0 };

    (void)state;
    expect_failure("error", LLMSYN_E_BACKEND, "for code 428.0 returned HTTP 503");
    expect_failure("garbage", LLMSYN_E_INPUT, "medlineplus connect answer for 428.0:3: invalid xml");
    expect_failure("huge", LLMSYN_E_BACKEND, "larger than the 1048576-byte cap");
    expect_failure("redirect-away", LLMSYN_E_BACKEND, "refused redirect to http://127.0.0.2:");
    expect_failure("wrong-code", LLMSYN_E_INPUT, "the answer is for code 486");
    /* A redirect on the same host is followed. */
    server_start(&s, "redirect-same", tmp_root);
    c = client_for(&s, NULL, 0);
    assert_int_equal(connect_lookup(c, "428.0", &t, &err), 1);
    assert_int_equal(server_requests(&s), 2);
    connect_client_free(&c);
    server_stop(&s);
    /* A timeout. */
    server_start(&s, "slow", tmp_root);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", s.port);
    o.base_url = base;
    o.timeout_ms = 200;
    assert_non_null(c = connect_client_new(&o, &err));
    assert_int_equal(connect_lookup(c, "428.0", &t, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_BACKEND);
    assert_non_null(strstr(err.msg, "GET http://127.0.0.1:"));
    connect_client_free(&c);
    server_stop(&s);
    /* Nobody listening, and a base URL that is not http(s). */
    error_clear(&err);
    o.base_url = "http://127.0.0.1:9";
    o.timeout_ms = 2000;
    assert_non_null(c = connect_client_new(&o, &err));
    assert_int_equal(connect_lookup(c, "428.0", &t, &err), -1);
    assert_int_equal(err.code, LLMSYN_E_BACKEND);
    assert_non_null(strstr(err.msg, "127.0.0.1:9/service"));
    connect_client_free(&c);
    error_clear(&err);
    o.base_url = "ftp://example.org";
    assert_null(connect_client_new(&o, &err));
    assert_int_equal(err.code, LLMSYN_E_USAGE);
    mplus_topics_free(&t);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Requests of a process are spaced by the interval (NLM asks for at most 100 a minute). */
static void test_connect_pacing(void **state)
{
    char url[512];
    struct server s;
    struct connect_client *c;
    struct mplus_topics t = { NULL, 0, 0 };
    struct error err = { 0 };
    double t0;

    (void)state;
    server_start(&s, "normal", tmp_root);
    c = client_for(&s, NULL, 300);
    t0 = now_s();
    assert_int_equal(connect_lookup(c, "428.0", &t, &err), 1);
    assert_int_equal(connect_lookup(c, "486", &t, &err), 1);
    assert_int_equal(connect_lookup(c, "250.00", &t, &err), 2);
    assert_true(now_s() - t0 >= 0.59);
    connect_client_free(&c);
    server_stop(&s);
    mplus_topics_free(&t);
    assert_int_equal(connect_request_url("https://connect.medlineplus.gov/", "v4986", url, sizeof url), 0);
    assert_string_equal(url, "https://connect.medlineplus.gov/service?mainSearchCriteria.v.cs=2.16.840.1.113883.6.103"
                             "&mainSearchCriteria.v.c=V49.86&informationRecipient.languageCode.c=en"
                             "&knowledgeResponseType=text/xml");
    assert_int_equal(connect_request_url(NULL, "428.0", url, 20), -1);
    assert_int_equal(connect_request_url(NULL, "nope", url, sizeof url), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_excerpt),
        cmocka_unit_test(test_sample_topics),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_html_to_text),
        cmocka_unit_test(test_tokens_and_codes),
        cmocka_unit_test(test_connect_answer_parse),
        cmocka_unit_test(test_connect_live_and_cache),
        cmocka_unit_test(test_connect_failures),
        cmocka_unit_test(test_connect_pacing),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
