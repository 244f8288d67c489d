/* json.c: the JSON the runtime needs for safetensors headers.
 *
 * ganrt_json_parse() is a strict RFC 8259 parser (no trailing commas, no
 * comments, nesting at most 64 deep, \u escapes decoded to UTF-8, the
 * whole input must be one value plus whitespace).  It never reads past
 * `len`, and on error it returns -1 with a message giving the byte offset.
 * GanrtBuf is an append-only string used to build headers.
 */
#include "rt.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const char *s; size_t i, len; char *err; size_t errlen; int depth; } P;

static int fail(P *p, const char *what)
{
    if (!p->err[0]) snprintf(p->err, p->errlen, "bad JSON at byte %zu: %s", p->i, what);
    return -1;
}

static void ws(P *p)
{
    while (p->i < p->len && strchr(" \t\r\n", p->s[p->i]) && p->s[p->i]) p->i++;
}

static int peek(P *p) { return p->i < p->len ? (unsigned char)p->s[p->i] : -1; }

static void put(GanrtBuf *b, char c) { ganrt_buf_printf(b, "%c", c); }

static int hex4(P *p, unsigned *v)
{
    *v = 0;
    for (int k = 0; k < 4; k++) {
        int c = peek(p);
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return fail(p, "bad \\u escape");
        *v = *v << 4 | (unsigned)d;
        p->i++;
    }
    return 0;
}

static int string(P *p, char **out)
{
    GanrtBuf b = {0};
    p->i++;
    for (;;) {
        int c = peek(p);
        if (c < 0) { free(b.p); return fail(p, "unterminated string"); }
        p->i++;
        if (c == '"') break;
        if (c < 0x20) { free(b.p); return fail(p, "control character in string"); }
        if (c != '\\') { put(&b, (char)c); continue; }
        c = peek(p);
        p->i++;
        const char *esc = strchr("\"\\/bfnrt", c > 0 ? c : 'x');
        if (esc && c > 0) { put(&b, "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"]); continue; }
        unsigned u, lo;
        if (c != 'u' || hex4(p, &u)) { free(b.p); return fail(p, "bad escape"); }
        if (u >= 0xD800 && u < 0xDC00) {
            if (peek(p) != '\\' || (p->i++, peek(p) != 'u') || (p->i++, hex4(p, &lo)) ||
                lo < 0xDC00 || lo > 0xDFFF) { free(b.p); return fail(p, "bad surrogate pair"); }
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        } else if (u >= 0xDC00 && u < 0xE000) { free(b.p); return fail(p, "lone surrogate"); }
        if (u == 0) { free(b.p); return fail(p, "NUL in string"); }
        if (u < 0x80) put(&b, (char)u);
        else if (u < 0x800) { put(&b, (char)(0xC0 | u >> 6)); put(&b, (char)(0x80 | (u & 63))); }
        else if (u < 0x10000) {
            put(&b, (char)(0xE0 | u >> 12)); put(&b, (char)(0x80 | (u >> 6 & 63)));
            put(&b, (char)(0x80 | (u & 63)));
        } else {
            put(&b, (char)(0xF0 | u >> 18)); put(&b, (char)(0x80 | (u >> 12 & 63)));
            put(&b, (char)(0x80 | (u >> 6 & 63))); put(&b, (char)(0x80 | (u & 63)));
        }
    }
    *out = b.p ? b.p : ganrt_xstrdup("");
    return 0;
}

static int number(P *p, double *v)
{
    size_t st = p->i;
    if (peek(p) == '-') p->i++;
    if (peek(p) == '0') p->i++;
    else if (peek(p) >= '1' && peek(p) <= '9') while (peek(p) >= '0' && peek(p) <= '9') p->i++;
    else return fail(p, "bad number");
    if (peek(p) == '.') {
        p->i++;
        if (!(peek(p) >= '0' && peek(p) <= '9')) return fail(p, "bad number");
        while (peek(p) >= '0' && peek(p) <= '9') p->i++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->i++;
        if (peek(p) == '+' || peek(p) == '-') p->i++;
        if (!(peek(p) >= '0' && peek(p) <= '9')) return fail(p, "bad number");
        while (peek(p) >= '0' && peek(p) <= '9') p->i++;
    }
    char tmp[64];
    size_t n = p->i - st;
    if (n >= sizeof tmp) return fail(p, "number too long");
    memcpy(tmp, p->s + st, n);
    tmp[n] = 0;
    *v = strtod(tmp, NULL);
    return 0;
}

