/* gan.y: the grammar of a .gan file.
 *
 * A pure, reentrant LALR(1) parser with locations; it builds an Ast (ast.h)
 * in the arena of the LexState and leaves the root in st->root.  Newlines
 * separate statements (the scanner only emits NL where a statement can end,
 * see gan.l).  Syntax errors are reported by yyreport_syntax_error below in
 * words a user can act on ("expected ')' to close '(' at 3:14", "expected a
 * layer after '->'"); the `error` rules at item and statement level let the
 * parse go on so several errors are reported in one run.
 *
 *   file      := item (NL item)*
 *   item      := 'data' names '~' call | 'noise' names '~' call
 *              | ('generator'|'discriminator'|'block') NAME '(' params ')' '{' stmts '}'
 *              | 'objective' '{' (NAME NAME ':' expr)* '}' | 'objective' NAME ['(' args ')']
 *              | 'train' '{' (NAME word+)* '}'
 *   stmt      := NAME '=' expr | expr
 *   expr      := expr '->' head ['if' cond] | expr (+|-|*|/) expr | '-' expr | NUMBER | STRING
 *              | '(' expr ')' | head
 *   cond      := NAME | NUMBER | '(' expr ')'
 * `h -> batchnorm if norm`: the layer is applied only when the condition (a
 * compile-time number, such as a block parameter) is not 0; the pipe node
 * then has the condition as a third kid.
 *   head      := NAME | NAME '(' args ')' | NAME '[' expr ']' | NAME head
 * `NAME head` is application without parentheses, as in `log D(x)`.
 */
%define api.pure full
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {LexState *st}

%code requires {
#include "ast.h"
typedef struct YYLTYPE {
    int first_line, first_column, last_line, last_column;
} YYLTYPE;
#define YYLTYPE_IS_DECLARED 1
#define YYLTYPE_IS_TRIVIAL 1
#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif
/* Scanner and parser state of one parse. */
typedef struct LexState {
    const char *file;            /* diag_file() copy */
    AstArena *arena;
    Ast *root;
    int line, col;               /* position of the next character */
    int end_line, end_col;       /* last character of the last real token */
    int last_tok, prev_tok;      /* the lookahead and the token before it */
    YYLTYPE last_loc, prev_loc;
    char last_text[64];
    struct { int ch; YYLTYPE loc; } open[64];
    int depth;
    int has_unclosed, unclosed;  /* a bracket dropped open by the last token */
    YYLTYPE unclosed_loc;
    int lex_err_line;            /* line of the last lexical error, 0 if none */
} LexState;
}

%code {
#include <string.h>
#include "ganc.h"
#include "lex.yy.h"
static Loc L(const LexState *st, YYLTYPE a);
static Loc LL(const LexState *st, YYLTYPE a, YYLTYPE b);
static Ast *mk(LexState *st, AstKind k, Loc loc, const char *name);
static Ast *mk1(LexState *st, AstKind k, Loc loc, const char *name, Ast *a);
static Ast *mk2(LexState *st, AstKind k, Loc loc, const char *name, Ast *a, Ast *b);
static void yyerror(YYLTYPE *loc, yyscan_t scanner, LexState *st, const char *msg);
}

%union {
    struct Ast *ast;
    char *str;
    double num;
    int tok;
}

%token <str> IDENT "name" STRING "string"
%token <num> NUMBER "number"
%token ARROW "->" NL "end of line"
%token KW_DATA "data" KW_NOISE "noise" KW_GENERATOR "generator" KW_DISCRIMINATOR "discriminator"
%token KW_BLOCK "block" KW_OBJECTIVE "objective" KW_TRAIN "train"
%token KW_IF "if"

%type <ast> items item names idents params param_list param stmts stmt_seq stmt expr head
%type <ast> cond call fcall args arg_list arg obj_stmts obj_seq obj_stmt settings setting_seq setting word
%type <tok> netkw

%precedence ARROW
%left '+' '-'
%left '*' '/'
%precedence UMINUS

%%

file
    : %empty                  { st->root = mk(st, AST_FILE, L(st, @$), NULL); }
    | items                   { st->root = $1; }
    ;

items
    : item                    { $$ = ast_add(mk(st, AST_FILE, L(st, @1), NULL), $1); }
    | items NL                { $$ = $1; }
    | items NL item           { $$ = ast_add($1, $3); }
    ;

