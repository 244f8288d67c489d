/* ast.c: syntax tree construction and printing.
 *
 * Nodes and strings of one tree live in one arena (a list of big chunks);
 * ast_free() releases the arena, so the parser never frees a node even when
 * error recovery drops it.  ast_print() writes the indented tree that
 * `ganc --emit=ast` shows: one node per line, kind, name or value, location.
 */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "ganc.h"
#include "ast.h"

struct AstArena {
    struct Chunk *chunks;
};
struct Chunk {
    struct Chunk *next;
    size_t used, cap;
    _Alignas(max_align_t) unsigned char mem[];
};

AstArena *ast_arena_new(void)
{
    AstArena *ar = calloc(1, sizeof *ar);
    ir_assert(ar);
    return ar;
}

static void *arena_alloc(AstArena *ar, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct Chunk *c = ar->chunks;
    if (!c || c->used + n > c->cap) {
        size_t cap = n > 65536 ? n : 65536;
        c = malloc(sizeof *c + cap);
        ir_assert(c);
        c->next = ar->chunks;
        c->used = 0;
        c->cap = cap;
        ar->chunks = c;
    }
    void *p = c->mem + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

Ast *ast_new(AstArena *ar, AstKind kind, Loc loc)
{
    Ast *a = arena_alloc(ar, sizeof *a);
    a->kind = kind;
    a->loc = loc;
    a->arena = ar;
    return a;
}

char *ast_strdup(AstArena *ar, const char *s, size_t n)
{
    char *p = arena_alloc(ar, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

Ast *ast_add(Ast *parent, Ast *kid)
{
    if (!kid) return parent;
    for (Ast *k = kid; k; k = k->next) {   /* kid may be the head of a list */
        if (parent->last) parent->last->next = k;
        else parent->kid = k;
        parent->last = k;
        parent->n_kids++;
        if (!k->next) break;
    }
    return parent;
}

Ast *ast_kid(const Ast *a, int k)
{
    Ast *c = a ? a->kid : NULL;
    while (c && k-- > 0) c = c->next;
    return c;
}

Loc ast_span(Loc a, Loc b)
{
    if (b.line == a.line && b.col + b.len >= a.col) a.len = b.col + b.len - a.col;
    else if (b.line > a.line) a.len = INT_MAX / 2;   /* to the end of the first line */
    return a;
}

const char *ast_kind_name(AstKind k)
{
    static const char *names[] = {
        "file", "data", "noise", "network", "block", "param", "assign", "pipe", "call", "kwarg",
        "index", "apply", "binary", "neg", "name", "number", "string", "objective", "objective-stmt",
        "train", "setting", "list",
    };
    return k >= 0 && k < (int)(sizeof names / sizeof names[0]) ? names[k] : "?";
}

static void print_rec(FILE *out, const Ast *a, int depth)
{
    if (!a) {
        fprintf(out, "%*s(error)\n", 2 * depth, "");
        return;
    }
    fprintf(out, "%*s%s", 2 * depth, "", ast_kind_name(a->kind));
    switch (a->kind) {
    case AST_NET: fprintf(out, " %s %s", a->op == NET_G ? "generator" : "discriminator", a->name); break;
    case AST_NUM: fprintf(out, " %g", a->num); break;
    case AST_STR: fprintf(out, " \"%s\"", a->name); break;
    case AST_BIN: fprintf(out, " '%c'", a->op); break;
    default:
        if (a->name) fprintf(out, " %s", a->name);
        break;
    }
    fprintf(out, "  @%d:%d\n", a->loc.line, a->loc.col);
    for (const Ast *k = a->kid; k; k = k->next) print_rec(out, k, depth + 1);
}

void ast_print(FILE *out, const struct Ast *a)
{
    print_rec(out, a, 0);
}

void ast_free(struct Ast *a)
{
    if (!a) return;
    AstArena *ar = a->arena;
    for (struct Chunk *c = ar->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(ar);
}
