/* medlineplus.c - reads MedlinePlus health topics (mplus_topics XML, Connect Atom answers) with libxml2's reader. */
#include "knowledge/medlineplus.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlreader.h>

#include "knowledge/text.h"
#include "util/buf.h"

#define ATOM_NS "http://www.w3.org/2005/Atom"
#define CONNECT_CODE_SCHEME "mainSearchCriteria.v.c"
/* No network, no DTD loading, no entity substitution; errors come to our handler, never to stderr;
 * line numbers past 65535 stay right. */
#define MPLUS_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES)
#define MPLUS_MSG 200 /* bytes of libxml2's message quoted in ours */
#define MPLUS_READ_CHUNK 65536

enum doc_kind { DOC_TOPICS, DOC_ATOM };

/* Topics parsed from one document; moved into the caller's list only when the whole document is good. */
struct topic_list {
    struct mplus_topic *items; /* owned */
    size_t n, cap;
    size_t skipped;
};

struct xml_ctx {
    const char *name;        /* file name for messages; borrowed */
    struct error *err;       /* borrowed */
    int failed;              /* an error is recorded */
    enum doc_kind kind;
    char feed_code[KTEXT_MAX_CODE]; /* Atom: dotted code of the feed's mainSearchCriteria.v.c, or "" */
    struct topic_list list;
};

static pthread_once_t mplus_once = PTHREAD_ONCE_INIT;

static void mplus_init_once(void)
{
    xmlInitParser();
}

static int fail(struct xml_ctx *c, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records "<file>:<line>: <what>" (LLMSYN_E_INPUT) unless an error is recorded already; returns -1. */
static int fail(struct xml_ctx *c, long line, const char *fmt, ...)
{
    char what[320];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (!c->failed)
        error_set(c->err, LLMSYN_E_INPUT, "%s:%ld: %s", c->name, line > 0 ? line : 1L, what);
    c->failed = 1;
    return -1;
}

static int nomem(struct xml_ctx *c)
{
    if (!c->failed)
        error_set(c->err, LLMSYN_E_NOMEM, "%s: out of memory", c->name);
    c->failed = 1;
    return -1;
}

/* libxml2's structured error callback: keeps the first error with its line, message on one line. */
static void on_xml_error(void *arg, xmlErrorPtr e)
{
    struct xml_ctx *c = arg;
    char msg[MPLUS_MSG];
    size_t i, n;

    if (!e || e->level < XML_ERR_ERROR || c->failed)
        return;
    snprintf(msg, sizeof msg, "%s", e->message ? e->message : "malformed document");
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    for (i = 0; i < n; i++)
        if ((unsigned char)msg[i] < 0x20)
            msg[i] = ' ';
    if (msg[0] >= 'A' && msg[0] <= 'Z')
        msg[0] = (char)(msg[0] - 'A' + 'a');
    fail(c, e->line, "invalid xml: %s", msg);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p)
        memcpy(p, s, n);
    return p;
}

/* Copies text with white-space runs made one space, control characters dropped, ends trimmed. Caller frees. */
static char *collapse(const char *s)
{
    char *out = malloc(strlen(s) + 1);
    size_t n = 0;
    int space = 0;

    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch <= 0x20 || ch == 0x7f) {
            space = n > 0;
            continue;
        }
        if (space)
            out[n++] = ' ';
        space = 0;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    return out;
}

/* The text content of a node, collapsed (caller frees), or NULL with err; over MPLUS_MAX_NAME is an error. */
static char *node_text(struct xml_ctx *c, xmlNodePtr node, size_t max)
{
    xmlChar *raw = xmlNodeGetContent(node);
    char *s;

    if (!raw) {
        nomem(c);
        return NULL;
    }
    s = collapse((const char *)raw);
    xmlFree(raw);
    if (!s) {
        nomem(c);
        return NULL;
    }
    if (strlen(s) > max) {
        fail(c, xmlGetLineNo(node), "<%s> is longer than %zu bytes", (const char *)node->name, max);
        free(s);
        return NULL;
    }
    return s;
}