item
    : "data" names '~' call   { $$ = mk2(st, AST_DATA, LL(st, @1, @4), NULL, $2, $4); }
    | "noise" names '~' call  { $$ = mk2(st, AST_NOISE, LL(st, @1, @4), NULL, $2, $4); }
    | netkw IDENT '(' params ')' '{' stmts '}' {
          $$ = ast_add(mk1(st, AST_NET, L(st, @2), $2, $4), $7->kid);
          $$->op = $1;
      }
    | "block" IDENT '(' params ')' '{' stmts '}' {
          $$ = ast_add(mk1(st, AST_BLOCK, L(st, @2), $2, $4), $7->kid);
      }
    | "objective" '{' obj_stmts '}' { $$ = $3; $$->loc = L(st, @1); }
    | "objective" call        { $$ = mk1(st, AST_OBJECTIVE, L(st, @1), NULL, $2); }
    | "train" '{' settings '}' { $$ = $3; $$->loc = L(st, @1); }
    | error                   { $$ = NULL; }
    ;

netkw
    : "generator"             { $$ = NET_G; }
    | "discriminator"         { $$ = NET_D; }
    ;

names
    : IDENT                   { $$ = mk1(st, AST_LIST, L(st, @1), NULL, mk(st, AST_NAME, L(st, @1), $1)); }
    | '(' idents ')'          { $$ = $2; $$->loc = LL(st, @1, @3); }
    ;
idents
    : IDENT                   { $$ = mk1(st, AST_LIST, L(st, @1), NULL, mk(st, AST_NAME, L(st, @1), $1)); }
    | idents ',' IDENT        { $$ = ast_add($1, mk(st, AST_NAME, L(st, @3), $3)); }
    ;

params
    : %empty                  { $$ = mk(st, AST_LIST, L(st, @$), NULL); }
    | param_list
    ;
param_list
    : param                   { $$ = mk1(st, AST_LIST, L(st, @1), NULL, $1); }
    | param_list ',' param    { $$ = ast_add($1, $3); }
    ;
param
    : IDENT                   { $$ = mk(st, AST_PARAM, L(st, @1), $1); }
    | IDENT '=' expr          { $$ = mk1(st, AST_PARAM, L(st, @1), $1, $3); }
    ;

stmts
    : %empty                  { $$ = mk(st, AST_LIST, L(st, @$), NULL); }
    | stmt_seq
    ;
stmt_seq
    : stmt                    { $$ = mk1(st, AST_LIST, L(st, @1), NULL, $1); }
    | stmt_seq NL             { $$ = $1; }
    | stmt_seq NL stmt        { $$ = ast_add($1, $3); }
    ;
stmt
    : IDENT '=' expr          { $$ = mk1(st, AST_ASSIGN, L(st, @1), $1, $3); }
    | expr
    | error                   { $$ = NULL; }
    ;

expr
    : expr "->" head          { $$ = mk2(st, AST_PIPE, L(st, @2), NULL, $1, $3); }
    | expr "->" head "if" cond { $$ = ast_add(mk2(st, AST_PIPE, L(st, @2), NULL, $1, $3), $5); }
    | expr '+' expr           { $$ = mk2(st, AST_BIN, LL(st, @1, @3), NULL, $1, $3); $$->op = '+'; }
    | expr '-' expr           { $$ = mk2(st, AST_BIN, LL(st, @1, @3), NULL, $1, $3); $$->op = '-'; }
    | expr '*' expr           { $$ = mk2(st, AST_BIN, LL(st, @1, @3), NULL, $1, $3); $$->op = '*'; }
    | expr '/' expr           { $$ = mk2(st, AST_BIN, LL(st, @1, @3), NULL, $1, $3); $$->op = '/'; }
    | '-' expr %prec UMINUS   { $$ = mk1(st, AST_NEG, LL(st, @1, @2), NULL, $2); }
    | NUMBER                  { $$ = mk(st, AST_NUM, L(st, @1), NULL); $$->num = $1; }
    | STRING                  { $$ = mk(st, AST_STR, L(st, @1), $1); }
    | '(' expr ')'            { $$ = $2; }
    | head
    ;

head
    : IDENT                   { $$ = mk(st, AST_NAME, L(st, @1), $1); }
    | fcall
    | IDENT '[' expr ']'      { $$ = mk1(st, AST_INDEX, LL(st, @1, @4), $1, $3); }
    | IDENT head              { $$ = mk1(st, AST_APPLY, LL(st, @1, @2), $1, $2); }
    ;

cond
    : IDENT                   { $$ = mk(st, AST_NAME, L(st, @1), $1); }
    | NUMBER                  { $$ = mk(st, AST_NUM, L(st, @1), NULL); $$->num = $1; }
    | '(' expr ')'            { $$ = $2; }
    ;

call
    : IDENT                   { $$ = mk(st, AST_NAME, L(st, @1), $1); }
    | fcall
    ;
fcall
    : IDENT '(' args ')'      { $$ = ast_add(mk(st, AST_CALL, LL(st, @1, @4), $1), $3->kid); }
    ;

