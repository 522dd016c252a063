/* text.c - retrieval tokens, ICD-9-CM code forms and the HTML-to-text pass for MedlinePlus summaries. */
#include "knowledge/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* English function words that carry no meaning for retrieval; sorted for bsearch. */
static const char *const STOPWORDS[] = {
    "a",    "about", "after", "also",  "an",    "and",   "any",  "are",   "as",   "at",    "be",
    "been", "but",   "by",    "can",   "do",    "does",  "for",  "from",  "had",  "has",   "have",
    "how",  "if",    "in",    "into",  "is",    "it",    "its",  "may",   "more", "most",  "much",
    "of",   "often", "on",    "or",    "such",  "than",  "that", "the",   "their", "them", "then",
    "there", "these", "they", "this",  "those", "to",    "was",  "were",  "what", "when",  "where",
    "which", "who",  "will",  "with",  "you",   "your",
};
#define NSTOPWORDS (sizeof STOPWORDS / sizeof STOPWORDS[0])

static int cmp_stop(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

static int is_token_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* "arteries" -> "artery", "infections" -> "infection"; "ss", "us", "is" endings and short words kept. */
static size_t fold_plural(char *tok, size_t n)
{
    if (n > 4 && !memcmp(tok + n - 3, "ies", 3)) {
        tok[n - 3] = 'y';
        tok[n - 2] = '\0';
        return n - 2;
    }
    if (n > 3 && tok[n - 1] == 's' && tok[n - 2] != 's' && tok[n - 2] != 'u' && tok[n - 2] != 'i') {
        tok[n - 1] = '\0';
        return n - 1;
    }
    return n;
}

/* A word that retrieval ignores: a function word, or the "s"/"t" left over from an apostrophe. */
static int is_ignored(const char *tok, size_t n)
{
    if (n == 1 && (tok[0] == 's' || tok[0] == 't'))
        return 1;
    return bsearch(tok, STOPWORDS, NSTOPWORDS, sizeof STOPWORDS[0], cmp_stop) != NULL;
}

size_t ktext_next_token(const char **p, const char *end, char tok[KTEXT_MAX_TOKEN])
{
    const char *s = *p;
    size_t n;

    for (;;) {
        while (s < end && !is_token_byte((unsigned char)*s))
            s++;
        if (s >= end) {
            *p = s;
            tok[0] = '\0';
            return 0;
        }
        n = 0;
        for (; s < end && is_token_byte((unsigned char)*s); s++) {
            unsigned char c = (unsigned char)*s;

            if (n + 1 < KTEXT_MAX_TOKEN)
                tok[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
        tok[n] = '\0';
        if (is_ignored(tok, n))
            continue;
        *p = s;
        return fold_plural(tok, n);
    }
}

/* Length of the code part before the dot: 3 for numeric and V codes, 4 for E codes. */
static size_t icd9_head(char first)
{
    return first == 'E' ? 4 : 3;
}

int ktext_icd9_undot(const char *code, char out[KTEXT_MAX_CODE])
{
    char first;
    size_t head, tail, n = 0, i;
    int dot = 0;

    if (!code || !code[0] || strlen(code) >= KTEXT_MAX_CODE)
        return -1;
    first = (char)(code[0] >= 'a' && code[0] <= 'z' ? code[0] - 'a' + 'A' : code[0]);
    if (first != 'E' && first != 'V' && (first < '0' || first > '9'))
        return -1;
    head = icd9_head(first);
    tail = first == 'E' ? 1 : 2;
    out[n++] = first;
    for (i = 1; code[i]; i++) {
        if (code[i] == '.' && !dot && n == head && code[i + 1]) {
            dot = 1;
            continue;
        }
        if (code[i] < '0' || code[i] > '9' || n >= head + tail)
            return -1;
        out[n++] = code[i];
    }
    if (n < head)
        return -1;
    out[n] = '\0';
    return 0;
}

void ktext_icd9_dot(const char *undotted, char out[KTEXT_MAX_CODE])
{
    size_t head = icd9_head(undotted[0]), len = strlen(undotted);

    memcpy(out, undotted, head);
    if (len > head) {
        out[head] = '.';
        memcpy(out + head + 1, undotted + head, len - head + 1);
    } else {
        out[head] = '\0';
    }
}

int ktext_code_token(const char *code, char tok[KTEXT_MAX_TOKEN])
{
    char undotted[KTEXT_MAX_CODE];
    size_t n;

    if (ktext_icd9_undot(code, undotted) < 0)
        return -1;
    n = strlen(undotted);
    tok[0] = '#';
    memcpy(tok + 1, undotted, n + 1);
    return 0;
}

int ktext_phrase_token(const char *s, size_t n, char tok[KTEXT_MAX_TOKEN])
{
    static const char hex[] = "0123456789abcdef";
    const char *p = s, *end = s + n;
    uint64_t h = 1469598103934665603ULL;
    char word[KTEXT_MAX_TOKEN];
    size_t len, i, words = 0;

    while ((len = ktext_next_token(&p, end, word)) > 0) {
        for (i = 0; i <= len; i++) { /* the NUL separates words */
            h ^= (unsigned char)word[i];
            h *= 1099511628211ULL;
        }
        words++;
    }
    if (!words)
        return -1;
    tok[0] = '=';
    for (i = 0; i < 16; i++)
        tok[1 + i] = hex[(h >> (60 - 4 * i)) & 0xf];
    tok[17] = '\0';
    return 0;
}

/* ---- HTML to text ---- */

enum route { ROUTE_TEXT, ROUTE_ALSO, ROUTE_ATTRIB, ROUTE_DROP, ROUTE_COUNT };

/* One output with its white-space state: pending space, pending line break, anything on the line yet. */
struct sink {
    struct buf *b; /* borrowed; NULL drops the text */
    int space, brk, line_used, any;
};

struct html_state {
    struct sink sinks[ROUTE_COUNT];
    enum route route;   /* where text goes now */
    int skip_raw;       /* inside <script> or <style>: everything up to its end tag is dropped */
    int failed;
};

static void sink_put(struct html_state *h, const char *s, size_t n)
{
    struct sink *k = &h->sinks[h->route];

    if (!k->b || h->failed || !n)
        return;
    if (k->brk && k->any) {
        if (buf_putc(k->b, '\n') < 0)
            h->failed = 1;
        k->line_used = 0;
    } else if (k->space && k->line_used && k->b->data[k->b->len - 1] != ' ') {
        if (buf_putc(k->b, ' ') < 0)
            h->failed = 1;
    }
    k->brk = k->space = 0;
    if (buf_append(k->b, s, n) < 0)
        h->failed = 1;
    k->line_used = k->any = 1;
}

static void sink_space(struct html_state *h)
{
    h->sinks[h->route].space = 1;
}

static void sink_break(struct html_state *h)
{
    h->sinks[h->route].brk = 1;
    h->sinks[h->route].space = 0;
}

/* Appends code point cp as UTF-8; control characters and invalid values become a space. */
static void put_codepoint(struct html_state *h, unsigned long cp)
{
    char u[4];
    size_t n;

    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0xa0 || (cp >= 0xd800 && cp <= 0xdfff) ||
        cp > 0x10ffff) {
        sink_space(h);
        return;
    }
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    if (cp == ' ')
        sink_space(h);
    else
        sink_put(h, u, n);
}

static const struct {
    const char *name;
    unsigned long cp;
} ENTITIES[] = {
    { "amp", '&' },     { "lt", '<' },       { "gt", '>' },       { "quot", '"' },     { "apos", '\'' },
    { "nbsp", ' ' },    { "ndash", 0x2013 }, { "mdash", 0x2014 }, { "lsquo", 0x2018 }, { "rsquo", 0x2019 },
    { "ldquo", 0x201c }, { "rdquo", 0x201d }, { "hellip", 0x2026 }, { "reg", 0xae },    { "copy", 0xa9 },
    { "eacute", 0xe9 }, { "ntilde", 0xf1 }, { "deg", 0xb0 },     { "micro", 0xb5 },   { "middot", 0xb7 },
};

/* Value of a numeric reference body ("#233" or "#xE9"), or 0x110000 (no code point) when malformed. */
static unsigned long numeric_ref(const char *s, size_t n)
{
    unsigned long v = 0;
    size_t i = 1;
    int hex = n > 1 && (s[1] == 'x' || s[1] == 'X'), digit;

    if (hex)
        i = 2;
    if (i >= n || n - i > 7)
        return 0x110000UL;
    for (; i < n; i++) {
        char c = s[i];

        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (hex && c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F')
            digit = c - 'A' + 10;
        else
            return 0x110000UL;
        v = v * (hex ? 16UL : 10UL) + (unsigned long)digit;
    }
    return v;
}

/* Decodes the reference at s[0] == '&'; returns the bytes consumed (1 for a lone '&', kept as text). */
static size_t put_entity(struct html_state *h, const char *s, size_t len)
{
    size_t n, i;

    for (n = 1; n < len && n < 12 && s[n] != ';' && s[n] != '&' && s[n] != '<' && s[n] != ' '; n++)
        ;
    if (n >= len || s[n] != ';' || n == 1) {
        sink_put(h, "&", 1);
        return 1;
    }
    if (s[1] == '#') {
        put_codepoint(h, numeric_ref(s + 1, n - 1));
        return n + 1;
    }
    for (i = 0; i < sizeof ENTITIES / sizeof ENTITIES[0]; i++) {
        if (strlen(ENTITIES[i].name) == n - 1 && !memcmp(ENTITIES[i].name, s + 1, n - 1)) {
            put_codepoint(h, ENTITIES[i].cp);
            return n + 1;
        }
    }
    sink_put(h, "&", 1);
    return 1;
}

/* Elements whose start or end breaks the line. */
static int is_block(const char *name)
{
    static const char *const blocks[] = { "p", "div", "ul", "ol", "li", "br", "h1", "h2", "h3", "h4", "h5",
                                          "h6", "tr", "table", "blockquote", "dl", "dt", "dd", NULL };
    size_t i;

    for (i = 0; blocks[i]; i++)
        if (!strcmp(name, blocks[i]))
            return 1;
    return 0;
}

/* Where the text of a <p> goes, from its class attribute (MedlinePlus Connect marks parts this way). */
static enum route p_route(const char *attrs, size_t n)
{
    static const struct {
        const char *cls;
        enum route route;
    } classes[] = { { "NLMalsoCalled", ROUTE_ALSO }, { "NLMattribution", ROUTE_ATTRIB },
                    { "NLMrelatedLinks", ROUTE_DROP } };
    size_t i, k, cl;

    for (i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        cl = strlen(classes[i].cls);
        for (k = 0; k + cl <= n; k++)
            if (!strncasecmp(attrs + k, classes[i].cls, cl))
                return classes[i].route;
    }
    return ROUTE_TEXT;
}

/* Handles the tag s[0..n) ("<...>"); changes route, line breaks and raw-text skipping. */
static void handle_tag(struct html_state *h, const char *s, size_t n)
{
    char name[16];
    size_t i = 1, k = 0;
    int closing = 0;

    if (i < n && s[i] == '/') {
        closing = 1;
        i++;
    }
    for (; i < n && k + 1 < sizeof name && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                                            (s[i] >= '0' && s[i] <= '9')); i++)
        name[k++] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    name[k] = '\0';
    if (!strcmp(name, "script") || !strcmp(name, "style")) {
        h->skip_raw = !closing;
        return;
    }
    if (h->skip_raw) /* markup inside a script is text to drop */
        return;
    if (!is_block(name)) {
        if (!strcmp(name, "a") || !strcmp(name, "span") || !k)
            return;
        sink_space(h);
        return;
    }
    sink_break(h);
    if (!strcmp(name, "p")) {
        h->route = closing ? ROUTE_TEXT : p_route(s + i, n - i);
        sink_break(h);
    } else if (!strcmp(name, "li") && !closing) {
        sink_put(h, "- ", 2);
    }
}

/* Length of the tag starting at s[0] == '<' including '>', or 0 when it is not closed. */
static size_t tag_length(const char *s, size_t len)
{
    const char *gt = memchr(s, '>', len);

    return gt ? (size_t)(gt - s) + 1 : 0;
}

int ktext_html_to_text(const char *html, size_t len, const struct ktext_html_out *out)
{
    struct html_state h;
    size_t i = 0, n;

    memset(&h, 0, sizeof h);
    h.sinks[ROUTE_TEXT].b = out ? out->text : NULL;
    h.sinks[ROUTE_ALSO].b = out ? out->also_called : NULL;
    h.sinks[ROUTE_ATTRIB].b = out ? out->attribution : NULL;
    while (i < len && !h.failed) {
        unsigned char c = (unsigned char)html[i];

        if (c == '<' && (n = tag_length(html + i, len - i)) > 0) {
            handle_tag(&h, html + i, n);
            i += n;
        } else if (h.skip_raw) {
            i++;
        } else if (c == '&') {
            i += put_entity(&h, html + i, len - i);
        } else if (c == ' ' || c < 0x20 || c == 0x7f) { /* tab, CR and LF are below 0x20 */
            sink_space(&h);
            i++;
        } else {
            for (n = 1; i + n < len && (unsigned char)html[i + n] > 0x20 && html[i + n] != '<' &&
                        html[i + n] != '&' && html[i + n] != 0x7f; n++)
                ;
            sink_put(&h, html + i, n);
            i += n;
        }
    }
    return h.failed ? -1 : 0;
}