/* An attribute, collapsed (caller frees); "" when absent; NULL with err. */
static char *attr_text(struct xml_ctx *c, xmlNodePtr node, const char *attr)
{
    xmlChar *raw = xmlGetProp(node, (const xmlChar *)attr);
    char *s;

    s = collapse(raw ? (const char *)raw : "");
    if (raw)
        xmlFree(raw);
    if (!s) {
        nomem(c);
        return NULL;
    }
    if (strlen(s) > MPLUS_MAX_NAME) {
        fail(c, xmlGetLineNo(node), "attribute '%s' of <%s> is longer than %d bytes", attr,
             (const char *)node->name, MPLUS_MAX_NAME);
        free(s);
        return NULL;
    }
    return s;
}

static int is_element(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->name && !strcmp((const char *)n->name, name);
}

/* Adds a name (taking ownership of s) unless it is empty, already listed (case ignored) or, for the
 * topic's other names (not its MeSH headings), the title itself. */
static int add_name(struct xml_ctx *c, struct mplus_topic *t, char ***arr, size_t *n, char *s, long line)
{
    char **grown;
    size_t i;

    if (!s[0] || (arr == &t->names && !strcasecmp(s, t->title))) {
        free(s);
        return 0;
    }
    for (i = 0; i < *n; i++) {
        if (!strcasecmp((*arr)[i], s)) {
            free(s);
            return 0;
        }
    }
    if (*n >= MPLUS_MAX_NAMES) {
        free(s);
        return fail(c, line, "topic '%s' has more than %d names", t->title, MPLUS_MAX_NAMES);
    }
    grown = realloc(*arr, (*n + 1) * sizeof **arr);
    if (!grown) {
        free(s);
        return nomem(c);
    }
    *arr = grown;
    (*arr)[(*n)++] = s;
    return 0;
}

/* Splits Connect's "Also called: A, B" paragraph into names of t. */
static int add_also_called(struct xml_ctx *c, struct mplus_topic *t, const char *p, long line)
{
    const char *e;
    char *piece, *name;

    if (!strncasecmp(p, "also called:", 12))
        p += 12;
    while (*p) {
        e = p + strcspn(p, ",;\n");
        if (!(piece = malloc((size_t)(e - p) + 1)))
            return nomem(c);
        memcpy(piece, p, (size_t)(e - p));
        piece[e - p] = '\0';
        name = collapse(piece);
        free(piece);
        if (!name)
            return nomem(c);
        if (add_name(c, t, &t->names, &t->nnames, name, line) < 0)
            return -1;
        p = *e ? e + 1 : e;
    }
    return 0;
}

/* HTML of a summary to text; sets t->summary (and names / institute from Connect's marked paragraphs). */
static int set_summary(struct xml_ctx *c, struct mplus_topic *t, const char *html, long line)
{
    struct buf text, also, attrib;
    struct ktext_html_out out = { &text, &also, &attrib };
    int rc = -1;

    buf_init(&text, MPLUS_MAX_SUMMARY);
    buf_init(&also, MPLUS_MAX_SUMMARY);
    buf_init(&attrib, MPLUS_MAX_NAME);
    if (ktext_html_to_text(html, strlen(html), &out) < 0) {
        fail(c, line, "summary of '%s' is longer than %zu bytes as text", t->title, MPLUS_MAX_SUMMARY);
        goto out;
    }
    free(t->summary);
    if (!(t->summary = dup_str(buf_str(&text)))) {
        nomem(c);
        goto out;
    }
    if (attrib.len) {
        free(t->institute);
        if (!(t->institute = dup_str(buf_str(&attrib)))) {
            nomem(c);
            goto out;
        }
    }
    rc = add_also_called(c, t, buf_str(&also), line);
out:
    buf_free(&text);
    buf_free(&also);
    buf_free(&attrib);
    return rc;
}

