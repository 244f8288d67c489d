/* ast.h: the syntax tree of a .gan file, and the front end's entry points.
 *
 * parse_source() turns a source text into an Ast (NULL after reporting
 * syntax errors with diag_error; it registers the text with diag_source
 * itself).  Every node carries the Loc of the text it was built from; Loc.file
 * points at a copy owned by diag.c that lives as long as the process, so Locs
 * may be copied into the graph IR and outlive the tree.  A tree owns all its
 * nodes and strings (one arena); ast_free() releases them at once.
 *
 * Node kinds and what their fields hold (kids are a linked list):
 *   AST_FILE        kids: top-level items
 *   AST_DATA        kids[0]: AST_LIST of AST_NAME (the bound names), kids[1]: AST_CALL (ring(...))
 *   AST_NOISE       same shape as AST_DATA
 *   AST_NET         name; op: NET_G or NET_D; kids[0]: AST_LIST of AST_PARAM; rest: statements
 *   AST_BLOCK       name; kids[0]: AST_LIST of AST_PARAM; rest: statements
 *   AST_PARAM       name; kids[0]: default value (optional)
 *   AST_ASSIGN      name = kids[0]
 *   AST_PIPE        kids[0] -> kids[1] (a layer: AST_NAME or AST_CALL); kids[2], if present,
 *                   the condition of `-> layer if cond`
 *   AST_CALL        name(kids...): arguments are expressions or AST_KWARG
 *   AST_KWARG       name = kids[0]
 *   AST_INDEX       name[kids[0]]  (E[...])
 *   AST_APPLY       name kids[0]   (log D(x): a function applied without parentheses)
 *   AST_BIN         kids[0] op kids[1], op one of + - * /
 *   AST_NEG         - kids[0]
 *   AST_NAME, AST_NUM (num), AST_STR (name holds the text without quotes)
 *   AST_OBJECTIVE   kids: AST_OBJ_STMT (`max D: e`: name "max", kids[0] AST_NAME D, kids[1] e),
 *                   or a single AST_NAME / AST_CALL for a named objective
 *   AST_TRAIN       kids: AST_SETTING (name; kids: the words after it:
 *                   AST_NUM, AST_NAME, AST_CALL, AST_STR)
 *   AST_LIST        kids
 */
#ifndef GANC_AST_H
#define GANC_AST_H
#include <stdio.h>
#include "ir.h"
#include "ganc.h"

typedef enum {
    AST_FILE, AST_DATA, AST_NOISE, AST_NET, AST_BLOCK, AST_PARAM, AST_ASSIGN,
    AST_PIPE, AST_CALL, AST_KWARG, AST_INDEX, AST_APPLY, AST_BIN, AST_NEG,
    AST_NAME, AST_NUM, AST_STR, AST_OBJECTIVE, AST_OBJ_STMT, AST_TRAIN,
    AST_SETTING, AST_LIST
} AstKind;

typedef struct AstArena AstArena;

typedef struct Ast {
    AstKind kind;
    Loc loc;
    const char *name;
    double num;
    int op;
    int n_kids;
    struct Ast *kid, *last, *next;
    AstArena *arena;            /* the arena this node lives in */
} Ast;

/* ---- the driver's entry points ---- */
struct Ast *parse_source(const char *path, const char *src);
void parse_dump_tokens(FILE *out, const char *path, const char *src);
void ast_print(FILE *out, const struct Ast *a);
void ast_free(struct Ast *a);

/* ---- construction (ast.c), used by the grammar ---- */
AstArena *ast_arena_new(void);
Ast *ast_new(AstArena *ar, AstKind kind, Loc loc);
Ast *ast_add(Ast *parent, Ast *kid);          /* appends kid (may be NULL); returns parent */
char *ast_strdup(AstArena *ar, const char *s, size_t n);
Ast *ast_kid(const Ast *a, int k);             /* k-th kid or NULL */
Loc ast_span(Loc a, Loc b);                    /* from the start of a to the end of b */
const char *ast_kind_name(AstKind k);

/* ---- sema.c helper beyond ganc.h ---- */
/* Frees a Program returned by sema_program: the graph, the names of its
 * PARAM and INPUT nodes, its name and data path (the fuzz target uses it). */
void sema_free(Program *p);

/* ---- diag.c helpers beyond ganc.h ---- */
/* The process-lifetime copy of a file name registered with diag_source
 * (registers the name with an empty text if unknown). */
const char *diag_file(const char *file);

#endif
