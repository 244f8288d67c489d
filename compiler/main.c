/* main.c: the ganc driver.  The pipeline reads top to bottom in compile():
 * read, parse, check, simplify, differentiate and plan, generate, optimise,
 * emit, link.  --emit=STAGE stops after a stage and prints what it made.
 * For measuring the compiler: $GANC_TIME prints each stage's wall time (and
 * each part's, split.c), $GANC_PARTS sets the number of parts compiled in
 * parallel, $GANC_LLVM_ARGS passes one option to LLVM (e.g. -time-passes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <llvm-c/Core.h>
#include <llvm-c/Support.h>
#include "ganc.h"
#include "ast.h"
#include "cg.h"
#include "link.h"

static const char usage[] =
    "usage: ganc FILE.gan [-o OUT] [--emit=STAGE] [--check] [--cpu NAME] [--features LIST]\n"
    "\n"
    "Compiles a GAN described in FILE.gan into an executable that trains it\n"
    "(OUT defaults to the file's base name).  Run OUT --help for what it does.\n"
    "\n"
    "  -o OUT          output file\n"
    "  --check         stop after checking the program (no output)\n"
    "  --emit=STAGE    stop after STAGE and write what it made (to OUT or stdout):\n"
    "                  tokens ast ir grad fused llvm asm obj\n"
    "  --cpu NAME      target CPU (default: this machine's)\n"
    "  --features L    target features, LLVM syntax (default: this machine's)\n"
    "  --sanitize      link the program with AddressSanitizer and UBSan\n"
    "  -h, --help      this text\n";

typedef struct {
    const char *in, *out, *emit, *cpu, *features;
    int check, sanitize;
} Options;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, r;
    char *buf = malloc(cap + 1);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) { free(buf); return NULL; }
    buf[n] = 0;
    if (strlen(buf) != n) { free(buf); errno = EINVAL; return NULL; }
    return buf;
}

static FILE *open_out(const Options *o)
{
    if (!o->out || !strcmp(o->out, "-")) return stdout;
    FILE *f = fopen(o->out, "w");
    if (!f) fprintf(stderr, "ganc: error: cannot write %s: %s\n", o->out, strerror(errno));
    return f;
}

static int done_out(FILE *f)
{
    if (f == stdout) return fflush(f) == 0;
    return fclose(f) == 0;
}

/* Writes a stage's listing to OUT or stdout; 0 on success. */
static int emit_listing(const Options *o, void (*print)(FILE *, const void *), const void *what)
{
    FILE *f = open_out(o);
    if (!f) return 1;
    print(f, what);
    return done_out(f) ? 0 : 1;
}

static void print_tokens(FILE *f, const void *src) { parse_dump_tokens(f, ((const char *const *)src)[0], ((const char *const *)src)[1]); }
static void print_ast(FILE *f, const void *a) { ast_print(f, a); }
static void print_grad(FILE *f, const void *s) { sched_print_grad(f, s); }
static void print_fused(FILE *f, const void *s) { sched_print(f, s); }

static void print_ir(FILE *f, const void *pv)
{
    Program *p = (Program *)pv;
    int roots[6] = {p->fake, p->sample, p->d_loss, p->g_loss, p->d_real, p->d_fake};
    simplify(&p->g, roots, 6);
    ir_print(f, p->g, NULL, 0);
    fprintf(f, "  fake = %%%d\n  sample = %%%d\n  d_loss = %%%d\n  g_loss = %%%d\n", roots[0], roots[1], roots[2], roots[3]);
}