static void topic_free(struct mplus_topic *t)
{
    size_t i;

    free(t->title);
    free(t->url);
    free(t->id);
    for (i = 0; i < t->nnames; i++)
        free(t->names[i]);
    free(t->names);
    for (i = 0; i < t->nmesh; i++)
        free(t->mesh[i]);
    free(t->mesh);
    free(t->institute);
    free(t->summary);
    free(t->icd9);
    memset(t, 0, sizeof *t);
}

/* Reads one element child of a <health-topic> into t. */
static int topic_child(struct xml_ctx *c, struct mplus_topic *t, xmlNodePtr ch)
{
    xmlNodePtr d;
    char *s;

    if (is_element(ch, "also-called") || is_element(ch, "see-reference")) {
        if (!(s = node_text(c, ch, MPLUS_MAX_NAME)))
            return -1;
        return add_name(c, t, &t->names, &t->nnames, s, xmlGetLineNo(ch));
    }
    if (is_element(ch, "mesh-heading")) {
        for (d = ch->children; d; d = d->next) {
            if (!is_element(d, "descriptor"))
                continue;
            if (!(s = node_text(c, d, MPLUS_MAX_NAME)) ||
                add_name(c, t, &t->mesh, &t->nmesh, s, xmlGetLineNo(d)) < 0)
                return -1;
        }
        return 0;
    }
    if (is_element(ch, "primary-institute")) {
        if (!(s = node_text(c, ch, MPLUS_MAX_NAME)))
            return -1;
        free(t->institute);
        t->institute = s;
        return 0;
    }
    if (is_element(ch, "full-summary")) {
        xmlChar *raw = xmlNodeGetContent(ch);
        int rc;

        if (!raw)
            return nomem(c);
        rc = set_summary(c, t, (const char *)raw, xmlGetLineNo(ch));
        xmlFree(raw);
        return rc;
    }
    return 0;
}

/* Gives the optional strings of a finished topic "" instead of NULL, and checks it has a summary. */
static int topic_finish(struct xml_ctx *c, struct mplus_topic *t, long line)
{
    if ((!t->url && !(t->url = dup_str(""))) || (!t->id && !(t->id = dup_str(""))) ||
        (!t->institute && !(t->institute = dup_str(""))))
        return nomem(c);
    if (!t->summary || !t->summary[0])
        return fail(c, line, "topic '%s' has no summary", t->title);
    return 0;
}

static int list_push(struct xml_ctx *c, struct mplus_topic *t)
{
    struct topic_list *l = &c->list;
    struct mplus_topic *grown;
    size_t cap;

    if (l->n >= MPLUS_MAX_TOPICS)
        return fail(c, 0, "more than %d topics", MPLUS_MAX_TOPICS);
    if (l->n == l->cap) {
        cap = l->cap ? l->cap * 2 : 16;
        if (!(grown = realloc(l->items, cap * sizeof *grown)))
            return nomem(c);
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n++] = *t;
    memset(t, 0, sizeof *t);
    return 0;
}

/* One <health-topic>: attributes title, url, id, language; children as in topic_child. */
static int read_health_topic(struct xml_ctx *c, xmlNodePtr node)
{
    struct mplus_topic t;
    xmlNodePtr ch;
    char *lang = NULL;
    long line = xmlGetLineNo(node);
    int rc = -1;

    memset(&t, 0, sizeof t);
    if (!(lang = attr_text(c, node, "language")))
        goto out;
    if (lang[0] && strcasecmp(lang, "English")) {
        c->list.skipped++;
        rc = 0;
        goto out;
    }
    if (!(t.title = attr_text(c, node, "title")) || !(t.url = attr_text(c, node, "url")) ||
        !(t.id = attr_text(c, node, "id")))
        goto out;
    if (!t.title[0]) {
        fail(c, line, "<health-topic> without a title");
        goto out;
    }
    for (ch = node->children; ch; ch = ch->next)
        if (ch->type == XML_ELEMENT_NODE && topic_child(c, &t, ch) < 0)
            goto out;
    if (topic_finish(c, &t, line) < 0 || list_push(c, &t) < 0)
        goto out;
    rc = 0;
out:
    free(lang);
    topic_free(&t);
    return rc;
}

