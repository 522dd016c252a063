/* text.h - text helpers of the knowledge layer: retrieval tokens, ICD-9-CM code forms, HTML summaries to text. */
#ifndef KNOWLEDGE_TEXT_H
#define KNOWLEDGE_TEXT_H

#include <stddef.h>

#include "util/buf.h"

/* Bytes of a token, NUL included; longer words are cut to KTEXT_MAX_TOKEN - 1 bytes (the same on both the
 * index and the query side, so matching is unaffected). */
#define KTEXT_MAX_TOKEN 48
/* Bytes of an ICD-9-CM code in either form, NUL included. */
#define KTEXT_MAX_CODE 16

/* Reads the next retrieval token of [*p, end) into tok and advances *p. Tokens are runs of ASCII letters
 * and digits and of non-ASCII bytes (UTF-8 words stay whole), ASCII-lowercased, with a light plural
 * folding ("arteries" -> "artery", "infections" -> "infection"; words ending in "ss", "us", "is" are kept).
 * English function words ("the", "of", "and", ...) are skipped. Returns the token length, or 0 at the end. */
size_t ktext_next_token(const char **p, const char *end, char tok[KTEXT_MAX_TOKEN]);

/* The retrieval token that stands for an ICD-9-CM code ("#4280" for 428.0 or 4280); it cannot collide with
 * a word token. Returns 0, or -1 when code is not shaped like an ICD-9-CM diagnosis code. */
int ktext_code_token(const char *code, char tok[KTEXT_MAX_TOKEN]);

/* The retrieval token that stands for a whole name: "=" and a 64-bit hash of the name's tokens, so
 * "Atrial fibrillation" and "atrial  FIBRILLATION" give the same token and no word token can equal it.
 * Returns 0, or -1 when s[0..n) has no tokens. */
int ktext_phrase_token(const char *s, size_t n, char tok[KTEXT_MAX_TOKEN]);

/* Undotted upper-case form of an ICD-9-CM diagnosis code (428.0, 4280, v05.3 -> 4280, 4280, V053); a dot
 * must sit where ICD-9-CM puts it. Returns 0, or -1 when the text is not shaped like one. */
int ktext_icd9_undot(const char *code, char out[KTEXT_MAX_CODE]);
/* Dotted form of a code ktext_icd9_undot accepted (4280 -> 428.0, V053 -> V05.3, E8788 -> E878.8). */
void ktext_icd9_dot(const char *undotted, char out[KTEXT_MAX_CODE]);

/* Where the parts of an HTML summary go. Any of the buffers may be NULL (that part is dropped). */
struct ktext_html_out {
    struct buf *text;        /* the summary as plain text: one paragraph or list item per line */
    struct buf *also_called; /* text of <p class="NLMalsoCalled"> (MedlinePlus Connect) */
    struct buf *attribution; /* text of <p class="NLMattribution"> */
};

/* Turns the HTML of a MedlinePlus summary into plain text: tags removed, block elements (p, li, ul, br,
 * headings) end a line, list items start with "- ", runs of white space become one space, character
 * references (&amp; &nbsp; &#233; &#xE9; ...) decoded to UTF-8, control characters dropped, and the
 * content of script, style and <p class="NLMrelatedLinks"> dropped. Returns 0, or -1 when a buffer
 * would pass its cap or memory runs out. */
int ktext_html_to_text(const char *html, size_t len, const struct ktext_html_out *out);

#endif