static int value(P *p, GanrtJson *j);

static int add(P *p, GanrtJson *j, char *key)
{
    if ((j->n & (j->n - 1)) == 0) {   /* grow at powers of two */
        size_t cap = j->n ? 2 * (size_t)j->n : 1;
        j->items = realloc(j->items, cap * sizeof *j->items);
        if (j->type == GANRT_JOBJ) j->keys = realloc(j->keys, cap * sizeof *j->keys);
        if (!j->items || (j->type == GANRT_JOBJ && !j->keys)) ganrt_die("out of memory");
    }
    if (j->type == GANRT_JOBJ) j->keys[j->n] = key;
    memset(&j->items[j->n], 0, sizeof *j->items);
    j->n++;
    return value(p, &j->items[j->n - 1]);
}

static int container(P *p, GanrtJson *j, int close)
{
    if (++p->depth > 64) return fail(p, "nesting too deep");
    p->i++;
    ws(p);
    if (peek(p) == close) { p->i++; p->depth--; return 0; }
    for (;;) {
        char *key = NULL;
        ws(p);
        if (close == '}') {
            if (peek(p) != '"') return fail(p, "expected a key");
            if (string(p, &key)) return -1;
            ws(p);
            if (peek(p) != ':') { free(key); return fail(p, "expected ':'"); }
            p->i++;
        }
        if (add(p, j, key)) return -1;
        ws(p);
        int c = peek(p);
        p->i++;
        if (c == close) break;
        if (c != ',') { p->i--; return fail(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'"); }
    }
    p->depth--;
    return 0;
}

static int value(P *p, GanrtJson *j)
{
    ws(p);
    int c = peek(p);
    if (c == '{') { j->type = GANRT_JOBJ; return container(p, j, '}'); }
    if (c == '[') { j->type = GANRT_JARR; return container(p, j, ']'); }
    if (c == '"') { j->type = GANRT_JSTR; return string(p, &j->str); }
    if (c == '-' || (c >= '0' && c <= '9')) { j->type = GANRT_JNUM; return number(p, &j->num); }
    static const char *lit[] = {"null", "true", "false"};
    for (int k = 0; k < 3; k++) {
        size_t n = strlen(lit[k]);
        if (p->len - p->i >= n && !memcmp(p->s + p->i, lit[k], n)) {
            p->i += n;
            j->type = k ? GANRT_JBOOL : GANRT_JNULL;
            j->num = k == 1;
            return 0;
        }
    }
    return fail(p, c < 0 ? "unexpected end" : "unexpected character");
}

int ganrt_json_parse(const char *s, size_t len, GanrtJson *out, char *err, size_t errlen)
{
    P p = {s, 0, len, err, errlen, 0};
    err[0] = 0;
    memset(out, 0, sizeof *out);
    int r = value(&p, out);
    if (!r) {
        ws(&p);
        if (p.i != len) r = fail(&p, "trailing characters");
    }
    if (r) ganrt_json_free(out);
    return r;
}

void ganrt_json_free(GanrtJson *j)
{
    for (int i = 0; i < j->n; i++) {
        ganrt_json_free(&j->items[i]);
        if (j->keys) free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->str);
    memset(j, 0, sizeof *j);
}

const GanrtJson *ganrt_json_get(const GanrtJson *obj, const char *key)
{
    if (!obj || obj->type != GANRT_JOBJ) return NULL;
    for (int i = 0; i < obj->n; i++)
        if (!strcmp(obj->keys[i], key)) return &obj->items[i];
    return NULL;
}

void ganrt_buf_printf(GanrtBuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) ganrt_die("formatting failed");
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) ganrt_die("out of memory");
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ganrt_buf_json_str(GanrtBuf *b, const char *s)
{
    put(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') ganrt_buf_printf(b, "\\%c", c);
        else if (c < 0x20) ganrt_buf_printf(b, "\\u%04x", c);
        else put(b, (char)c);
    }
    put(b, '"');
}