/* <link rel="alternate" href="..."> (rel absent counts as alternate) gives the topic URL. */
static int entry_link(struct xml_ctx *c, struct mplus_topic *t, xmlNodePtr ch)
{
    char *rel = attr_text(c, ch, "rel");
    int rc = -1;

    if (!rel)
        return -1;
    if (!t->url && (!rel[0] || !strcmp(rel, "alternate"))) {
        if (!(t->url = attr_text(c, ch, "href")))
            goto out;
    }
    rc = 0;
out:
    free(rel);
    return rc;
}

/* One Atom <entry>: title, link, id, summary (HTML). */
static int read_entry(struct xml_ctx *c, xmlNodePtr node)
{
    struct mplus_topic t;
    xmlNodePtr ch;
    long line = xmlGetLineNo(node);
    int rc = -1;

    memset(&t, 0, sizeof t);
    for (ch = node->children; ch; ch = ch->next) {
        if (is_element(ch, "title") && !t.title) {
            if (!(t.title = node_text(c, ch, MPLUS_MAX_NAME)))
                goto out;
        } else if (is_element(ch, "id") && !t.id) {
            if (!(t.id = node_text(c, ch, MPLUS_MAX_NAME)))
                goto out;
        } else if (is_element(ch, "link")) {
            if (entry_link(c, &t, ch) < 0)
                goto out;
        }
    }
    if (!t.title || !t.title[0]) {
        fail(c, line, "<entry> without a title");
        goto out;
    }
    for (ch = node->children; ch; ch = ch->next) {
        if (is_element(ch, "summary")) {
            xmlChar *raw = xmlNodeGetContent(ch);

            if (!raw || set_summary(c, &t, (const char *)raw, xmlGetLineNo(ch)) < 0) {
                if (!raw)
                    nomem(c);
                xmlFree(raw);
                goto out;
            }
            xmlFree(raw);
            break;
        }
    }
    t.from_connect = 1;
    if (topic_finish(c, &t, line) < 0 || list_push(c, &t) < 0)
        goto out;
    rc = 0;
out:
    topic_free(&t);
    return rc;
}

/* Feed-level <category scheme="mainSearchCriteria.v.c" term="CODE">: the code the answer is for. */
static int read_category(struct xml_ctx *c, xmlNodePtr node)
{
    char *scheme = attr_text(c, node, "scheme"), *term = NULL;
    char undotted[KTEXT_MAX_CODE];
    int rc = -1;

    if (!scheme)
        return -1;
    if (strcmp(scheme, CONNECT_CODE_SCHEME)) {
        rc = 0;
        goto out;
    }
    if (!(term = attr_text(c, node, "term")))
        goto out;
    if (ktext_icd9_undot(term, undotted) == 0)
        ktext_icd9_dot(undotted, c->feed_code);
    rc = 0;
out:
    free(scheme);
    free(term);
    return rc;
}

/* Checks the root element: <health-topics>, or an Atom <feed>. */
static int check_root(struct xml_ctx *c, xmlTextReaderPtr r)
{
    const char *name = (const char *)xmlTextReaderConstLocalName(r);
    const char *ns = (const char *)xmlTextReaderConstNamespaceUri(r);
    xmlNodePtr node = xmlTextReaderCurrentNode(r);
    long line = node ? xmlGetLineNo(node) : xmlTextReaderGetParserLineNumber(r);
    char q[64];

    snprintf(q, sizeof q, "%s", name ? name : "");
    if (c->kind == DOC_TOPICS && !strcmp(q, "health-topics"))
        return 0;
    if (c->kind == DOC_ATOM && !strcmp(q, "feed") && (!ns || !strcmp(ns, ATOM_NS)))
        return 0;
    return fail(c, line, "root element is <%s>, expected %s", q,
                c->kind == DOC_TOPICS ? "<health-topics>" : "an atom <feed>");
}

