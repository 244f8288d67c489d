/* diag.c: diagnostics in the style of gcc and clang.
 *
 *   file:line:col: error: message
 *      12 |     x -> linear(64)
 *         |          ^~~~~~~~~~
 *
 * Source texts are registered with diag_source (copied; kept for the life of
 * the process so Locs may point at the file names).  A Loc whose file is not
 * registered, or whose line is 0, prints only the first line.  The caret run
 * is clamped to the end of the source line; tabs before the column are kept
 * in the caret line so the caret lines up under the text.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "ganc.h"
#include "ast.h"

typedef struct {
    char *file;
    char *text;
} Source;

static Source *sources;
static int n_sources;
static int n_errors;
static FILE *stream;

static Source *find(const char *file)
{
    for (int k = 0; file && k < n_sources; k++)
        if (strcmp(sources[k].file, file) == 0) return &sources[k];
    return NULL;
}

static char *dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    ir_assert(p);
    return memcpy(p, s, n);
}

void diag_source(const char *file, const char *text)
{
    Source *s = find(file);
    if (!s) {
        sources = realloc(sources, (size_t)(n_sources + 1) * sizeof *sources);
        ir_assert(sources);
        s = &sources[n_sources++];
        s->file = dup(file);
        s->text = NULL;
    }
    free(s->text);
    s->text = dup(text ? text : "");
}

const char *diag_file(const char *file)
{
    Source *s = find(file);
    if (!s) {
        diag_source(file, "");
        s = find(file);
    }
    return s->file;
}

void diag_set_stream(FILE *f)
{
    stream = f;
}

int diag_errors(void)
{
    return n_errors;
}

void diag_reset(void)
{
    n_errors = 0;
}

static void quote(FILE *out, Loc loc)
{
    Source *s = find(loc.file);
    if (!s || loc.line <= 0) return;
    const char *p = s->text;
    for (int l = 1; l < loc.line && p; l++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p) return;
    size_t n = strcspn(p, "\n");
    if (n > 0 && p[n - 1] == '\r') n--;
    fprintf(out, "%5d | %.*s\n", loc.line, (int)n, p);
    fprintf(out, "      | ");
    int col = loc.col < 1 ? 1 : loc.col;
    for (int k = 0; k < col - 1; k++) fputc(k < (int)n && p[k] == '\t' ? '\t' : ' ', out);
    long len = loc.len < 1 ? 1 : loc.len;
    if (col - 1 + len > (long)n) len = (long)n - (col - 1);
    fputc('^', out);
    for (long k = 1; k < len; k++) fputc('~', out);
    fputc('\n', out);
}

static void report(const char *kind, Loc loc, const char *fmt, va_list ap)
{
    FILE *out = stream ? stream : stderr;
    if (loc.file && loc.line > 0) fprintf(out, "%s:%d:%d: ", loc.file, loc.line, loc.col);
    else if (loc.file) fprintf(out, "%s: ", loc.file);
    fprintf(out, "%s: ", kind);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    quote(out, loc);
}

void diag_error(Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    n_errors++;
    report("error", loc, fmt, ap);
    va_end(ap);
}

void diag_warning(Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("warning", loc, fmt, ap);
    va_end(ap);
}

void diag_note(Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("note", loc, fmt, ap);
    va_end(ap);
}
