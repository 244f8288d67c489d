/* split.c: the module compiled in parts, in parallel.
 *
 * LLVM optimises and emits a module on one core, and that is most of
 * ganc's time.  The kernels are independent functions, so the module is
 * split into n parts, each a module in a context of its own (LLVM is
 * thread-safe across contexts), verified, optimised and emitted to an
 * object file by a thread of its own with a target machine of its own.
 * Part 0 keeps the step functions and the model table; kernel bodies go to
 * the least loaded part, largest first (load: instructions before
 * optimisation), each with the kernels that call it.  A kernel called from
 * another part becomes an external symbol of hidden visibility (its name
 * k<N>_<what> is unique in the program); the math helpers are copied into
 * every part.  The split depends only on the module and n, so a program
 * compiles to the same code every time.
 * Requires a module from cg_module(); the native target initialised
 * (cg_target() does it).
 */
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Core.h>
#include "ganc.h"
#include "cg.h"

/* One part: its owner table (shared), target and object file. */
typedef struct {
    LLVMModuleRef m;            /* part 0: the module itself */
    LLVMMemoryBufferRef bc;     /* other parts: the module as bitcode */
    const int *owner;
    int nf, part;
    LLVMTargetMachineRef tm;
    const char *path;
    int ok;
} Part;

static int fn_size(LLVMValueRef f)
{
    int n = 0;
    for (LLVMBasicBlockRef b = LLVMGetFirstBasicBlock(f); b; b = LLVMGetNextBasicBlock(b))
        for (LLVMValueRef i = LLVMGetFirstInstruction(b); i; i = LLVMGetNextInstruction(i)) n++;
    return n;
}

static int fn_index(LLVMValueRef *fns, int nf, LLVMValueRef f)
{
    for (int k = 0; k < nf; k++)
        if (fns[k] == f) return k;
    return -1;
}

/* Marks in is[] the functions defined in the module that f's instructions
 * use (calls, and kernels handed to ganrt_parallel); returns the last such
 * function's index, or -1. */
static int uses(LLVMValueRef f, LLVMValueRef *fns, int nf, char *is)
{
    int last = -1;
    for (LLVMBasicBlockRef b = LLVMGetFirstBasicBlock(f); b; b = LLVMGetNextBasicBlock(b))
        for (LLVMValueRef i = LLVMGetFirstInstruction(b); i; i = LLVMGetNextInstruction(i))
            for (int k = 0; k < LLVMGetNumOperands(i); k++) {
                LLVMValueRef v = LLVMGetOperand(i, (unsigned)k);
                int j = LLVMIsAFunction(v) && !LLVMIsDeclaration(v) ? fn_index(fns, nf, v) : -1;
                if (j >= 0) is[last = j] = 1;
            }
    return last;
}

/* A body to place: its size and index, ordered largest first (then by
 * index, so that the order is the same on every run). */
typedef struct { int size, k; } Item;

static int largest_first(const void *a, const void *b)
{
    const Item *x = a, *y = b;
    return x->size != y->size ? y->size - x->size : x->k - y->k;
}

/* Gives each of the nb bodies in order[] the least loaded part. */
static void deal(Item *order, int nb, int n, int64_t *load, int *owner)
{
    qsort(order, (size_t)nb, sizeof *order, largest_first);
    for (int q = 0; q < nb; q++) {
        int best = 0;
        for (int p = 1; p < n; p++)
            if (load[p] < load[best]) best = p;
        owner[order[q].k] = best;
        load[best] += order[q].size;
    }
}

/* The part of each function of m, in module order (-1: every part keeps a
 * copy).  Roots are the exported functions (part 0); kernels are what the
 * roots use, bodies what a kernel calls (it calls one), helpers the rest.
 * Kernels that another part calls are made hidden external symbols. */
static int *plan(LLVMModuleRef m, int n, int *nf_out)
{
    int nf = 0;
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) nf++;
    LLVMValueRef *fns = malloc((size_t)nf * sizeof *fns);
    int *owner = malloc((size_t)nf * sizeof *owner), *body_of = malloc((size_t)nf * sizeof *body_of);
    Item *order = malloc((size_t)nf * sizeof *order);
    char *kernel = calloc((size_t)nf, 1), *body = calloc((size_t)nf, 1);
    int64_t load[SPLIT_MAX] = {0};
    ir_assert(fns && owner && body_of && order && kernel && body);
    nf = 0;
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) fns[nf++] = f;
    for (int k = 0; k < nf; k++) {
        owner[k] = -1;
        if (!LLVMIsDeclaration(fns[k]) && LLVMGetLinkage(fns[k]) != LLVMInternalLinkage) {
            owner[k] = 0;
            load[0] += fn_size(fns[k]);
            uses(fns[k], fns, nf, kernel);
        }
    }
    for (int k = 0; k < nf; k++) body_of[k] = kernel[k] ? uses(fns[k], fns, nf, body) : -1;
    int nb = 0;
    for (int k = 0; k < nf; k++)
        if (body[k] && !kernel[k]) order[nb++] = (Item){fn_size(fns[k]), k};
    deal(order, nb, n, load, owner);
    for (int k = 0; k < nf; k++) {
        if (!kernel[k]) continue;
        owner[k] = body_of[k] >= 0 ? owner[body_of[k]] : 0;
        if (owner[k] != 0) {
            LLVMSetLinkage(fns[k], LLVMExternalLinkage);
            LLVMSetVisibility(fns[k], LLVMHiddenVisibility);
        }
    }
    free(fns); free(body_of); free(order); free(kernel); free(body);
    *nf_out = nf;
    return owner;
}

/* Replaces function f by a declaration of the same name (hidden: it is
 * defined in another part of the same program). */
