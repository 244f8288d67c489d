/* parse.c: runs the scanner and parser over one source text.
 *
 * parse_source() registers the text with diag_source, parses it and returns
 * the tree, or NULL when a lexical or syntax error was reported (the tree of
 * a file with errors is never handed to sema).  parse_dump_tokens() prints
 * the token stream the parser sees, one token per line as
 * `line:col KIND 'text'` (for `ganc --emit=tokens`).
 */
#include <string.h>
#include "ganc.h"
#include "ast.h"
#include "gan.tab.h"
#include "lex.yy.h"

static void state_init(LexState *st, const char *path, const char *src)
{
    memset(st, 0, sizeof *st);
    diag_source(path, src);
    st->file = diag_file(path);
    st->line = 1;
    st->col = 1;
    st->end_line = 1;
    st->end_col = 0;
}

struct Ast *parse_source(const char *path, const char *src)
{
    LexState st;
    state_init(&st, path, src);
    st.arena = ast_arena_new();
    int before = diag_errors();
    yyscan_t scanner;
    if (yylex_init_extra(&st, &scanner)) ir_die(__FILE__, __LINE__, "yylex_init_extra failed");
    YY_BUFFER_STATE buf = yy_scan_bytes(src, (int)strlen(src), scanner);
    int rc = yyparse(scanner, &st);
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
    if (!st.root) st.root = ast_new(st.arena, AST_FILE, (Loc){st.file, 1, 1, 1});
    if (rc != 0 || diag_errors() > before) {
        ast_free(st.root);
        return NULL;
    }
    return st.root;
}

static const char *token_kind(int tok)
{
    switch (tok) {
    case IDENT: return "NAME";
    case NUMBER: return "NUMBER";
    case STRING: return "STRING";
    case ARROW: return "ARROW";
    case NL: return "NEWLINE";
    case KW_DATA: case KW_NOISE: case KW_GENERATOR: case KW_DISCRIMINATOR:
    case KW_BLOCK: case KW_OBJECTIVE: case KW_TRAIN: return "KEYWORD";
    default: return "PUNCT";
    }
}

void parse_dump_tokens(FILE *out, const char *path, const char *src)
{
    LexState st;
    state_init(&st, path, src);
    st.arena = ast_arena_new();
    yyscan_t scanner;
    if (yylex_init_extra(&st, &scanner)) ir_die(__FILE__, __LINE__, "yylex_init_extra failed");
    YY_BUFFER_STATE buf = yy_scan_bytes(src, (int)strlen(src), scanner);
    YYSTYPE val;
    YYLTYPE loc;
    int tok;
    while ((tok = yylex(&val, &loc, scanner)) != 0) {
        const char *text = tok == NL ? "\\n" : st.last_text;
        fprintf(out, "%d:%d %s '%s'\n", loc.first_line, loc.first_column, token_kind(tok), text);
    }
    fprintf(out, "%d:%d EOF ''\n", loc.first_line, loc.first_column);
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
    /* the tree arena only held token strings */
    Ast *root = ast_new(st.arena, AST_FILE, (Loc){st.file, 1, 1, 1});
    ast_free(root);
}