/* Dispatches one child element of the root, expanded into a subtree. */
static int read_item(struct xml_ctx *c, xmlTextReaderPtr r)
{
    const char *name = (const char *)xmlTextReaderConstLocalName(r);
    xmlNodePtr node;

    if (!name)
        return 0;
    if (c->kind == DOC_TOPICS && strcmp(name, "health-topic"))
        return 0;
    if (c->kind == DOC_ATOM && strcmp(name, "entry") && strcmp(name, "category"))
        return 0;
    if (!(node = xmlTextReaderExpand(r)))
        return c->failed ? -1 : fail(c, xmlTextReaderGetParserLineNumber(r), "cannot read <%s>", name);
    if (c->kind == DOC_TOPICS)
        return read_health_topic(c, node);
    return !strcmp(name, "entry") ? read_entry(c, node) : read_category(c, node);
}

/* Walks the document: the root, then each child of the root (skipping their subtrees). */
static int walk(struct xml_ctx *c, xmlTextReaderPtr r)
{
    int rc = xmlTextReaderRead(r), seen_root = 0;

    while (rc == 1 && !c->failed) {
        if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT) {
            rc = xmlTextReaderRead(r);
            continue;
        }
        if (xmlTextReaderDepth(r) == 0) {
            if (check_root(c, r) < 0)
                return -1;
            seen_root = 1;
        } else if (xmlTextReaderDepth(r) == 1) {
            if (read_item(c, r) < 0)
                return -1;
            rc = xmlTextReaderNext(r);
            continue;
        }
        rc = xmlTextReaderRead(r);
    }
    if (rc < 0 || c->failed)
        return c->failed ? -1 : fail(c, xmlTextReaderGetParserLineNumber(r), "invalid xml");
    if (!seen_root)
        return fail(c, 1, "no root element");
    return 0;
}

/* 1-based line of byte offset `at`. */
static long line_of(const char *s, size_t at)
{
    long line = 1;
    size_t i;

    for (i = 0; i < at; i++)
        line += s[i] == '\n';
    return line;
}

/* Entity declarations are refused before parsing: they are the door to expansion bombs and external files. */
static int refuse_entities(struct xml_ctx *c, const char *xml, size_t len)
{
    static const char decl[] = "<!ENTITY";
    size_t i;

    for (i = 0; i + sizeof decl - 1 <= len; i++)
        if (xml[i] == '<' && !memcmp(xml + i, decl, sizeof decl - 1))
            return fail(c, line_of(xml, i), "entity declarations are not allowed");
    return 0;
}