args
    : %empty                  { $$ = mk(st, AST_LIST, L(st, @$), NULL); }
    | arg_list
    ;
arg_list
    : arg                     { $$ = mk1(st, AST_LIST, L(st, @1), NULL, $1); }
    | arg_list ',' arg        { $$ = ast_add($1, $3); }
    ;
arg
    : expr
    | IDENT '=' expr          { $$ = mk1(st, AST_KWARG, L(st, @1), $1, $3); }
    ;

obj_stmts
    : %empty                  { $$ = mk(st, AST_OBJECTIVE, L(st, @$), NULL); }
    | obj_seq
    ;
obj_seq
    : obj_stmt                { $$ = ast_add(mk(st, AST_OBJECTIVE, L(st, @1), NULL), $1); }
    | obj_seq NL              { $$ = $1; }
    | obj_seq NL obj_stmt     { $$ = ast_add($1, $3); }
    ;
obj_stmt
    : IDENT IDENT ':' expr    {
          $$ = mk2(st, AST_OBJ_STMT, LL(st, @1, @3), $1, mk(st, AST_NAME, L(st, @2), $2), $4);
      }
    | error                   { $$ = NULL; }
    ;

settings
    : %empty                  { $$ = mk(st, AST_TRAIN, L(st, @$), NULL); }
    | setting_seq
    ;
setting_seq
    : setting                 { $$ = ast_add(mk(st, AST_TRAIN, L(st, @1), NULL), $1); }
    | setting_seq NL          { $$ = $1; }
    | setting_seq NL setting  { $$ = ast_add($1, $3); }
    ;
setting
    : IDENT word              { $$ = mk1(st, AST_SETTING, L(st, @1), $1, $2); }
    | setting word            { $$ = $1 ? ast_add($1, $2) : NULL; }
    | error                   { $$ = NULL; }
    ;
word
    : NUMBER                  { $$ = mk(st, AST_NUM, L(st, @1), NULL); $$->num = $1; }
    | '-' NUMBER              { $$ = mk(st, AST_NUM, LL(st, @1, @2), NULL); $$->num = -$2; }
    | STRING                  { $$ = mk(st, AST_STR, L(st, @1), $1); }
    | call
    ;

%%

static Loc L(const LexState *st, YYLTYPE a)
{
    Loc loc = {st->file, a.first_line, a.first_column, 1};
    if (a.last_line == a.first_line && a.last_column >= a.first_column)
        loc.len = a.last_column - a.first_column + 1;
    return loc;
}

static Loc LL(const LexState *st, YYLTYPE a, YYLTYPE b)
{
    return ast_span(L(st, a), L(st, b));
}

static Ast *mk(LexState *st, AstKind k, Loc loc, const char *name)
{
    Ast *a = ast_new(st->arena, k, loc);
    a->name = name;
    return a;
}

static Ast *mk1(LexState *st, AstKind k, Loc loc, const char *name, Ast *a)
{
    return ast_add(mk(st, k, loc, name), a);
}

static Ast *mk2(LexState *st, AstKind k, Loc loc, const char *name, Ast *a, Ast *b)
{
    return ast_add(ast_add(mk(st, k, loc, name), a), b);
}

static void yyerror(YYLTYPE *loc, yyscan_t scanner, LexState *st, const char *msg)
{
    (void)scanner;
    diag_error(L(st, *loc), "%s", msg);
}

/* How a token is named when it was found: its text. */
static void tok_found(const LexState *st, yysymbol_kind_t k, char *buf, size_t n)
{
    switch (k) {
    case YYSYMBOL_YYEOF: snprintf(buf, n, "end of file"); break;
    case YYSYMBOL_NL: snprintf(buf, n, "end of line"); break;
    case YYSYMBOL_STRING: snprintf(buf, n, "string \"%s\"", st->last_text + (st->last_text[0] == '"')); break;
    default: snprintf(buf, n, "'%s'", st->last_text); break;
    }
    if (k == YYSYMBOL_STRING) {   /* the text kept its quotes */
        size_t l = strlen(buf);
        if (l >= 2 && buf[l - 2] == '"' && buf[l - 1] == '"') buf[l - 1] = 0;
    }
}

/* How a token is named when it was expected. */
static const char *tok_wanted(yysymbol_kind_t k)
{
    switch (k) {
    case YYSYMBOL_IDENT: return "a name";
    case YYSYMBOL_NUMBER: return "a number";
    case YYSYMBOL_STRING: return "a string";
    case YYSYMBOL_NL: return "end of line";
    case YYSYMBOL_YYEOF: return "end of file";
    default: return yysymbol_name(k);
    }
}

