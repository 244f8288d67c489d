/* fuzz_front.c: libFuzzer target for the front end and semantic analysis.
 *
 * Arbitrary bytes are a .gan source: the scanner, the parser and sema run on
 * them exactly as `ganc --check` does (a NUL ends the text: ganc rejects
 * files with NULs before parsing).  Diagnostics go to /dev/null.  Every
 * tree and program is freed, so LeakSanitizer sees any leak on any path.
 * Built by `make fuzz` (see tests/fuzz/run.sh).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ganc.h"
#include "ast.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FILE *null = fopen("/dev/null", "w");
    if (!null) abort();
    diag_set_stream(null);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = malloc(size + 1);
    if (!src) return 0;
    memcpy(src, data, size);
    src[size] = 0;
    diag_reset();
    struct Ast *ast = parse_source("fuzz.gan", src);
    if (ast) {
        Program *p = sema_program(ast, "fuzz.gan", src);
        if (p && diag_errors()) abort();   /* sema_program returns NULL after errors */
        sema_free(p);
        ast_free(ast);
    }
    free(src);
    return 0;
}