static void drop_body(LLVMModuleRef m, LLVMValueRef f)
{
    size_t len;
    const char *name = LLVMGetValueName2(f, &len);
    char *copy = malloc(len + 1);
    ir_assert(copy);
    memcpy(copy, name, len);
    copy[len] = 0;
    LLVMValueRef d = LLVMAddFunction(m, "", LLVMGlobalGetValueType(f));
    LLVMSetVisibility(d, LLVMHiddenVisibility);
    LLVMReplaceAllUsesWith(f, d);
    LLVMDeleteFunction(f);
    LLVMSetValueName2(d, copy, len);
    free(copy);
}

/* Whether v is used by an instruction, directly or through constant
 * expressions (a product's kernel passes its epilogue as an integer). */
static int used(LLVMValueRef v)
{
    for (LLVMUseRef u = LLVMGetFirstUse(v); u; u = LLVMGetNextUse(u)) {
        LLVMValueRef user = LLVMGetUser(u);
        if (!LLVMIsAConstantExpr(user) || used(user)) return 1;
    }
    return 0;
}

/* Leaves in m (a copy of the whole module) only part p's functions. */
static void keep_part(LLVMModuleRef m, const int *owner, int nf, int p)
{
    LLVMValueRef *fns = malloc((size_t)nf * sizeof *fns);
    ir_assert(fns);
    int k = 0;
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
        ir_assert(k < nf);
        fns[k++] = f;
    }
    ir_assert(k == nf);
    for (k = 0; k < nf; k++)
        if (owner[k] >= 0 && owner[k] != p && !LLVMIsDeclaration(fns[k])) drop_body(m, fns[k]);
    free(fns);
    LLVMValueRef model = LLVMGetNamedGlobal(m, "ganc_model");
    if (p != 0 && model) LLVMDeleteGlobal(model);   /* what it refers to is then dead: LLVM drops it */
    /* helpers (epilogues, math) that this part's code does not use: out
     * before the optimiser spends time on them */
    for (int again = 1; again;) {
        again = 0;
        for (LLVMValueRef f = LLVMGetFirstFunction(m), next; f; f = next) {
            next = LLVMGetNextFunction(f);
            if (LLVMIsDeclaration(f) || LLVMGetLinkage(f) != LLVMInternalLinkage || used(f)) continue;
            LLVMReplaceAllUsesWith(f, LLVMConstNull(LLVMTypeOf(f)));   /* dead constant expressions */
            LLVMDeleteFunction(f);
            again = 1;
        }
    }
    for (LLVMValueRef f = LLVMGetFirstFunction(m), next; f; f = next) {
        next = LLVMGetNextFunction(f);
        if (LLVMIsDeclaration(f) && !LLVMGetFirstUse(f)) LLVMDeleteFunction(f);
    }
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *compile_part(void *arg)
{
    double t0 = seconds(), t1, t2, t3;
    Part *p = arg;
    LLVMContextRef cx = NULL;
    LLVMModuleRef m = p->m;
    p->ok = 0;
    if (!m) {
        cx = LLVMContextCreate();
        if (LLVMParseBitcodeInContext2(cx, p->bc, &m)) {
            fprintf(stderr, "ganc: internal error: cannot read back the module's bitcode\n");
            LLVMContextDispose(cx);
            return NULL;
        }
    }
    keep_part(m, p->owner, p->nf, p->part);
    t1 = seconds();
    p->ok = cg_optimize(m, p->tm);
    t2 = seconds();
    p->ok = p->ok && cg_emit_file(m, p->tm, p->path, 0);
    t3 = seconds();
    if (getenv("GANC_TIME"))
        fprintf(stderr, "ganc: part %d: read %.3f  opt %.3f  emit %.3f  s\n", p->part, t1 - t0, t2 - t1, t3 - t2);
    if (cx) {
        LLVMDisposeModule(m);
        LLVMContextDispose(cx);
    }
    if (getenv("GANC_TIME")) fprintf(stderr, "ganc: part %d: dispose %.3f s\n", p->part, seconds() - t3);
    return NULL;
}

int split_compile(LLVMModuleRef m, LLVMTargetMachineRef tm, const char *cpu, const char *features, int n,
                  char *const *paths)
{
    ir_assert(n >= 1 && n <= SPLIT_MAX);
    int nf, vw, ok = 1;
    int *owner = plan(m, n, &nf);
    Part part[SPLIT_MAX];
    pthread_t th[SPLIT_MAX];
    int started[SPLIT_MAX] = {0};
    double t0 = seconds();
    LLVMMemoryBufferRef bc = n > 1 ? LLVMWriteBitcodeToMemoryBuffer(m) : NULL;
    if (getenv("GANC_TIME")) fprintf(stderr, "ganc: bitcode  %.3f s\n", seconds() - t0);
    for (int p = 0; p < n; p++) {
        part[p] = (Part){.m = p ? NULL : m, .bc = bc, .owner = owner, .nf = nf, .part = p,
                         .tm = p ? cg_target(cpu, features, &vw) : tm, .path = paths[p]};
    }
    for (int p = 1; p < n; p++) started[p] = pthread_create(&th[p], NULL, compile_part, &part[p]) == 0;
    compile_part(&part[0]);
    for (int p = 1; p < n; p++) {
        if (started[p]) pthread_join(th[p], NULL);
        else compile_part(&part[p]);   /* no thread to be had: here, then */
        ok &= part[p].ok;
        LLVMDisposeTargetMachine(part[p].tm);
    }
    ok &= part[0].ok;
    if (bc) LLVMDisposeMemoryBuffer(bc);
    free(owner);
    return ok;
}