static void list_free(struct topic_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        topic_free(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Moves the parsed topics to the end of out. */
static int list_move(struct xml_ctx *c, struct mplus_topics *out)
{
    struct mplus_topic *grown;

    if (!c->list.n) {
        out->skipped += c->list.skipped;
        return 0;
    }
    grown = realloc(out->items, (out->n + c->list.n) * sizeof *grown);
    if (!grown)
        return nomem(c);
    out->items = grown;
    memcpy(out->items + out->n, c->list.items, c->list.n * sizeof *grown);
    out->n += c->list.n;
    out->skipped += c->list.skipped;
    free(c->list.items);
    memset(&c->list, 0, sizeof c->list);
    return 0;
}

/* Stores the answer's code in every topic of an Atom document. */
static int tag_codes(struct xml_ctx *c, const char *fallback)
{
    char undotted[KTEXT_MAX_CODE], dotted[KTEXT_MAX_CODE];
    const char *code = c->feed_code;
    size_t i;

    if (!code[0] && fallback && ktext_icd9_undot(fallback, undotted) == 0) {
        ktext_icd9_dot(undotted, dotted);
        code = dotted;
    }
    if (!code[0])
        return 0;
    for (i = 0; i < c->list.n; i++)
        if (!(c->list.items[i].icd9 = dup_str(code)))
            return nomem(c);
    return 0;
}

static int parse_doc(const char *xml, size_t len, const char *name, enum doc_kind kind, const char *icd9,
                     struct mplus_topics *out, struct error *err)
{
    struct xml_ctx c;
    xmlTextReaderPtr r = NULL;
    int rc = -1;

    memset(&c, 0, sizeof c);
    c.name = name ? name : "medlineplus";
    c.err = err;
    c.kind = kind;
    if (!xml || !out) {
        error_set(err, LLMSYN_E_INTERNAL, "%s: no document or no output", c.name);
        return -1;
    }
    if (len > MPLUS_MAX_FILE || len > (size_t)0x7fffffff) {
        error_set(err, LLMSYN_E_INPUT, "%s: larger than %zu bytes", c.name, MPLUS_MAX_FILE);
        return -1;
    }
    pthread_once(&mplus_once, mplus_init_once);
    if (refuse_entities(&c, xml, len) < 0)
        goto out;
    if (!(r = xmlReaderForMemory(xml, (int)len, NULL, "UTF-8", MPLUS_XML_OPTIONS))) {
        nomem(&c);
        goto out;
    }
    xmlTextReaderSetStructuredErrorHandler(r, on_xml_error, &c);
    if (walk(&c, r) < 0 || (kind == DOC_ATOM && tag_codes(&c, icd9) < 0) || list_move(&c, out) < 0)
        goto out;
    rc = 0;
out:
    if (r)
        xmlFreeTextReader(r);
    list_free(&c.list);
    return rc;
}

int mplus_parse(const char *xml, size_t len, const char *name, struct mplus_topics *out, struct error *err)
{
    return parse_doc(xml, len, name, DOC_TOPICS, NULL, out, err);
}

int mplus_parse_connect(const char *xml, size_t len, const char *name, const char *icd9, struct mplus_topics *out,
                        struct error *err)
{
    return parse_doc(xml, len, name, DOC_ATOM, icd9, out, err);
}

/* Reads a whole file, refusing more than MPLUS_MAX_FILE bytes. */
static int read_file(const char *path, struct buf *b, struct error *err)
{
    char *chunk = NULL;
    FILE *f = fopen(path, "rb");
    size_t n;
    int rc = -1;

    if (!f) {
        error_set(err, LLMSYN_E_INPUT, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (!(chunk = malloc(MPLUS_READ_CHUNK))) {
        error_set(err, LLMSYN_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    while ((n = fread(chunk, 1, MPLUS_READ_CHUNK, f)) > 0) {
        if (b->len + n > MPLUS_MAX_FILE) {
            error_set(err, LLMSYN_E_INPUT, "%s: larger than %zu bytes", path, MPLUS_MAX_FILE);
            goto out;
        }
        if (buf_append(b, chunk, n) < 0) {
            error_set(err, LLMSYN_E_NOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    if (ferror(f)) {
        error_set(err, LLMSYN_E_INPUT, "%s: read error", path);
        goto out;
    }
    rc = 0;
out:
    free(chunk);
    fclose(f);
    return rc;
}

int mplus_load(const char *path, struct mplus_topics *out, struct error *err)
{
    struct buf b;
    int rc;

    if (!path) {
        error_set(err, LLMSYN_E_INPUT, "medlineplus: no path");
        return -1;
    }
    buf_init(&b, MPLUS_MAX_FILE);
    rc = read_file(path, &b, err);
    if (rc == 0)
        rc = mplus_parse(b.data ? b.data : "", b.len, path, out, err);
    buf_free(&b);
    return rc;
}

void mplus_topics_truncate(struct mplus_topics *t, size_t n)
{
    size_t i;

    if (!t)
        return;
    for (i = n; i < t->n; i++)
        topic_free(&t->items[i]);
    if (n < t->n)
        t->n = n;
    if (!t->n) {
        free(t->items);
        t->items = NULL;
    }
}

void mplus_topics_free(struct mplus_topics *t)
{
    size_t i;

    if (!t)
        return;
    for (i = 0; i < t->n; i++)
        topic_free(&t->items[i]);
    free(t->items);
    memset(t, 0, sizeof *t);
}