/* $GANC_TIME: each stage's wall time on stderr. */
static void stage(const char *what)
{
    static double last;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double now = (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
    if (what && getenv("GANC_TIME")) fprintf(stderr, "ganc: %-8s %.3f s\n", what, now - last);
    last = now;
}

/* Parts to compile in: one per CPU, for split_compile(). */
static int parts(void)
{
    const char *env = getenv("GANC_PARTS");
    long n = env && *env ? atol(env) : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > SPLIT_MAX ? SPLIT_MAX : (int)n;
}

/* Compiles m in parts to temporary objects and links them into the
 * executable; 0 on success. */
static int build_exe(const Options *o, const Program *p, LLVMModuleRef m, LLVMTargetMachineRef tm)
{
    int n = parts(), made = 0, rc = 1;
    char obj[SPLIT_MAX][32], *objs[SPLIT_MAX];
    for (; made < n; made++) {
        snprintf(obj[made], sizeof obj[made], "/tmp/ganc-XXXXXX.o");
        int fd = mkstemps(obj[made], 2);
        if (fd < 0) {
            perror("ganc: error: temporary object");
            goto done;
        }
        close(fd);
        objs[made] = obj[made];
    }
    int ok = split_compile(m, tm, o->cpu, o->features, n, objs);
    stage("compile");
    ok = ok && link_exe(objs, n, o->out ? o->out : p->name, o->sanitize);
    stage("link");
    rc = ok ? 0 : 1;
done:
    while (made > 0) unlink(obj[--made]);
    return rc;
}

/* Emits the optimised module as a listing, assembly or object (one module,
 * one file), or compiles it in parts and links the executable; 0 on success. */
static int back_end(const Options *o, const Program *p, const Schedule *s)
{
    const char *emit = o->emit ? o->emit : "";
    int vw, rc = 1;
    LLVMTargetMachineRef tm = cg_target(o->cpu, o->features, &vw);    /* generate */
    LLVMContextRef cx = LLVMContextCreate();
    LLVMModuleRef m = cg_module(s, cx, tm, vw);
    stage("generate");
    if (!*emit) {                                                     /* optimise, emit, link */
        rc = build_exe(o, p, m, tm);
    } else if (!cg_optimize(m, tm)) {                                 /* verify, optimise */
        rc = 1;
    } else if (!strcmp(emit, "llvm")) {
        char *txt = LLVMPrintModuleToString(m);
        FILE *f = open_out(o);
        if (f) {
            fputs(txt, f);
            rc = done_out(f) ? 0 : 1;
        }
        LLVMDisposeMessage(txt);
    } else if (!strcmp(emit, "asm")) {
        rc = cg_emit_file(m, tm, o->out ? o->out : "/dev/stdout", 1) ? 0 : 1;
    } else if (!strcmp(emit, "obj")) {
        rc = cg_emit_file(m, tm, o->out ? o->out : "out.o", 0) ? 0 : 1;
    }
    LLVMDisposeModule(m);
    LLVMContextDispose(cx);
    LLVMDisposeTargetMachine(tm);
    stage("dispose");
    return rc;
}

static int compile(const Options *o)
{
    /* No loop strength reduction in the back end: a third of the code
     * generation's time for bench/dcgan64.gan (llc -time-passes), and the
     * loops that matter step pointers themselves (cg.c mm_tile) */
    const char *llvm_args = getenv("GANC_LLVM_ARGS");
    const char *av[3] = {"ganc", "-disable-lsr", llvm_args};
    LLVMParseCommandLineOptions(llvm_args ? 3 : 2, av, NULL);
    stage(NULL);
    char *src = read_file(o->in);
    if (!src) {
        fprintf(stderr, "ganc: error: cannot read %s: %s\n", o->in, errno == EINVAL ? "not a text file" : strerror(errno));
        return 1;
    }
    const char *emit = o->emit ? o->emit : "";
    struct Ast *ast = NULL;
    Program *p = NULL;
    Schedule *s = NULL;
    int rc = 1;
    if (!strcmp(emit, "tokens")) {
        const char *args[2] = {o->in, src};
        diag_source(o->in, src);
        rc = emit_listing(o, print_tokens, args) || diag_errors();
        goto done;
    }
    ast = parse_source(o->in, src);                                   /* parse */
    if (!ast || diag_errors()) goto done;
    if (!strcmp(emit, "ast")) {
        rc = emit_listing(o, print_ast, ast);
        goto done;
    }
    p = sema_program(ast, o->in, src);                                /* check */
    if (!p || diag_errors()) goto done;
    if (o->check) {
        rc = 0;
        goto done;
    }
    if (!strcmp(emit, "ir")) {
        rc = emit_listing(o, print_ir, p);
        goto done;
    }
    s = sched_build(p);                                               /* differentiate, fuse, plan */
    if (!strcmp(emit, "grad") || !strcmp(emit, "fused")) {
        rc = emit_listing(o, !strcmp(emit, "grad") ? print_grad : print_fused, s);
        goto done;
    }
    stage("front");
    rc = back_end(o, p, s);                                           /* generate, emit, link */
done:
    sched_free(s);
    sema_free(p);
    ast_free(ast);
    free(src);
    return rc;
}

int main(int argc, char **argv)
{
    Options o = {0};
    static const char *stages[] = {"tokens", "ast", "ir", "grad", "fused", "llvm", "asm", "obj", NULL};
    for (int k = 1; k < argc; k++) {
        const char *a = argv[k];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(usage, stdout); return 0; }
        else if (!strcmp(a, "-o") && k + 1 < argc) o.out = argv[++k];
        else if (!strcmp(a, "--check")) o.check = 1;
        else if (!strcmp(a, "--sanitize")) o.sanitize = 1;
        else if (!strncmp(a, "--emit=", 7)) {
            o.emit = a + 7;
            int ok = 0;
            for (int s = 0; stages[s]; s++) ok |= !strcmp(o.emit, stages[s]);
            if (!ok) { fprintf(stderr, "ganc: error: unknown stage '%s' for --emit (tokens ast ir grad fused llvm asm obj)\n", o.emit); return 2; }
        }
        else if (!strcmp(a, "--cpu") && k + 1 < argc) o.cpu = argv[++k];
        else if (!strcmp(a, "--features") && k + 1 < argc) o.features = argv[++k];
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "ganc: error: unknown option '%s'\n%s", a, usage); return 2; }
        else if (o.in) { fprintf(stderr, "ganc: error: more than one input file ('%s' and '%s')\n", o.in, a); return 2; }
        else o.in = a;
    }
    if (!o.in) { fputs(usage, stderr); return 2; }
    return compile(&o);
}