static int is_continuation(yysymbol_kind_t k)
{
    static const int cont[] = {'+', '-', '*', '/', '(', '['};
    for (int j = 0; j < 6; j++)
        if (k == YYTRANSLATE(cont[j])) return 1;
    return k == YYSYMBOL_ARROW;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, LexState *st)
{
    (void)scanner;
    enum { MAXEXP = 24 };
    yysymbol_kind_t exp[MAXEXP];
    int n = yypcontext_expected_tokens(ctx, exp, MAXEXP);
    if (n < 0) n = 0;
    yysymbol_kind_t got = yypcontext_token(ctx);
    Loc at = L(st, *yypcontext_location(ctx));
    char found[96];
    tok_found(st, got, found, sizeof found);

    /* a lexical error on this line was reported already: the rest is its echo */
    if (st->lex_err_line && (at.line == st->lex_err_line || st->prev_loc.first_line == st->lex_err_line))
        return 0;

    /* '->' with nothing usable after it */
    if (st->prev_tok == ARROW && n > 0) {
        int only_name = 1;
        for (int k = 0; k < n; k++) only_name &= exp[k] == YYSYMBOL_IDENT;
        if (only_name) {
            diag_error(L(st, st->prev_loc), "expected a layer after '->', found %s", found);
            return 0;
        }
    }
    /* `layer if` without its condition */
    if (st->prev_tok == KW_IF) {
        diag_error(at, "expected the condition after 'if' (a name or a number), found %s", found);
        return 0;
    }
    /* a bracket left open */
    int open = 0;
    YYLTYPE open_loc = {0, 0, 0, 0};
    if (st->has_unclosed) {
        open = st->unclosed;
        open_loc = st->unclosed_loc;
    } else if (st->depth > 0 && (got == YYSYMBOL_YYEOF || got == YYSYMBOL_NL || got == YYTRANSLATE(')') ||
                                 got == YYTRANSLATE(']') || got == YYTRANSLATE('}'))) {
        open = st->open[st->depth - 1].ch;
        open_loc = st->open[st->depth - 1].loc;
    }
    if (open) {
        int close = open == '(' ? ')' : open == '[' ? ']' : '}';
        for (int k = 0; k < n; k++)
            if (exp[k] == YYTRANSLATE(close)) {
                diag_error(at, "expected '%c' to close '%c' at %d:%d, found %s", close, open,
                           open_loc.first_line, open_loc.first_column, found);
                return 0;
            }
    }
    /* two steps of a pipeline without the arrow between them */
    if (got == YYSYMBOL_IDENT)
        for (int k = 0; k < n; k++)
            if (exp[k] == YYSYMBOL_ARROW) {
                diag_error(at, "unexpected %s; expected '->' before it", found);
                return 0;
            }
    /* `batch = 64` in a train block */
    if (got == YYTRANSLATE('=') && st->prev_tok == IDENT)
        for (int k = 0; k < n; k++)
            if (exp[k] == YYSYMBOL_NUMBER) {
                diag_error(at, "unexpected '='; train settings are written without it, like: batch 64");
                return 0;
            }
    /* a list of what could come, without the tokens that merely continue an
     * expression; a name, a number and a string together are "a value" */
    int keep = 0, all_kw = 1, value = 0;
    for (int k = 0; k < n; k++)
        value += exp[k] == YYSYMBOL_IDENT || exp[k] == YYSYMBOL_NUMBER || exp[k] == YYSYMBOL_STRING;
    for (int k = 0; k < n; k++) {
        int v = exp[k] == YYSYMBOL_IDENT || exp[k] == YYSYMBOL_NUMBER || exp[k] == YYSYMBOL_STRING;
        if (is_continuation(exp[k]) || (value == 3 && v && exp[k] != YYSYMBOL_IDENT)) continue;
        exp[keep++] = exp[k];
    }
    for (int k = YYSYMBOL_KW_DATA; k <= YYSYMBOL_KW_TRAIN; k++) {
        int seen = 0;
        for (int j = 0; j < keep; j++) seen |= exp[j] == (yysymbol_kind_t)k;
        all_kw &= seen;
    }
    if (all_kw) {
        diag_error(at, "unexpected %s; expected a section: data, noise, generator, discriminator, block, "
                       "objective or train", found);
        return 0;
    }
    if (keep == 0 || keep > 4) {
        diag_error(at, "unexpected %s", found);
        return 0;
    }
    char list[256] = "";
    for (int k = 0; k < keep; k++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", k == 0 ? "" : k == keep - 1 ? " or " : ", ",
                 value == 3 && exp[k] == YYSYMBOL_IDENT ? "a value" : tok_wanted(exp[k]));
    }
    diag_error(at, "unexpected %s; expected %s", found, list);
    return 0;
}
