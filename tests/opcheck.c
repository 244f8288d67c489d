/* opcheck.c: the op-level test suite of ganc.
 *
 * For every row of the op table (compiler/ops.h) it builds small graphs and
 * runs up to two checks per graph, printing one TAP-style line each:
 *   grad/<op>[/variant]    gradients from grad_build, evaluated on the
 *                          reference interpreter, against central differences
 *                          of the interpreter (ops with a gradient rule);
 *   kernel/<op>[/variant]  the graph with its gradient nodes compiled by
 *                          sched_graph + cg_module, JIT-compiled with MCJIT,
 *                          against the interpreter (every op).
 * plus wide-range checks of the transcendental kernels and
 *   simplify/<form>        simplify() rewrites the literal GAN objectives into
 *                          stable forms that keep their values.
 * An op of the table without any check is a failure ("no check"), so adding
 * an op without a test fails the suite.  Exits 1 if any check failed.
 * Usage: build/opcheck [-v]   (-v: also print passing details)
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <llvm-c/Core.h>
#include <llvm-c/ExecutionEngine.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include "ganc.h"
#include "cg.h"
#include "ganrt.h"

static const Loc L = {"opcheck", 0, 0, 0};
static int verbose;
/* Counters shared with the child processes each case runs in. */
typedef struct {
    int pass, fail;
    int64_t par_calls;          /* ganrt_parallel calls: the split path ran */
    int op_checks[OP_COUNT];    /* checks run per op */
} Counts;
static Counts *C;

/* ---------- results ---------- */

static void result(int ok, const char *name, const char *detail)
{
    if (ok) C->pass++; else C->fail++;
    printf("%sok - %s%s%s\n", ok ? "" : "not ", name, detail && detail[0] && (!ok || verbose) ? ": " : "",
           detail && (!ok || verbose) ? detail : "");
    fflush(stdout);
}

/* ---------- isolation: every case runs in a child process ----------
 * An internal error (ir_die -> abort) or a crash in one case is reported as
 * that case's failure and the suite goes on:
 *     ISOLATED(op, label) { ...the case... }
 */
static int isolate_begin(Op op, const char *label)
{
    fflush(stdout);
    fflush(stderr);
    FILE *err = tmpfile();
    pid_t pid = fork();
    if (pid < 0) { perror("opcheck: fork"); exit(2); }
    if (pid == 0) {
        if (err) dup2(fileno(err), 2);
        return 1;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char msg[400] = "", name[300];
        if (err) {
            rewind(err);
            size_t n = fread(msg, 1, sizeof msg - 1, err);
            msg[n] = 0;
            for (char *q = msg; *q; q++) if (*q == '\n') *q = ' ';
        }
        snprintf(name, sizeof name, "%s: crashed (%s %d)", label, WIFSIGNALED(st) ? "signal" : "exit",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        C->fail++;
        C->op_checks[op]++;
        printf("not ok - %s%s%s\n", name, msg[0] ? ": " : "", msg);
        fflush(stdout);
    }
    if (err) fclose(err);
    return 0;
}

static int isolate_end(void)
{
    fflush(stdout);
    fflush(stderr);
    _exit(0);
}

/* A label for ISOLATED, formatted (static buffer: used at once). */
static const char *labf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *labf(const char *fmt, ...)
{
    static char buf[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

#define ISOLATED(op, label) for (int once_ = isolate_begin(op, label); once_; once_ = isolate_end())

/* ---------- random values (xorshift64*, fixed seed: reproducible) ---------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double u01(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

/* Values are rounded to float so the compiled kernels and the interpreter
 * see the same inputs. */
static double fl(double v) { return (double)(float)v; }

/* ---------- a test graph with preset source values ---------- */

#define MAXN 4096
typedef struct {
    Graph *g;
    double *pre[MAXN];   /* preset values of INPUT/PARAM/DROPMASK nodes, by id */
    char diff[MAXN];     /* differentiate w.r.t. this source */
} T;

static T *t_new(void)
{
    T *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->g = ir_new();
    return t;
}

static void t_free(T *t)
{
    for (int k = 0; k < MAXN; k++) free(t->pre[k]);
    ir_free(t->g);
    free(t);
}

static int is_preset(Op op) { return op == OP_INPUT || op == OP_PARAM || op == OP_DROPMASK; }

/* A source of shape s with values uniform in [lo, hi], times a random sign
 * if sym (so sym with lo > 0 keeps values away from 0). */
static int t_src(T *t, Op op, Shape s, double lo, double hi, int sym, int diff)
{
    int id = ir_source(t->g, op, s, NULL, NULL, NULL, L);
    if (id < 0 || id >= MAXN) abort();
    int64_t n = ir_numel(s);
    t->pre[id] = malloc((size_t)(n ? n : 1) * sizeof(double));
    if (!t->pre[id]) abort();
    for (int64_t e = 0; e < n; e++) {
        double v = lo + (hi - lo) * u01();
        if (sym && u01() < 0.5) v = -v;
        t->pre[id][e] = fl(v);
    }
    t->diff[id] = (char)diff;
    return id;
}

/* Differentiable operands alternate between PARAM and INPUT nodes. */
static int t_var(T *t, Shape s, double lo, double hi, int sym)
{
    static int flip;
    flip ^= 1;
    return t_src(t, flip ? OP_PARAM : OP_INPUT, s, lo, hi, sym, 1);
}

/* A dropout mask preset to random 0 / 1/(1-p) values. */
static int t_mask(T *t, Shape s, double p)
{
    double f[2] = {p, 0};
    int id = ir_source(t->g, OP_DROPMASK, s, f, NULL, NULL, L);
    if (id < 0 || id >= MAXN) abort();
    int64_t n = ir_numel(s);
    t->pre[id] = malloc((size_t)(n ? n : 1) * sizeof(double));
    if (!t->pre[id]) abort();
    for (int64_t e = 0; e < n; e++) t->pre[id][e] = u01() < p ? 0 : fl(1 / (1 - p));
    return id;
}

static int un_f(Graph *g, Op op, int a, double f0)
{
    double f[2] = {f0, 0};
    int id = ir_add(g, op, &a, 1, f, NULL, L);
    if (id < 0) { fprintf(stderr, "opcheck: %s\n", g->err); abort(); }
    return id;
}

static int bin_f(Graph *g, Op op, int a, int b, double f0)
{
    double f[2] = {f0, 0};
    int in[2] = {a, b};
    int id = ir_add(g, op, in, 2, f, NULL, L);
    if (id < 0) { fprintf(stderr, "opcheck: %s\n", g->err); abort(); }
    return id;
}

static int must(Graph *g, int id)
{
    if (id < 0) { fprintf(stderr, "opcheck: graph construction: %s\n", g->err); abort(); }
    return id;
}

/* ---------- the interpreter ---------- */

/* Evaluates the first `len` nodes of g with sources preset from pre[];
 * the result is freed with interp_done. */
static double **interp_eval(const Graph *g, int len, double *const *pre)
{
    Graph view = *g;
    view.len = len;
    double **v = calloc((size_t)len + 1, sizeof *v);
    if (!v) abort();
    for (int id = 0; id < len; id++)
        if (is_preset(g->n[id].op)) v[id] = pre[id];
    interp_run(&view, v);
    return v;
}

static void interp_done(const Graph *g, int len, double **v)
{
    Graph view = *g;
    view.len = len;
    interp_free(&view, v);
    free(v);
}

/* ---------- the JIT ---------- */

static LLVMTargetMachineRef tm;
static int vw;
static char *host_cpu, *host_features;

/* The runtime's thread pool, here: three uneven chunks run in reverse order,
 * empty chunks included, to exercise every kernel's [lo, hi) handling. */
void ganrt_parallel(GanrtKernel k, float *arena, int64_t n, int64_t grain)
{
    int64_t c1 = n / 7, c2 = n * 3 / 5;
    C->par_calls++;
    k(arena, c2, n);
    k(arena, c1, c2);
    k(arena, 0, c1);
}

/* Compiles outs[] of g and runs the result on the sources pre[];
 * res[k] receives a malloc'd float copy of outs[k].  Returns 0 with a
 * message in err on failure. */
static int jit_run(Graph *g, const int *outs, int n, double *const *pre, uint32_t seed, float **res, char *err,
                   size_t errn)
{
    Schedule *s = sched_graph(g, outs, n);
    if (getenv("OPCHECK_DEBUG")) {
        ir_print(stderr, g, NULL, 0);
        sched_print(stderr, s);
        for (int id = 0; id < g->len; id++) fprintf(stderr, "  off[%%%d] = %lld\n", id, (long long)s->off[id]);
    }
    LLVMContextRef cx = LLVMContextCreate();
    LLVMModuleRef m = cg_module(s, cx, tm, vw);
    for (LLVMValueRef fn = LLVMGetFirstFunction(m); fn; fn = LLVMGetNextFunction(fn))
        if (!LLVMIsDeclaration(fn)) {
            LLVMAddTargetDependentFunctionAttr(fn, "target-cpu", host_cpu);
            LLVMAddTargetDependentFunctionAttr(fn, "target-features", host_features);
        }
    if (!cg_optimize(m, tm)) {
        snprintf(err, errn, "cg_optimize failed");
        LLVMDisposeModule(m);
        LLVMContextDispose(cx);
        sched_free(s);
        return 0;
    }
    struct LLVMMCJITCompilerOptions o;
    LLVMInitializeMCJITCompilerOptions(&o, sizeof o);
    o.OptLevel = 2;
    LLVMExecutionEngineRef ee;
    char *msg = NULL;
    if (LLVMCreateMCJITCompilerForModule(&ee, m, &o, sizeof o, &msg)) {
        snprintf(err, errn, "MCJIT: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        LLVMContextDispose(cx);
        sched_free(s);
        return 0;
    }
    uint64_t addr = LLVMGetFunctionAddress(ee, "ganc_g_forward");
    if (!addr) {
        snprintf(err, errn, "no ganc_g_forward");
        LLVMDisposeExecutionEngine(ee);
        LLVMContextDispose(cx);
        sched_free(s);
        return 0;
    }
    void (*fwd)(float *) = (void (*)(float *))(uintptr_t)addr;
    size_t bytes = ((size_t)s->arena * sizeof(float) + 63) / 64 * 64;
    float *arena = aligned_alloc(64, bytes ? bytes : 64);
    if (!arena) abort();
    /* NaN everywhere (reading memory nothing wrote shows), zero scalars */
    for (int64_t e = 0; e < s->arena; e++) arena[e] = NAN;
    for (int k = 0; k < GANRT_S_COUNT; k++) arena[s->scalars + k] = 0;
    memcpy(&arena[s->scalars + GANRT_S_SEED], &seed, sizeof seed);
    for (int id = 0; id < g->len; id++)
        if (g->n[id].op == OP_INPUT || g->n[id].op == OP_PARAM) {
            if (s->off[id] < 0) continue;
            for (int64_t e = 0; e < ir_numel(g->n[id].shape); e++) arena[s->off[id] + e] = (float)pre[id][e];
        }
    fwd(arena);
    int ok = 1;
    for (int k = 0; k < n; k++) {
        int64_t len = ir_numel(g->n[outs[k]].shape);
        res[k] = malloc((size_t)(len ? len : 1) * sizeof(float));
        if (!res[k]) abort();
        if (s->off[outs[k]] < 0) {
            snprintf(err, errn, "output %%%d has no arena offset", outs[k]);
            ok = 0;
            for (int64_t e = 0; e < len; e++) res[k][e] = NAN;
            continue;
        }
        memcpy(res[k], arena + s->off[outs[k]], (size_t)len * sizeof(float));
    }
    free(arena);
    LLVMDisposeExecutionEngine(ee);
    LLVMContextDispose(cx);
    sched_free(s);
    return ok;
}

/* ---------- comparison ---------- */

enum { TOL_MAX1, TOL_REL };   /* |a-b| <= tol*max(1,|b|)  or  tol*|b| (+1e-37) */

static int close_enough(double a, double b, double tol, int mode)
{
    if (isnan(b)) return isnan(a);
    if (isinf(b)) return a == b;
    if (!isfinite(a)) return 0;
    double scale = mode == TOL_MAX1 ? fmax(1, fabs(b)) : fabs(b);
    return fabs(a - b) <= tol * scale + (mode == TOL_REL ? 1e-37 : 0);
}

/* Compares float results with the interpreter's doubles; on a mismatch
 * appends the first bad element to err and returns 0. */

/* A sum's rounding error scales with the sum of the magnitudes of its terms,
 * not with its value: the tolerance of a reduce_sum element is relative to
 * that (v: the interpreter's values of the graph). */
static int compare(const Graph *g, int id, const float *a, double *const *v, double tol, int mode, char *err,
                   size_t errn)
{
    const double *b = v[id];
    int64_t n = ir_numel(g->n[id].shape), bad = 0, first = -1;
    double *mag = NULL;
    if (g->n[id].op == OP_REDUCE) {
        int in = g->n[id].in[0];
        Shape as = g->n[in].shape;
        mag = calloc((size_t)(n ? n : 1), sizeof *mag);
        if (!mag) abort();
        for (int64_t e = 0; e < ir_numel(as); e++) mag[ir_map_index(as, (MapMode)g->n[id].i[0], e)] += fabs(v[in][e]);
    }
    for (int64_t e = 0; e < n; e++)
        if (mag ? !(fabs(a[e] - b[e]) <= tol * fmax(1, mag[e])) : !close_enough(a[e], b[e], tol, mode)) {
            if (first < 0) first = e;
            bad++;
        }
    if (!bad) { free(mag); return 1; }
    char sb[64];
    size_t o = strlen(err);
    snprintf(err + o, errn - o, "%s%%%d %s %s: %lld/%lld elements differ, first [%lld] got %.9g want %.9g",
             o ? "; " : "", id, ir_ops[g->n[id].op].name, ir_shape_str(g->n[id].shape, sb, sizeof sb),
             (long long)bad, (long long)n, (long long)first, (double)a[first], b[first]);
    free(mag);
    return 0;
}

/* ---------- kernel check ---------- */

static Graph *graph_clone(const Graph *g)
{
    Graph *c = ir_new();
    *c = *g;
    c->cap = g->len ? g->len : 1;
    c->n = malloc((size_t)c->cap * sizeof *c->n);
    if (!c->n) abort();
    memcpy(c->n, g->n, (size_t)g->len * sizeof *c->n);
    return c;
}

/* Compiles outs0[] of t's graph and compares with the interpreter.
 * Products with b transposed are lowered first (simplify_lower), as
 * sched_build does: the compiled product reads b row-major.  Dropout masks
 * are computed by the kernel from the seed, so they are made outputs too and
 * the interpreter is rerun with the kernel's masks (checked to be 0 or
 * 1/(1-p)). */
static int kernel_check(T *t, const int *outs0, int n0, const char *name, double tol, int mode)
{
    Graph *g = t->g, *kg = g;
    char err[1024] = "";
    int n = 0, nr = 0, lower = 0, ok = 1;
    int *roots = malloc(((size_t)g->len + (size_t)n0 + 1) * sizeof *roots);
    if (!roots) abort();
    for (int k = 0; k < n0; k++) roots[n++] = outs0[k];
    for (int id = 0; id < g->len; id++) {
        if (g->n[id].op == OP_DROPMASK) roots[n++] = id;
        if (g->n[id].op == OP_MATMUL && g->n[id].i[1]) lower = 1;
    }
    nr = n;
    double **kpre;
    if (lower) {
        for (int id = 0; id < g->len; id++)
            if (is_preset(g->n[id].op)) roots[nr++] = id;
        kg = graph_clone(g);
        simplify_lower(&kg, roots, nr);
        kpre = calloc((size_t)kg->len + 1, sizeof *kpre);
        if (!kpre) abort();
        int q = n;
        for (int id = 0; id < g->len; id++)
            if (is_preset(g->n[id].op)) kpre[roots[q++]] = t->pre[id];
        for (int id = 0; id < kg->len; id++)
            if (kg->n[id].op == OP_MATMUL && kg->n[id].i[1] && !simplify_keeps_bt(kg, &kg->n[id])) {
                snprintf(err, sizeof err, "simplify_lower left a product the back end cannot compile");
                ok = 0;
            }
    } else {
        kpre = calloc((size_t)g->len + 1, sizeof *kpre);
        if (!kpre) abort();
        for (int id = 0; id < g->len; id++) kpre[id] = t->pre[id];
    }
    float **res = calloc((size_t)n + 1, sizeof *res);
    double **own = calloc((size_t)kg->len + 1, sizeof *own);
    if (!res || !own) abort();
    if (ok) ok = jit_run(kg, roots, n, kpre, 0x5EED1234u, res, err, sizeof err);
    if (ok) {
        /* the kernel's masks become the interpreter's */
        for (int k = n0; k < n; k++) {
            int id = roots[k];
            int64_t len = ir_numel(kg->n[id].shape);
            float keep = (float)(1 / (1 - kg->n[id].f[0]));
            own[id] = malloc((size_t)(len ? len : 1) * sizeof(double));
            if (!own[id]) abort();
            for (int64_t e = 0; e < len; e++) {
                own[id][e] = res[k][e];
                if (res[k][e] != 0 && res[k][e] != keep && ok) {
                    snprintf(err, sizeof err, "dropout mask value %.9g is neither 0 nor %.9g", (double)res[k][e],
                             (double)keep);
                    ok = 0;
                }
            }
            kpre[id] = own[id];
        }
        double **v = interp_eval(kg, kg->len, kpre);
        for (int k = 0; k < n0; k++)
            if (!compare(kg, roots[k], res[k], v, tol, mode, err, sizeof err)) ok = 0;
        interp_done(kg, kg->len, v);
    }
    char kname[256];
    snprintf(kname, sizeof kname, "kernel/%s", name);
    if (lower && ok && verbose) snprintf(err, sizeof err, "lowered with simplify_lower");
    result(ok, kname, err);
    for (int k = 0; k < n; k++) free(res[k]);
    for (int id = 0; id < kg->len; id++) free(own[id]);
    free(res); free(own); free(kpre); free(roots);
    if (kg != g) ir_free(kg);
    return ok;
}

/* ---------- gradient check ---------- */

/* Max over elements of |analytic - numeric| / max(1, |numeric|). */
static int grad_check(T *t, int loss, int lenF, const int *wrt, const int *grads, int nw, const char *name)
{
    Graph *g = t->g;
    double **v = interp_eval(g, g->len, t->pre);
    double worst = 0;
    char where[200] = "";
    for (int k = 0; k < nw; k++) {
        int w = wrt[k];
        int64_t len = ir_numel(g->n[w].shape);
        if (!ir_shape_eq(g->n[grads[k]].shape, g->n[w].shape)) {
            char err[300], b1[64], b2[64];
            snprintf(err, sizeof err, "gradient of %%%d has shape %s, the input %s", w,
                     ir_shape_str(g->n[grads[k]].shape, b1, sizeof b1), ir_shape_str(g->n[w].shape, b2, sizeof b2));
            char gname[256];
            snprintf(gname, sizeof gname, "grad/%s", name);
            result(0, gname, err);
            interp_done(g, g->len, v);
            return 0;
        }
        for (int64_t e = 0; e < len; e++) {
            double x = t->pre[w][e], h = 1e-6 * fmax(1, fabs(x)), lp, lm;
            t->pre[w][e] = x + h;
            double **vp = interp_eval(g, lenF, t->pre);
            lp = vp[loss][0];
            interp_done(g, lenF, vp);
            t->pre[w][e] = x - h;
            double **vm = interp_eval(g, lenF, t->pre);
            lm = vm[loss][0];
            interp_done(g, lenF, vm);
            t->pre[w][e] = x;
            double num = (lp - lm) / (2 * h), ana = v[grads[k]][e];
            double r = fabs(ana - num) / fmax(1, fabs(num));
            if (!(r <= worst)) {
                worst = r;
                snprintf(where, sizeof where, "d/d%%%d[%lld]: analytic %.10g, numeric %.10g", w, (long long)e, ana, num);
            }
        }
    }
    interp_done(g, g->len, v);
    char gname[256], err[300];
    snprintf(gname, sizeof gname, "grad/%s", name);
    snprintf(err, sizeof err, "max rel error %.3g (%s)", worst, where);
    int ok = worst < 1e-5;
    result(ok, gname, err);
    return ok;
}

/* The two checks of one graph whose op under test produced `out`.
 *   GRAD   build loss = sum(out * R) and its gradients w.r.t. every
 *          differentiable source (the kernel check then covers them);
 *   FD     also compare them with central differences (off for big graphs);
 *   KERNEL the compiled-kernel check. */
enum { GRAD = 1, FD = 2, KERNEL = 4, ALL = 7 };

static void check(T *t, Op op, int out, const char *variant, int flags, double tol)
{
    Graph *g = t->g;
    char name[200];
    snprintf(name, sizeof name, "%s%s%s", ir_ops[op].name, variant && variant[0] ? "/" : "", variant ? variant : "");
    int outs[80], n = 0;
    outs[n++] = out;
    if (flags & GRAD) {
        int wrt[32], grads[32], nw = 0;
        int R = t_src(t, OP_INPUT, g->n[out].shape, 0.5, 1.5, 1, 0);
        int loss = ir_reduce(g, ir_bin(g, OP_MUL, out, R, L), MAP_SCALAR, L);
        int lenF = g->len;
        for (int id = 0; id < lenF && nw < 32; id++)
            if (is_preset(g->n[id].op) && t->diff[id]) wrt[nw++] = id;
        grad_build(g, loss, wrt, nw, grads, NULL);
        if (flags & FD) grad_check(t, loss, lenF, wrt, grads, nw, name);
        outs[n++] = loss;
        for (int k = 0; k < nw; k++) outs[n++] = grads[k];
    }
    if (flags & KERNEL) kernel_check(t, outs, n, name, tol, TOL_MAX1);
    C->op_checks[op]++;
}

/* ---------- shapes ---------- */

static const char *sstr(Shape s)
{
    static char buf[8][64];
    static int k;
    k = (k + 1) % 8;
    return ir_shape_str(s, buf[k], sizeof buf[k]);
}

#define S0 ir_shape(0)
#define S1(a) ir_shape(1, (int64_t)(a))
#define S2(a, b) ir_shape(2, (int64_t)(a), (int64_t)(b))
#define S3(a, b, c) ir_shape(3, (int64_t)(a), (int64_t)(b), (int64_t)(c))
#define S4(a, b, c, d) ir_shape(4, (int64_t)(a), (int64_t)(b), (int64_t)(c), (int64_t)(d))

static Shape elem_shapes[5];
static void init_shapes(void)
{
    elem_shapes[0] = S2(3, 5);
    elem_shapes[1] = S2(7, 1);
    elem_shapes[2] = S2(5, 33);
    elem_shapes[3] = S4(2, 3, 4, 5);
    elem_shapes[4] = S0;
}
#define N_ELEM_SHAPES 5
static const Shape BIG = {2, {300, 37}};   /* big enough for the parallel split */

/* ---------- per-op cases ---------- */

/* Operand domain of each elementwise op: uniform magnitude in [lo, hi],
 * random sign if sym.  Kinks (relu, abs at 0) and poles (log, div) avoided. */
typedef struct { double lo, hi; int sym; } Dom;

static Dom dom_of(Op op, int operand)
{
    switch (op) {
    case OP_RELU: case OP_LRELU: case OP_ABS: case OP_SIGN: case OP_RELU_GRAD: case OP_LRELU_GRAD:
        return operand == 0 ? (Dom){0.1, 2, 1} : (Dom){0, 2, 1};
    case OP_LOG: return (Dom){0.2, 4, 0};
    case OP_RSQRT: return (Dom){0.3, 4, 0};
    case OP_DIV: return operand == 1 ? (Dom){0.5, 2, 1} : (Dom){0, 2, 1};
    case OP_EXP: return (Dom){0, 3, 1};
    case OP_SIGMOID: return (Dom){0, 4, 1};
    case OP_TANH: return (Dom){0, 3, 1};
    case OP_SOFTPLUS: return (Dom){0, 5, 1};
    case OP_TANH_GRAD: return operand == 0 ? (Dom){0, 0.99, 1} : (Dom){0, 2, 1};
    case OP_SIGM_GRAD: return operand == 0 ? (Dom){0.01, 0.99, 0} : (Dom){0, 2, 1};
    default: return (Dom){0, 2, 1};
    }
}

static int elem_node(T *t, Op op, int a, int b)
{
    double f0 = op == OP_LRELU || op == OP_LRELU_GRAD ? 0.2 : 0;
    if (op == OP_AFFINE) return ir_affine(t->g, a, 1.7, -0.3, L);
    return ir_ops[op].arity == 2 ? bin_f(t->g, op, a, b, f0) : un_f(t->g, op, a, f0);
}

static double op_tol(Op op)
{
    switch (op) {
    case OP_EXP: case OP_LOG: case OP_TANH: case OP_SIGMOID: case OP_SOFTPLUS: return 2e-5;
    default: return 1e-4;
    }
}

static void elem_cases(Op op)
{
    int has_grad = ir_ops[op].has_grad, two = ir_ops[op].arity == 2;
    int flags = has_grad ? ALL : KERNEL;
    char lab[200];
    for (int k = 0; k < N_ELEM_SHAPES; k++) {
        Shape s = elem_shapes[k];
        snprintf(lab, sizeof lab, "%s/%s", ir_ops[op].name, sstr(s));
        ISOLATED(op, lab) {
        T *t = t_new();
        Dom d0 = dom_of(op, 0), d1 = dom_of(op, 1);
        int a = t_var(t, s, d0.lo, d0.hi, d0.sym);
        int b = two ? t_var(t, s, d1.lo, d1.hi, d1.sym) : -1;
        if (op == OP_SIGN)   /* sign(0) = 0 too */
            for (int64_t e = 0; e < ir_numel(s); e += 3) t->pre[a][e] = 0;
        check(t, op, elem_node(t, op, a, b), sstr(s), flags, op_tol(op));
        t_free(t);
        }
    }
    /* both operands the same node: the gradient accumulates */
    snprintf(lab, sizeof lab, "%s/same-operand", ir_ops[op].name);
    if (two && has_grad) ISOLATED(op, lab) {
        T *t = t_new();
        Dom d = op == OP_DIV ? dom_of(op, 1) : dom_of(op, 0);
        int a = t_var(t, S2(3, 5), d.lo, d.hi, d.sym);
        check(t, op, elem_node(t, op, a, a), "same-operand", ALL, op_tol(op));
        t_free(t);
    }
    /* used twice: out feeds both the loss and a second op */
    snprintf(lab, sizeof lab, "%s/fan-out", ir_ops[op].name);
    if (has_grad) ISOLATED(op, lab) {
        T *t = t_new();
        Dom d0 = dom_of(op, 0), d1 = dom_of(op, 1);
        int a = t_var(t, S2(4, 6), d0.lo, d0.hi, d0.sym);
        int b = two ? t_var(t, S2(4, 6), d1.lo, d1.hi, d1.sym) : -1;
        int y = elem_node(t, op, a, b);
        int z = ir_bin(t->g, OP_ADD, y, ir_un(t->g, OP_SQUARE, y, L), L);
        check(t, op, z, "fan-out", ALL, op_tol(op));
        t_free(t);
    }
    /* big: the parallel split, gradients compiled but not differenced */
    snprintf(lab, sizeof lab, "%s/big", ir_ops[op].name);
    ISOLATED(op, lab) {
        T *t = t_new();
        Dom d0 = dom_of(op, 0), d1 = dom_of(op, 1);
        int a = t_var(t, BIG, d0.lo, d0.hi, d0.sym);
        int b = two ? t_var(t, BIG, d1.lo, d1.hi, d1.sym) : -1;
        check(t, op, elem_node(t, op, a, b), "big[300,37]", has_grad ? GRAD | KERNEL : KERNEL, op_tol(op));
        t_free(t);
    }
}

/* Wide-range checks of the transcendental kernels against libm (doubles). */
static void wide_case(Op op, double lo, double hi, int logscale, int mode)
{
    char lab[200];
    snprintf(lab, sizeof lab, "%s/range[%g,%g]", ir_ops[op].name, lo, hi);
    ISOLATED(op, lab) {
    T *t = t_new();
    Shape s = S2(100, 100);
    int x = t_src(t, OP_INPUT, s, 0, 1, 0, 0);
    for (int64_t e = 0; e < ir_numel(s); e++) {
        double u = (double)e / (double)(ir_numel(s) - 1);
        t->pre[x][e] = fl(logscale ? exp(log(lo) + u * (log(hi) - log(lo))) : lo + u * (hi - lo));
    }
    int y = un_f(t->g, op, x, 0);
    char name[200];
    snprintf(name, sizeof name, "%s/range[%g,%g]", ir_ops[op].name, lo, hi);
    kernel_check(t, &y, 1, name, 2e-5, mode);
    C->op_checks[op]++;
    t_free(t);
    }
}

static void special_case(Op op, const double *xs, const double *want, int n)
{
    char lab[200];
    snprintf(lab, sizeof lab, "%s/special", ir_ops[op].name);
    ISOLATED(op, lab) {
    T *t = t_new();
    int x = t_src(t, OP_INPUT, S1(n), 0, 1, 0, 0);
    for (int k = 0; k < n; k++) t->pre[x][k] = xs[k];
    int y = un_f(t->g, op, x, 0);
    char name[200], err[600] = "";
    float *res[1] = {NULL};
    snprintf(name, sizeof name, "kernel/%s/special", ir_ops[op].name);
    int ok = jit_run(t->g, &y, 1, t->pre, 1, res, err, sizeof err);
    for (int k = 0; k < n && ok; k++) {
        double a = res[0][k], w = want[k];
        /* exp: relative (exp(-100) ~ 0); else relative to max(1, |want|) */
        int good = isinf(w) ? a == w : isnan(w) ? isnan(a) : fabs(a - w) <= 1e-6 * fmax(op == OP_EXP ? 1e-24 : 1, fabs(w));
        if (!good) {
            snprintf(err, sizeof err, "%s(%g) = %.9g, want %.9g", ir_ops[op].name, xs[k], a, w);
            ok = 0;
        }
    }
    result(ok, name, err);
    free(res[0]);
    C->op_checks[op]++;
    t_free(t);
    }
}

static void transcendental_cases(void)
{
    wide_case(OP_LOG, 1e-30, 1e30, 1, TOL_MAX1);
    wide_case(OP_LOG, 0.5, 2, 0, TOL_MAX1);
    wide_case(OP_EXP, -80, 80, 0, TOL_REL);
    wide_case(OP_EXP, -1, 1, 0, TOL_REL);
    wide_case(OP_TANH, -30, 30, 0, TOL_MAX1);
    wide_case(OP_TANH, -1, 1, 0, TOL_REL);
    wide_case(OP_SIGMOID, -30, 30, 0, TOL_MAX1);
    wide_case(OP_SOFTPLUS, -30, 30, 0, TOL_MAX1);
    double lx[] = {0, 1, INFINITY, 1e-30, 1e30}, lw[] = {-INFINITY, 0, INFINITY, log(1e-30), log(1e30)};
    for (int k = 0; k < 5; k++) lx[k] = fl(lx[k]), lw[k] = log(lx[k]);
    special_case(OP_LOG, lx, lw, 5);
    double ex[] = {-100, 0, 1}, ew[] = {0, 1, exp(1.0)};
    special_case(OP_EXP, ex, ew, 3);
    double tx[] = {20, -20, 0, 50, -50}, tw[] = {1, -1, 0, 1, -1};
    special_case(OP_TANH, tx, tw, 5);
    double sx[] = {0, 50, -50}, sw[] = {0.5, 1, 1.0 / (1 + exp(50.0))};
    special_case(OP_SIGMOID, sx, sw, 3);
    double px[] = {0, 50, -50}, pw[] = {log(2.0), 50, log1p(exp(-50.0))};
    special_case(OP_SOFTPLUS, px, pw, 3);
}

/* Sources: read back and consumed. */
static void source_cases(Op op)
{
    ISOLATED(op, ir_ops[op].name)
    if (op == OP_INPUT || op == OP_PARAM) {
        T *t = t_new();
        int x = t_src(t, op, S2(5, 33), 0, 2, 1, 0), y = t_src(t, op, S0, 0, 2, 1, 0);
        int outs[3] = {x, ir_un(t->g, OP_NEG, x, L), ir_affine(t->g, y, 2, 1, L)};
        kernel_check(t, outs, 3, ir_ops[op].name, 1e-4, TOL_MAX1);
        C->op_checks[op]++;
        t_free(t);
    } else if (op == OP_CONST) {
        T *t = t_new();
        Graph *g = t->g;
        int x = t_var(t, S2(3, 5), 0, 2, 1), w = t_var(t, S2(5, 7), 0, 2, 1);
        int c = ir_const(g, 0.75, S2(3, 5), L), c0 = ir_const(g, -1.5, S0, L), cw = ir_const(g, 0.5, S2(5, 7), L);
        int cc[2] = {c, x}, ci[3] = {1, 0, 0};
        int outs[9] = {c, c0, ir_bin(g, OP_ADD, x, c, L), must(g, ir_matmul(g, c, w, 0, 0, L)),
                       must(g, ir_matmul(g, x, cw, 0, 0, L)), must(g, ir_add(g, OP_CONCAT, cc, 2, NULL, ci, L)),
                       ir_reduce(g, c, MAP_BATCH, L), ir_bcast(g, c0, S2(3, 5), MAP_SCALAR, L), ir_un(g, OP_TRANSPOSE, c, L)};
        kernel_check(t, outs, 9, "const", 1e-4, TOL_MAX1);
        C->op_checks[op]++;
        t_free(t);
    }
}

/* Dropout masks: the kernel's are checked by their statistics; preset masks
 * take part in a gradient check. */
static void dropmask_cases(void)
{
    const double ps[2] = {0.3, 0.5};
    for (int q = 0; q < 2; q++) ISOLATED(OP_DROPMASK, labf("dropmask/stats/p=%g", ps[q])) {
        double p = ps[q];
        T *t = t_new();
        Shape s = S2(100, 101);
        int m1 = t_mask(t, s, p), m2 = t_mask(t, s, p);
        int outs[2] = {m1, m2};
        float *r1[2] = {0, 0}, *r2[2] = {0, 0};
        char err[600] = "", name[100];
        int ok = jit_run(t->g, outs, 2, t->pre, 12345, r1, err, sizeof err) &&
                 jit_run(t->g, outs, 2, t->pre, 999, r2, err, sizeof err);
        int64_t n = ir_numel(s), zeros = 0, bad = 0, same_nodes = 0, same_seed = 0;
        float keep = (float)(1 / (1 - p));
        for (int64_t e = 0; ok && e < n; e++) {
            if (r1[0][e] != 0 && r1[0][e] != keep) bad++;
            zeros += r1[0][e] == 0;
            same_nodes += r1[0][e] == r1[1][e];
            same_seed += r1[0][e] == r2[0][e];
        }
        double fz = (double)zeros / (double)n;
        if (ok && bad) snprintf(err, sizeof err, "%lld values neither 0 nor %g", (long long)bad, (double)keep), ok = 0;
        else if (ok && fabs(fz - p) > 0.05) snprintf(err, sizeof err, "zero fraction %.4f, p = %g", fz, p), ok = 0;
        else if (ok && same_nodes == n) snprintf(err, sizeof err, "two mask nodes drew the same mask"), ok = 0;
        else if (ok && same_seed == n) snprintf(err, sizeof err, "another seed drew the same mask"), ok = 0;
        else if (ok) snprintf(err, sizeof err, "zero fraction %.4f for p = %g over %lld", fz, p, (long long)n);
        snprintf(name, sizeof name, "kernel/dropmask/stats/p=%g", p);
        result(ok, name, err);
        for (int k = 0; k < 2; k++) free(r1[k]), free(r2[k]);
        t_free(t);
    }
    /* a mask fused into its use, with the gradient through it */
    ISOLATED(OP_DROPMASK, "dropmask/mul") {
        T *t = t_new();
        int x = t_var(t, S2(5, 33), 0, 2, 1), m = t_mask(t, S2(5, 33), 0.4);
        check(t, OP_DROPMASK, ir_bin(t->g, OP_MUL, x, m, L), "mul", ALL, 1e-4);
        t_free(t);
    }
    ISOLATED(OP_DROPMASK, "dropmask/mul-tanh-big") {
        T *t = t_new();
        int x = t_var(t, BIG, 0, 2, 1), m = t_mask(t, BIG, 0.25);
        check(t, OP_DROPMASK, ir_un(t->g, OP_TANH, ir_bin(t->g, OP_MUL, m, x, L), L), "mul-tanh-big",
              GRAD | KERNEL, 2e-5);
        t_free(t);
    }
    C->op_checks[OP_DROPMASK]++;
}

static const char *map_names[4] = {"scalar", "batch", "channel", "row"};

static Shape small_of(Shape big, MapMode m)
{
    switch (m) {
    case MAP_SCALAR: return S0;
    case MAP_BATCH: {
        Shape r = {big.rank - 1, {0}};
        for (int k = 1; k < big.rank; k++) r.d[k - 1] = big.d[k];
        return r;
    }
    case MAP_CHANNEL: return S1(big.rank > 1 ? big.d[1] : 1);
    case MAP_ROW: return S1(big.d[0]);
    }
    return S0;
}

static void bcast_reduce_cases(Op op)
{
    Shape bigs[6] = {S2(3, 5), S2(7, 1), S2(5, 33), S4(2, 3, 4, 5), S3(4, 6, 7), S2(150, 37)};
    for (int m = 0; m < 4; m++)
        for (int k = 0; k < 6; k++) {
            Shape big = bigs[k];
            char v[100];
            int large = k == 5;
            snprintf(v, sizeof v, "%s/%s", map_names[m], sstr(big));
            int flags = large ? GRAD | KERNEL : ALL;
            char lab[200];
            snprintf(lab, sizeof lab, "%s/%s", ir_ops[op].name, v);
            ISOLATED(op, lab) {
            T *t = t_new();
            if (op == OP_BCAST) {
                int a = t_var(t, small_of(big, (MapMode)m), 0, 2, 1);
                check(t, op, ir_bcast(t->g, a, big, (MapMode)m, L), v, flags, 1e-4);
                /* not an output: fused as a load into its user */
                if (!large) {
                    T *t2 = t_new();
                    int a2 = t_var(t2, small_of(big, (MapMode)m), 0, 2, 1), y = t_var(t2, big, 0, 2, 1);
                    snprintf(v, sizeof v, "%s/%s/fused", map_names[m], sstr(big));
                    check(t2, op, ir_bin(t2->g, OP_MUL, ir_bcast(t2->g, a2, big, (MapMode)m, L), y, L), v, ALL, 1e-4);
                    t_free(t2);
                }
            } else {
                int a = t_var(t, big, 0, 2, 1);
                check(t, op, ir_reduce(t->g, a, (MapMode)m, L), v, flags, large ? 1e-3 : 1e-4);
                /* of a computed value */
                if (!large) {
                    T *t2 = t_new();
                    int a2 = t_var(t2, big, 0, 2, 1);
                    snprintf(v, sizeof v, "%s/%s/of-tanh", map_names[m], sstr(big));
                    check(t2, op, ir_reduce(t2->g, ir_un(t2->g, OP_TANH, a2, L), (MapMode)m, L), v, ALL, 1e-4);
                    t_free(t2);
                }
            }
            t_free(t);
            }
        }
}

/* Sums of values that are never stored but recomputed by each consumer
 * (sched.c find_remat): in a sum a vector at a time with per-channel, per-row
 * or scalar broadcasts, over rows that end in a masked tail or not; and in
 * an elementwise kernel of their own. */
/* A broadcast read by two batches, each centred as batchnorm centres it
 * (so the broadcast's gradient is a sum of terms that cancel): gradients
 * against central differences. */
static void shared_bcast_cases(void)
{
    ISOLATED(OP_BCAST, "broadcast/shared-by-two-centred-batches") {
        T *t = t_new();
        Graph *g = t->g;
        Shape big = S4(2, 3, 2, 2);
        int x1 = t_var(t, big, 0, 2, 1), x2 = t_var(t, big, 0, 2, 1), b = t_var(t, S1(3), 0, 1, 1);
        int bb = ir_bcast(g, b, big, MAP_CHANNEL, L);
        int y1 = ir_bin(g, OP_ADD, x1, bb, L), y2 = ir_bin(g, OP_ADD, x2, bb, L);
        /* batchnorm-like: y - mean(y) */
        int m1 = ir_affine(g, ir_reduce(g, y1, MAP_CHANNEL, L), 1.0 / 8, 0, L);
        int c1 = ir_bin(g, OP_SUB, y1, ir_bcast(g, m1, big, MAP_CHANNEL, L), L);
        int m2 = ir_affine(g, ir_reduce(g, y2, MAP_CHANNEL, L), 1.0 / 8, 0, L);
        int c2 = ir_bin(g, OP_SUB, y2, ir_bcast(g, m2, big, MAP_CHANNEL, L), L);
        int out = ir_bin(g, OP_ADD, ir_un(g, OP_SQUARE, c1, L), ir_un(g, OP_TANH, c2, L), L);
        check(t, OP_BCAST, out, "shared-by-two-centred-batches", GRAD | FD, 1e-4);
        t_free(t);
    }
}

static void remat_cases(void)
{
    const MapMode modes[3] = {MAP_CHANNEL, MAP_ROW, MAP_SCALAR};
    const Shape bigs[3] = {S4(3, 5, 3, 7), S4(2, 4, 8, 8), S2(5, 33)};
    for (int q = 0; q < 3; q++)
        for (int b = 0; b < 3; b++) {
            MapMode m = modes[q];
            Shape big = bigs[b];
            if (m == MAP_CHANNEL && big.rank < 3) continue;
            char v[100];
            snprintf(v, sizeof v, "remat/%s/%s", map_names[m], sstr(big));
            ISOLATED(OP_REDUCE, v) {
                T *t = t_new();
                Graph *g = t->g;
                int x = t_var(t, big, 0, 2, 1), mu = t_var(t, small_of(big, m), 0, 1, 1), sc = t_var(t, small_of(big, m), 0.5, 2, 1);
                int th = ir_un(g, OP_TANH, x, L);   /* not cheap: stored, a leaf of the rest */
                int d = ir_bin(g, OP_SUB, ir_affine(g, th, 1.5, 0.25, L), ir_bcast(g, mu, big, m, L), L);
                int sq = ir_un(g, OP_SQUARE, d, L);
                int r1 = ir_reduce(g, sq, m, L);
                int e = ir_bin(g, OP_MUL, d, ir_bcast(g, sc, big, m, L), L);
                int f = ir_bin(g, OP_ADD, e, un_f(g, OP_LRELU, ir_affine(g, x, 2, 0.5, L), 0.2), L);
                int r2 = ir_reduce(g, ir_un(g, OP_NEG, f, L), m, L);
                int y = ir_bin(g, OP_ADD, ir_bin(g, OP_MUL, f, ir_bcast(g, r1, big, m, L), L), ir_bcast(g, r2, big, m, L), L);
                Schedule *s = sched_graph(g, &y, 1);
                result(s->remat[sq] && s->remat[e] && s->remat[f] && s->remat[d] && !s->remat[th] && s->off[th] >= 0,
                       labf("sched/%s", v), "the chains into the sums should be recomputed, tanh(x) stored");
                sched_free(s);
                check(t, OP_REDUCE, y, v, GRAD | KERNEL, 1e-4);
                t_free(t);
            }
        }
}

static void matmul_cases(void)
{
    int mr = vw >= 16 ? 8 : 6, nr = 2 * vw;
    struct { int64_t M, K, N; const char *what; } sz[] = {
        {3, 5, 7, "small"}, {13, 19, 70, "tails"}, {1, 7, 9, "m1"}, {2 * mr, 11, 2 * nr, "exact-tiles"},
        {mr + 1, 33, nr + 1, "tile+1"}, {5, 1, 3, "k1"}, {70, 600, 40, "k-blocks"}, {9, 300, 200, "many-panels"},
        {601, 1024, 40, "a-packed"},    /* rows of A 4 KB apart: packed, three row blocks */
        {300, 290, 70, "bt-panels"},    /* with tb: panels gathered from b's rows, two k blocks */
        {100, 100, 300, "bt-short-k"}}; /* with tb: the same from 64 rows when k is short */
    for (size_t q = 0; q < sizeof sz / sizeof sz[0]; q++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) ISOLATED(OP_MATMUL, labf("matmul/%s%s%s", sz[q].what, ta ? "/ta" : "", tb ? "/tb" : "")) {
                T *t = t_new();
                int64_t M = sz[q].M, K = sz[q].K, N = sz[q].N;
                int a = t_var(t, ta ? S2(K, M) : S2(M, K), 0, 2, 1);
                int b = t_var(t, tb ? S2(N, K) : S2(K, N), 0, 2, 1);
                char v[100];
                snprintf(v, sizeof v, "%s[%lldx%lldx%lld]%s%s", sz[q].what, (long long)M, (long long)K, (long long)N,
                         ta ? "/ta" : "", tb ? "/tb" : "");
                check(t, OP_MATMUL, must(t->g, ir_matmul(t->g, a, b, ta, tb, L)), v, M * K * N > 100000 ? GRAD | KERNEL : ALL, 1e-4);
                t_free(t);
            }
    /* a·a^T with one operand node */
    ISOLATED(OP_MATMUL, "matmul/same-operand") {
    T *t = t_new();
    int a = t_var(t, S2(6, 9), 0, 2, 1);
    check(t, OP_MATMUL, must(t->g, ir_matmul(t->g, a, a, 0, 1, L)), "same-operand/tb", ALL, 1e-4);
    t_free(t);
    }
}

static void bmatmul_cases(void)
{
    struct { int64_t P, M, K, N; const char *what; } sz[] = {
        {3, 5, 7, 9, "small"}, {2, 13, 19, 70, "tails"}, {25, 40, 64, 70, "many-items"}, {4, 130, 70, 40, "bt-panels"},
        {25, 128, 256, 256, "dcgan28"}};
    for (size_t q = 0; q < sizeof sz / sizeof sz[0]; q++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2 - ta; tb++) ISOLATED(OP_BMATMUL, labf("batch_matmul/%s%s%s", sz[q].what, ta ? "/ta" : "", tb ? "/tb" : "")) {
                T *t = t_new();
                int64_t P = sz[q].P, M = sz[q].M, K = sz[q].K, N = sz[q].N;
                int a = t_var(t, ta ? S3(P, K, M) : S3(P, M, K), 0, 2, 1);
                int b = t_var(t, tb ? S3(P, N, K) : S3(P, K, N), 0, 2, 1);
                char v[100];
                snprintf(v, sizeof v, "%s[%lldx%lldx%lldx%lld]%s%s", sz[q].what, (long long)P, (long long)M, (long long)K,
                         (long long)N, ta ? "/ta" : "", tb ? "/tb" : "");
                check(t, OP_BMATMUL, must(t->g, ir_bmatmul(t->g, a, b, ta, tb, L)), v, P * M * K * N > 100000 ? GRAD | KERNEL : ALL, 1e-4);
                t_free(t);
            }
}

/* Geometries of Winograd convolutions: image [B,C,H,W], k, s, p, m. */
static const struct { int64_t x[4]; int k, s, p, m; } wino_geo[] = {
    {{2, 3, 14, 14}, 4, 2, 1, 4}, {{3, 2, 7, 9}, 4, 2, 1, 2}, {{2, 2, 8, 8}, 3, 1, 1, 4}, {{1, 3, 9, 6}, 4, 2, 2, 3},
    {{17, 2, 6, 6}, 4, 2, 1, 4}, {{2, 1, 5, 5}, 2, 1, 0, 3}, {{2, 2, 11, 10}, 6, 3, 2, 2}, {{18, 3, 7, 7}, 4, 2, 1, 4}, {{64, 62, 14, 14}, 4, 2, 1, 4},
    {{2, 2, 9, 9}, 4, 2, 0, 3},    /* the last row and column of the image in no tile */
    {{3, 2, 66, 65}, 4, 2, 1, 4},  /* planes too big to transpose on the stack: gathers */
    {{2, 8, 83, 83}, 4, 2, 0, 4}}; /* the same, and the last row and column in no tile */

/* The shapes of WINO_* op's image and transform for geometry q. */
static void wino_shapes(Op op, int q, Shape *img, Shape *dom)
{
    Graph *g = ir_new();
    const int64_t *x = wino_geo[q].x;
    int cv[5] = {wino_geo[q].k, wino_geo[q].s, wino_geo[q].p, wino_geo[q].m, 0};
    int64_t Y = ir_conv_out(x[2], cv[0], cv[1], cv[2], 1), X = ir_conv_out(x[3], cv[0], cv[1], cv[2], 1);
    *img = op == OP_WINO_IN ? S4(x[0], x[1], x[2], x[3]) : op == OP_WINO_OUT ? S4(x[0], x[1] + 2, Y, X) : S4(x[1] + 3, x[1], cv[0], cv[0]);
    int src = ir_source(g, OP_INPUT, *img, NULL, NULL, NULL, L);
    if (op == OP_WINO_OUT) cv[4] = 1;
    *dom = g->n[must(g, ir_wino_op(g, op, src, cv, *img, L))].shape;
    ir_free(g);
}

/* Each transform and its adjoint, and (with WINO_IN) the whole Winograd
 * convolution and transposed convolution against im2col's in the
 * interpreter: that checks the transform matrices themselves. */
static void wino_cases(Op op)
{
    for (int q = 0; q < (int)(sizeof wino_geo / sizeof wino_geo[0]); q++)
        for (int adj = 0; adj < 2; adj++) {
            Shape img, dom;
            wino_shapes(op, q, &img, &dom);
            int cv[5] = {wino_geo[q].k, wino_geo[q].s, wino_geo[q].p, wino_geo[q].m, adj};
            int toimg = (op == OP_WINO_OUT) != adj;
            char v[120];
            snprintf(v, sizeof v, "%s/k%d/s%d/p%d/m%d%s", sstr(img), cv[0], cv[1], cv[2], cv[3], adj ? "/adjoint" : "");
            ISOLATED(op, labf("%s/%s", ir_ops[op].name, v)) {
                T *t = t_new();
                Shape in = toimg ? dom : img;
                int y = must(t->g, ir_wino_op(t->g, op, t_var(t, in, 0, 2, 1), cv, img, L));
                check(t, op, ir_un(t->g, OP_TANH, y, L), v, ir_numel(in) < 4000 ? ALL : GRAD | KERNEL, 1e-4);
                t_free(t);
            }
        }
    if (op == OP_WINO_W) ISOLATED(op, "wino_w/used-twice") {
        /* one weight transform for two convolutions (D on two batches): its
         * gradient is the sum of two, each mapped back on its own (grad.c) */
        T *t = t_new();
        Graph *g = t->g;
        int fw[5] = {4, 2, 1, 4, 0};
        int w = t_var(t, S4(5, 3, 4, 4), 0, 1, 1), u = must(g, ir_wino_op(g, OP_WINO_W, w, fw, S0, L)), y[2];
        for (int b = 0; b < 2; b++) {
            int xi = t_var(t, S4(2, 3, 6, 6), 0, 1, 1);
            y[b] = must(g, ir_wino_op(g, OP_WINO_OUT, must(g, ir_bmatmul(g, u, must(g, ir_wino_op(g, OP_WINO_IN, xi, fw, S0, L)), 1, 0, L)),
                                      fw, S4(2, 5, 3, 3), L));
        }
        check(t, op, ir_bin(g, OP_MUL, y[0], y[1], L), "used-twice", ALL, 1e-4);
        t_free(t);
    }
    if (op != OP_WINO_IN) return;
    for (int q = 0; q < (int)(sizeof wino_geo / sizeof wino_geo[0]); q++)
        for (int de = 0; de < 2; de++) ISOLATED(op, labf("winograd/%s/k%d/s%d/p%d/m%d/%s", sstr(S4(wino_geo[q].x[0], wino_geo[q].x[1], wino_geo[q].x[2], wino_geo[q].x[3])),
                                                         wino_geo[q].k, wino_geo[q].s, wino_geo[q].p, wino_geo[q].m, de ? "deconv" : "conv")) {
            T *t = t_new();
            Graph *g = t->g;
            const int64_t *x = wino_geo[q].x;
            int k = wino_geo[q].k, s = wino_geo[q].s, p = wino_geo[q].p, m = wino_geo[q].m;
            int64_t Y = ir_conv_out(x[2], k, s, p, 1), X = ir_conv_out(x[3], k, s, p, 1), Co = x[1] + 2;
            int fw[5] = {k, s, p, m, 0}, aw[5] = {k, s, p, m, 1}, cv[5] = {k, k, s, p, 1};
            int w = t_var(t, S4(Co, x[1], k, k), 0, 1, 1), u = must(g, ir_wino_op(g, OP_WINO_W, w, fw, S0, L));
            int wm = ir_reshape(g, w, S2(Co, x[1] * k * k), L), out, ref;
            if (!de) {   /* conv of x [B,C,H,W] */
                int xi = t_var(t, S4(x[0], x[1], x[2], x[3]), 0, 1, 1);
                out = must(g, ir_wino_op(g, OP_WINO_OUT, must(g, ir_bmatmul(g, u, must(g, ir_wino_op(g, OP_WINO_IN, xi, fw, S0, L)), 1, 0, L)),
                                         fw, S4(x[0], Co, Y, X), L));
                int y2 = must(g, ir_matmul(g, wm, must(g, ir_im2col(g, xi, cv, L)), 0, 0, L));
                ref = ir_un(g, OP_SWAP01, ir_reshape(g, y2, S4(Co, x[0], Y, X), L), L);
            } else {     /* its adjoint, of dy [B,Co,Y,X] */
                int dy = t_var(t, S4(x[0], Co, Y, X), 0, 1, 1);
                out = must(g, ir_wino_op(g, OP_WINO_IN, must(g, ir_bmatmul(g, u, must(g, ir_wino_op(g, OP_WINO_OUT, dy, aw, S0, L)), 0, 0, L)),
                                         aw, S4(x[0], x[1], x[2], x[3]), L));
                int dym = ir_reshape(g, ir_un(g, OP_SWAP01, dy, L), S2(Co, x[0] * Y * X), L);
                ref = must(g, ir_col2im(g, must(g, ir_matmul(g, wm, dym, 1, 0, L)), S4(x[0], x[1], x[2], x[3]), cv, L));
            }
            double **vals = interp_eval(g, g->len, t->pre), worst = 0, scale = 0;
            for (int64_t e = 0; e < ir_numel(g->n[out].shape); e++) {
                worst = fmax(worst, fabs(vals[out][e] - vals[ref][e]));
                scale = fmax(scale, fabs(vals[ref][e]));
            }
            char d[120];
            snprintf(d, sizeof d, "max |winograd - im2col| %.3g of %.3g", worst, scale);
            result(worst <= 1e-9 * fmax(scale, 1), labf("winograd/%s/q%d", de ? "deconv" : "conv", q), d);
            interp_done(g, g->len, vals);
            /* and compiled, in float, in one program with im2col's */
            /* each output sums K = C*k*k terms, in the transform domain
             * through coefficients up to 2.5 (not its own size): float's
             * error grows with K */
            int both[2] = {out, ref};
            double K = (double)(de ? Co : x[1]) * k * k;
            kernel_check(t, both, 2, labf("winograd/%s/q%d", de ? "deconv" : "conv", q), fmax(1e-4, 5e-7 * K), TOL_MAX1);
            C->op_checks[op]++;
            t_free(t);
        }
}

static void reshape_cases(void)
{
    struct { Shape from, to; const char *what; } c[] = {
        {S3(3, 4, 5), S2(12, 5), ""}, {S3(3, 4, 5), S1(60), ""}, {S4(2, 3, 4, 5), S2(6, 20), ""},
        {S2(5, 33), S3(5, 3, 11), ""}, {S2(7, 1), S1(7), ""}};
    for (size_t q = 0; q < sizeof c / sizeof c[0]; q++)
        for (int mode = 0; mode < 3; mode++) ISOLATED(OP_RESHAPE, labf("reshape/%s->%s/%d", sstr(c[q].from), sstr(c[q].to), mode)) {
            T *t = t_new();
            Graph *g = t->g;
            int x = t_var(t, c[q].from, 0, 2, 1), y;
            char v[100];
            if (mode == 0) y = must(g, ir_reshape(g, x, c[q].to, L));
            else if (mode == 1) y = must(g, ir_reshape(g, ir_un(g, OP_TANH, x, L), c[q].to, L));
            else y = ir_un(g, OP_SQUARE, must(g, ir_reshape(g, must(g, ir_reshape(g, x, S1(ir_numel(c[q].from)), L)), c[q].to, L)), L);
            snprintf(v, sizeof v, "%s->%s%s", sstr(c[q].from), sstr(c[q].to), mode == 0 ? "" : mode == 1 ? "/of-tanh" : "/chain");
            check(t, OP_RESHAPE, y, v, ALL, 1e-4);
            t_free(t);
        }
}

/* The shape rule of ir.c gave node id the expected shape. */
static void expect_shape(const Graph *g, int id, Shape want, const char *name)
{
    char b1[64], b2[64], err[200] = "", lab[300];
    int ok = ir_shape_eq(g->n[id].shape, want);
    if (!ok) snprintf(err, sizeof err, "%s, want %s", ir_shape_str(g->n[id].shape, b1, sizeof b1), ir_shape_str(want, b2, sizeof b2));
    snprintf(lab, sizeof lab, "shape/%s", name);
    result(ok, lab, err);
}

/* The result's shape is `want`, then the usual checks (no finite
 * differences for big inputs). */
static void check_shaped(T *t, Op op, int y, Shape want, const char *v, int big)
{
    char sn[200];
    snprintf(sn, sizeof sn, "%s/%s", ir_ops[op].name, v);
    expect_shape(t->g, y, want, sn);
    check(t, op, y, v, big ? GRAD | KERNEL : ALL, 1e-4);
}

static void concat_cases(void)
{
    struct { Shape a, b; int ax; } c[] = {
        {S2(3, 5), S2(4, 5), 0}, {S3(3, 4, 5), S3(3, 2, 5), 1}, {S2(3, 5), S2(3, 33), 1}, {S2(7, 1), S2(7, 2), 1},
        {S3(2, 3, 4), S3(2, 3, 5), 2}, {S4(2, 3, 4, 5), S4(2, 3, 1, 5), 2}, {S2(150, 20), S2(150, 17), 1}};
    for (size_t q = 0; q < sizeof c / sizeof c[0]; q++) ISOLATED(OP_CONCAT, labf("concat/axis%d/%s+%s", c[q].ax, sstr(c[q].a), sstr(c[q].b))) {
        T *t = t_new();
        int a = t_var(t, c[q].a, 0, 2, 1), b = t_var(t, c[q].b, 0, 2, 1);
        int in[2] = {a, b}, i[3] = {c[q].ax, 0, 0};
        char v[100];
        snprintf(v, sizeof v, "axis%d/%s+%s", c[q].ax, sstr(c[q].a), sstr(c[q].b));
        int y = must(t->g, ir_add(t->g, OP_CONCAT, in, 2, NULL, i, L));
        Shape want = c[q].a;
        want.d[c[q].ax] += c[q].b.d[c[q].ax];
        check_shaped(t, OP_CONCAT, y, want, v, ir_numel(c[q].a) > 1000);
        t_free(t);
    }
    ISOLATED(OP_CONCAT, "concat/same-operand") {
    T *t = t_new();
    int a = t_var(t, S3(2, 3, 4), 0, 2, 1), in[2] = {a, a}, i[3] = {1, 0, 0};
    check(t, OP_CONCAT, must(t->g, ir_add(t->g, OP_CONCAT, in, 2, NULL, i, L)), "axis1/same-operand", ALL, 1e-4);
    t_free(t);
    }
}

static void slice_cases(void)
{
    struct { Shape a; int ax, start, len; } c[] = {
        {S3(3, 10, 5), 1, 2, 4}, {S3(3, 10, 5), 1, 0, 4}, {S3(3, 10, 5), 1, 6, 4}, {S2(3, 33), 1, 5, 20},
        {S3(2, 3, 9), 2, 3, 5}, {S4(2, 3, 9, 2), 2, 0, 8}, {S2(7, 5), 0, 1, 3}, {S2(150, 40), 1, 7, 30}};
    for (size_t q = 0; q < sizeof c / sizeof c[0]; q++) ISOLATED(OP_SLICE, labf("slice/axis%d/%s[%d:%d]", c[q].ax, sstr(c[q].a), c[q].start, c[q].start + c[q].len)) {
        T *t = t_new();
        int a = t_var(t, c[q].a, 0, 2, 1), i[3] = {c[q].ax, c[q].start, 0};
        Shape s = c[q].a;
        s.d[c[q].ax] = c[q].len;
        char v[100];
        snprintf(v, sizeof v, "axis%d/%s[%d:%d]", c[q].ax, sstr(c[q].a), c[q].start, c[q].start + c[q].len);
        int y = must(t->g, ir_add_shaped(t->g, OP_SLICE, a, s, i, L));
        check_shaped(t, OP_SLICE, y, s, v, ir_numel(c[q].a) > 1000);
        t_free(t);
    }
}

static void transpose_cases(void)
{
    Shape c[] = {S2(5, 33), S2(37, 19), S2(1, 7), S2(7, 1), S2(300, 37)};
    for (size_t q = 0; q < sizeof c / sizeof c[0]; q++) ISOLATED(OP_TRANSPOSE, labf("transpose/%s", sstr(c[q]))) {
        T *t = t_new();
        int a = t_var(t, c[q], 0, 2, 1);
        check(t, OP_TRANSPOSE, ir_un(t->g, OP_TRANSPOSE, a, L), sstr(c[q]), ir_numel(c[q]) > 1000 ? GRAD | KERNEL : ALL,
              1e-4);
        t_free(t);
    }
}

static void swap01_cases(void)
{
    Shape c[] = {S2(5, 33), S3(3, 4, 5), S4(2, 3, 4, 5), S4(7, 1, 2, 3), S3(40, 30, 2)};
    for (size_t q = 0; q < sizeof c / sizeof c[0]; q++) ISOLATED(OP_SWAP01, labf("swap01/%s", sstr(c[q]))) {
        T *t = t_new();
        int a = t_var(t, c[q], 0, 2, 1);
        check(t, OP_SWAP01, ir_un(t->g, OP_SWAP01, a, L), sstr(c[q]), ir_numel(c[q]) > 1000 ? GRAD | KERNEL : ALL, 1e-4);
        t_free(t);
    }
}

/* Convolution geometry: odd sizes, stride 1 and 2, padding 0..2, dilation,
 * 1 and 3 channels; im2col and col2im are each other's adjoints. */
static void conv_cases(Op op)
{
    const struct { int64_t x[4]; int cv[5]; } conv_geo[] = {
        {{2, 1, 5, 5}, {3, 3, 1, 0, 1}}, {{2, 3, 7, 6}, {3, 3, 1, 1, 1}}, {{1, 3, 8, 8}, {4, 4, 2, 1, 1}},
        {{3, 1, 9, 7}, {4, 4, 2, 2, 1}}, {{2, 2, 6, 6}, {1, 1, 1, 0, 1}}, {{2, 3, 7, 7}, {3, 3, 2, 0, 1}},
        {{1, 2, 9, 9}, {3, 3, 1, 2, 2}}, {{2, 1, 4, 4}, {4, 4, 1, 0, 1}}, {{2, 3, 5, 8}, {2, 3, 1, 1, 1}},
    };
    for (size_t q = 0; q < sizeof conv_geo / sizeof conv_geo[0]; q++) {
        const int *cv = conv_geo[q].cv;
        Shape x = S4(conv_geo[q].x[0], conv_geo[q].x[1], conv_geo[q].x[2], conv_geo[q].x[3]);
        char v[120];
        snprintf(v, sizeof v, "%s/k%dx%d/s%d/p%d/d%d", sstr(x), cv[0], cv[1], cv[2], cv[3], cv[4]);
        ISOLATED(op, labf("%s/%s", ir_ops[op].name, v)) {
            T *t = t_new();
            int y;
            if (op == OP_IM2COL) {
                y = must(t->g, ir_im2col(t->g, t_var(t, x, 0, 2, 1), cv, L));
            } else {
                int64_t Y = ir_conv_out(x.d[2], cv[0], cv[2], cv[3], cv[4]), X = ir_conv_out(x.d[3], cv[1], cv[2], cv[3], cv[4]);
                Shape cols = S2(x.d[1] * cv[0] * cv[1], x.d[0] * Y * X);
                y = must(t->g, ir_col2im(t->g, t_var(t, cols, 0, 2, 1), x, cv, L));
                expect_shape(t->g, y, x, labf("col2im/%s", v));
            }
            check(t, op, y, v, ALL, 1e-4);
            t_free(t);
        }
    }
}

/* After check() a graph holds the products of its convolution and their
 * gradients: an IM2COL read only as a product's b, and a product read only
 * by a COL2IM, may have neither a kernel nor a buffer (the products gather
 * from the image, the COL2IM computes the product), and for im2col one of
 * the gathering products must read it transposed (the weight gradient). */
static void expect_folded(T *t, const char *v)
{
    Graph *g = t->g;
    int outs[MAXN] = {0}, n = 0, tb = 0, folds = 0;
    for (int id = 0; id < g->len; id++) {
        const Node *nd = &g->n[id];
        int gathers = nd->op == OP_MATMUL && g->n[nd->in[1]].op == OP_IM2COL;
        if (gathers || nd->op == OP_COL2IM) outs[n++] = id;
        tb += gathers && nd->i[1];
    }
    Schedule *s = sched_graph(g, outs, n);
    char err[200] = "";
    for (int k = 0; k < s->sec[SEC_GFWD].n; k++) {
        int id = s->sec[SEC_GFWD].k[k].node;
        if (id >= 0 && g->n[id].op == OP_IM2COL) snprintf(err, sizeof err, "%%%d im2col has a kernel", id);
    }
    for (int id = 0; id < g->len; id++) {
        const Node *nd = &g->n[id];
        int in = nd->n_in ? nd->in[nd->op == OP_MATMUL] : -1;
        if (in < 0 || !((nd->op == OP_MATMUL && g->n[in].op == OP_IM2COL) || (nd->op == OP_COL2IM && g->n[in].op == OP_MATMUL)))
            continue;
        folds++;
        if (s->off[in] >= 0 && !err[0]) snprintf(err, sizeof err, "%%%d %s has a buffer", in, ir_ops[g->n[in].op].name);
    }
    if (!folds || (!tb && strstr(v, "im2col"))) snprintf(err, sizeof err, "%d folded nodes, %d transposed gathers", folds, tb);
    result(!err[0], labf("sched/folded/%s", v), err);
    sched_free(s);
}

/* Convolutions as sema lowers them: a weight times im2col(x), and a
 * deconvolution col2im(wᵀ x), whose gradients hold products with im2col as
 * b, plain (input gradient of the deconv) and transposed (the weight
 * gradients), and a col2im of a product (the deconv, the conv's input
 * gradient).  The compiled products pack their panels from the image, the
 * col2im kernels compute their products.
 * Besides the geometries above: N = B*Y*X not a multiple of the panel
 * width, K = C*kh*kw above MM_KC = 256 and N above it (several packed
 * blocks, plain and transposed), 300 output channels (a col2im's product
 * in several blocks), stride 2 with padding 2 and dilation 2, and batch 21
 * of 9 columns each (a col2im's items take two images: the last one). */
static void conv_product_cases(Op op)
{
    const struct { int64_t x[4]; int cv[5], co; } geo[] = {
        {{2, 1, 5, 5}, {3, 3, 1, 0, 1}, 3},  {{2, 3, 7, 6}, {3, 3, 1, 1, 1}, 5}, {{3, 1, 9, 7}, {4, 4, 2, 2, 1}, 4},
        {{1, 3, 11, 11}, {3, 3, 2, 2, 2}, 5}, {{3, 1, 10, 9}, {3, 3, 2, 2, 2}, 1}, {{2, 17, 9, 9}, {4, 4, 2, 2, 1}, 3},
        {{1, 3, 13, 12}, {3, 3, 1, 2, 2}, 2}, {{2, 19, 6, 7}, {4, 4, 1, 1, 1}, 6}, {{3, 2, 12, 11}, {3, 3, 1, 1, 1}, 3},
        {{2, 1, 5, 4}, {3, 3, 1, 1, 1}, 300}, {{21, 2, 3, 3}, {3, 3, 1, 1, 1}, 4},
    };
    for (size_t q = 0; q < sizeof geo / sizeof geo[0]; q++) {
        const int *cv = geo[q].cv;
        Shape x = S4(geo[q].x[0], geo[q].x[1], geo[q].x[2], geo[q].x[3]);
        int64_t Y = ir_conv_out(x.d[2], cv[0], cv[2], cv[3], cv[4]), X = ir_conv_out(x.d[3], cv[1], cv[2], cv[3], cv[4]);
        int64_t K = x.d[1] * cv[0] * cv[1], N = x.d[0] * Y * X;
        char v[160];
        snprintf(v, sizeof v, "%s-product/%s/k%dx%d/s%d/p%d/d%d/co%d", ir_ops[op].name, sstr(x), cv[0], cv[1], cv[2], cv[3],
                 cv[4], geo[q].co);
        ISOLATED(op, labf("%s", v)) {
            T *t = t_new();
            int y;
            if (op == OP_IM2COL) {   /* conv: w[co, K] · cols[K, N] */
                int cols = must(t->g, ir_im2col(t->g, t_var(t, x, 0, 2, 1), cv, L));
                y = must(t->g, ir_matmul(t->g, t_var(t, S2(geo[q].co, K), 0, 2, 1), cols, 0, 0, L));
            } else {   /* deconv: col2im(wᵀ[K, ci] · x[ci, N]) */
                int w = t_var(t, S2(geo[q].co, K), 0, 2, 1), a = t_var(t, S2(geo[q].co, N), 0, 2, 1);
                y = must(t->g, ir_col2im(t->g, must(t->g, ir_matmul(t->g, w, a, 1, 0, L)), x, cv, L));
            }
            check(t, op, y, v, K * N * geo[q].co > 20000 ? GRAD | KERNEL : ALL, 1e-4);
            expect_folded(t, v);
            t_free(t);
        }
    }
}

/* After check() a graph holds convolutions as sema lowers them and their
 * gradients: every SWAP01 must be gone, folded into the products that read
 * its input in place, or the kernel of the product it stores (which then
 * has no buffer). */
static void expect_swaps_folded(T *t, const char *v)
{
    Graph *g = t->g;
    int outs[MAXN] = {0}, n = 0, swaps = 0, *users = calloc((size_t)g->len, sizeof *users);
    if (!users) abort();
    for (int id = 0; id < g->len; id++)
        for (int k = 0; k < g->n[id].n_in; k++) users[g->n[id].in[k]]++;
    for (int id = 0; id < g->len; id++)
        if (!users[id]) outs[n++] = id;
    Schedule *s = sched_graph(g, outs, n);
    char err[200] = "";
    for (int id = 0; id < g->len && !err[0]; id++) {
        if (g->n[id].op != OP_SWAP01) continue;
        int in = sched_owner(g, g->n[id].in[0]);
        swaps++;
        if (!s->folded[id] && !(g->n[in].op == OP_MATMUL && s->folded[in]))
            snprintf(err, sizeof err, "%%%d swap01 is a copy", id);
        else if (s->folded[id] ? s->off[id] >= 0 : s->off[in] >= 0)
            snprintf(err, sizeof err, "%%%d has a buffer", s->folded[id] ? id : in);
    }
    if (!swaps) snprintf(err, sizeof err, "no swap01");
    result(!err[0], labf("sched/swap01-folded/%s", v), err);
    sched_free(s);
    free(users);
}

/* A convolution (de = 0: NCHW x to NCHW [B, co, Y, X]) or a deconvolution
 * (de = 1: NCHW [B, co, Y, X] to NCHW x) exactly as sema lowers them, with
 * the SWAP01 between [C, B*Y*X] and NCHW on each side. */
static int nchw_conv(T *t, Shape x, const int *cv, int64_t co, int de)
{
    Graph *g = t->g;
    int64_t B = x.d[0], Ci = x.d[1], kk = cv[0] * cv[1];
    int64_t Y = ir_conv_out(x.d[2], cv[0], cv[2], cv[3], cv[4]), X = ir_conv_out(x.d[3], cv[1], cv[2], cv[3], cv[4]);
    if (!de) {   /* swap01(reshape(w · im2col(x))) */
        int cols = must(g, ir_im2col(g, t_var(t, x, 0, 2, 1), cv, L));
        int p = must(g, ir_matmul(g, t_var(t, S2(co, Ci * kk), 0, 2, 1), cols, 0, 0, L));
        return ir_un(g, OP_SWAP01, must(g, ir_reshape(g, p, S4(co, B, Y, X), L)), L);
    }
    /* col2im(wᵀ · reshape(swap01(.))) */
    int a = ir_un(g, OP_SWAP01, t_var(t, S4(B, co, Y, X), 0, 2, 1), L);
    int am = must(g, ir_reshape(g, a, S2(co, B * Y * X), L));
    return must(g, ir_col2im(g, must(g, ir_matmul(g, t_var(t, S2(co, Ci * kk), 0, 2, 1), am, 1, 0, L)), x, cv, L));
}

/* Its label, and its multiply-adds. */
static int64_t nchw_label(char *v, size_t n, Shape x, const int *cv, int64_t co, int de)
{
    int64_t Y = ir_conv_out(x.d[2], cv[0], cv[2], cv[3], cv[4]), X = ir_conv_out(x.d[3], cv[1], cv[2], cv[3], cv[4]);
    snprintf(v, n, "%s/%s/k%dx%d/s%d/p%d/co%lld", de ? "deconv" : "conv", sstr(x), cv[0], cv[1], cv[2], cv[3], (long long)co);
    return x.d[1] * cv[0] * cv[1] * x.d[0] * Y * X * co;
}

/* What a product's epilogue computes over its result y (a bias, batchnorm's
 * scale and shift, an activation, a residual): every kind of broadcast and
 * another tensor of y's shape, with an intermediate used twice. */
static int epilogue_chain(T *t, int y)
{
    Graph *g = t->g;
    Shape s = g->n[y].shape;
    int h = ir_bin(g, OP_ADD, y, ir_bcast(g, t_var(t, small_of(s, MAP_CHANNEL), 0, 2, 1), s, MAP_CHANNEL, L), L);
    int k = ir_bin(g, OP_MUL, h, ir_bcast(g, t_var(t, small_of(s, MAP_ROW), 0.5, 1.5, 1), s, MAP_ROW, L), L);
    k = ir_bin(g, OP_ADD, k, ir_bcast(g, t_var(t, small_of(s, MAP_BATCH), 0, 2, 1), s, MAP_BATCH, L), L);
    k = ir_bin(g, OP_SUB, un_f(g, OP_LRELU, k, 0.2), ir_bcast(g, t_var(t, S0, 0, 2, 1), s, MAP_SCALAR, L), L);
    return ir_bin(g, OP_ADD, ir_bin(g, OP_MUL, k, t_var(t, s, 0, 2, 1), L), un_f(g, OP_LRELU, h, 0.1), L);
}

/* The elementwise kernel after the product that computes y must run as the
 * product's epilogue (sched.c absorb_epilogues). */
static void expect_epilogue(T *t, int out, const char *v)
{
    Schedule *s = sched_graph(t->g, &out, 1);
    const Section *sec = &s->sec[SEC_GFWD];
    int absorbed = 0;
    for (int k = 0; k < sec->n; k++) absorbed += sec->k[k].absorbed && k > 0 && sec->k[k - 1].epi == k + 1;
    result(absorbed == 1, labf("sched/epilogue/%s", v), absorbed == 1 ? "" : "no elementwise kernel runs as an epilogue");
    sched_free(s);
}

/* Convolutions and deconvolutions exactly as sema lowers them, with the
 * SWAP01 between [C, B*Y*X] and NCHW on each side, so that the products
 * store and read NCHW in place: Y*X odd and not a multiple of the vector
 * width (vectors straddle two images: split), a multiple of it
 * (contiguous), below it (9, 1: lanes of several images, gathered and
 * scattered), batch 1 and 3, more
 * output channels than a register tile, and K = C*kh*kw above MM_KC with N
 * above 256 (the stored layout re-read between k blocks).  Rows of the
 * columns' image 4, 8, 16 and 32 wide at stride 1 and 2 (the col2im adds
 * runs of a row at a time: cg.c add_runs), starting left of the image,
 * images of 8 columns (a vector's runs in two images), and 16 output
 * channels (the weight gradient reads dY's images through a pointer the k
 * loop steps, cg.c mm_tile: whole register tiles of rows only). */
static void nchw_cases(void)
{
    const struct { int64_t x[4]; int cv[5], co; } geo[] = {
        {{3, 2, 9, 7}, {3, 3, 1, 1, 1}, 5},   {{1, 3, 8, 8}, {4, 4, 2, 1, 1}, 4},  {{3, 1, 8, 8}, {4, 4, 2, 1, 1}, 3},
        {{2, 3, 4, 4}, {4, 4, 1, 0, 1}, 7},   {{3, 2, 7, 7}, {3, 3, 1, 1, 1}, 9},  {{2, 4, 16, 16}, {3, 3, 1, 1, 1}, 3},
        {{3, 17, 20, 20}, {4, 4, 2, 1, 1}, 70}, {{1, 5, 11, 13}, {3, 3, 1, 0, 1}, 2}, {{3, 2, 5, 5}, {3, 3, 2, 1, 1}, 4},
        {{2, 3, 32, 32}, {4, 4, 2, 1, 1}, 5},  {{3, 2, 32, 32}, {3, 3, 2, 1, 1}, 4}, {{3, 2, 8, 8}, {3, 3, 1, 1, 1}, 3},
        {{5, 2, 2, 4}, {3, 3, 1, 1, 1}, 3},  {{2, 3, 16, 16}, {4, 4, 2, 1, 1}, 4}, {{2, 3, 9, 9}, {3, 3, 1, 1, 1}, 16},
    };
    for (size_t q = 0; q < sizeof geo / sizeof geo[0]; q++)
        for (int de = 0; de < 2; de++) {
            const int *cv = geo[q].cv;
            Shape x = S4(geo[q].x[0], geo[q].x[1], geo[q].x[2], geo[q].x[3]);
            char v[160];
            int64_t macs = nchw_label(v, sizeof v, x, cv, geo[q].co, de);
            ISOLATED(OP_SWAP01, labf("swap01/%s", v)) {
                T *t = t_new();
                int y = nchw_conv(t, x, cv, geo[q].co, de);
                check(t, OP_SWAP01, y, v, macs > 20000 ? GRAD | KERNEL : ALL, 1e-4);
                expect_swaps_folded(t, v);
                t_free(t);
            }
            /* the same with an elementwise chain after it, run as the epilogue
             * of the product that stores NCHW or sums into the image */
            ISOLATED(OP_MATMUL, labf("epilogue/%s", v)) {
                T *t = t_new();
                int y = epilogue_chain(t, nchw_conv(t, x, cv, geo[q].co, de));
                expect_epilogue(t, y, v);
                check(t, OP_MATMUL, y, labf("epilogue/%s", v), macs > 20000 ? GRAD | KERNEL : ALL, 1e-4);
                t_free(t);
            }
        }
}

/* Plain products whose result an elementwise chain reads, compiled with the
 * chain as their epilogue (rows: the batch; K above MM_KC: the epilogue
 * after the last k block; M and N not multiples of the tile); nchw_cases()
 * does the same for convolutions and deconvolutions. */
static void epilogue_cases(void)
{
    const struct { int64_t m, k, n; } mm[] = {{5, 300, 37}, {70, 40, 45}, {1, 3, 16}};
    for (size_t q = 0; q < sizeof mm / sizeof mm[0]; q++) {
        char v[100];
        snprintf(v, sizeof v, "matmul/%lldx%lldx%lld", (long long)mm[q].m, (long long)mm[q].k, (long long)mm[q].n);
        ISOLATED(OP_MATMUL, labf("epilogue/%s", v)) {
            T *t = t_new();
            int p = must(t->g, ir_matmul(t->g, t_var(t, S2(mm[q].m, mm[q].k), 0, 2, 1), t_var(t, S2(mm[q].k, mm[q].n), 0, 2, 1), 0, 0, L));
            int y = epilogue_chain(t, p);
            expect_epilogue(t, y, v);
            check(t, OP_MATMUL, y, labf("epilogue/%s", v), mm[q].m * mm[q].k * mm[q].n > 20000 ? GRAD | KERNEL : ALL, 1e-4);
            t_free(t);
        }
    }
    /* an elementwise kernel whose first output takes the buffer of the
     * input that dies there, which its second output reads after */
    ISOLATED(OP_MATMUL, "epilogue/in-place") {
        T *t = t_new();
        Graph *g = t->g;
        int x = must(g, ir_matmul(g, t_var(t, S2(6, 9), 0, 2, 1), t_var(t, S2(9, 37), 0, 2, 1), 0, 0, L));
        int r0 = ir_reduce(g, x, MAP_SCALAR, L);
        int y1 = ir_un(g, OP_NEG, x, L), y2 = ir_bin(g, OP_ADD, ir_bin(g, OP_MUL, x, y1, L), x, L);
        int y = ir_bin(g, OP_ADD, ir_reduce(g, y1, MAP_ROW, L), ir_reduce(g, y2, MAP_ROW, L), L);
        y = ir_bin(g, OP_ADD, y, ir_bcast(g, r0, S1(6), MAP_SCALAR, L), L);
        Schedule *s = sched_graph(g, &y, 1);
        result(s->off[y1] == s->off[x], "sched/in-place/output-takes-dying-input", "y1 has a buffer of its own");
        sched_free(s);
        check(t, OP_MATMUL, y, "epilogue/in-place", KERNEL, 1e-4);
        t_free(t);
    }
}

static void spatial_cases(Op op)
{
    struct { Shape x; int k; } c[] = {{S4(2, 3, 4, 6), 2}, {S4(1, 2, 6, 6), 3}, {S4(2, 1, 3, 5), 1},
                                      {S4(3, 2, 8, 4), 2}, {S4(2, 3, 5, 5), -1}, {S4(1, 1, 1, 1), 2}};
    for (size_t q = 0; q < sizeof c / sizeof c[0]; q++) {
        int k = c[q].k;
        if (op == OP_AVGPOOL && (k < 1 || c[q].x.d[2] % k || c[q].x.d[3] % k)) continue;
        if (op == OP_UPSAMPLE && k < 1) continue;
        char v[100];
        snprintf(v, sizeof v, "%s/k%d", sstr(c[q].x), k);
        ISOLATED(op, labf("%s/%s", ir_ops[op].name, v)) {
            T *t = t_new();
            int i[3] = {k, 0, 0}, a = t_var(t, c[q].x, 0, 2, 1);
            check(t, op, must(t->g, ir_add(t->g, op, &a, 1, NULL, i, L)), v, ALL, 1e-4);
            t_free(t);
        }
    }
}

/* Runs the cases of op; returns 0 if the op has none. */
static int op_cases(Op op)
{
    switch (op) {
    case OP_INPUT: case OP_PARAM: case OP_CONST: source_cases(op); return 1;
    case OP_DROPMASK: dropmask_cases(); return 1;
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_AFFINE: case OP_NEG: case OP_RELU: case OP_LRELU:
    case OP_TANH: case OP_SIGMOID: case OP_LOG: case OP_EXP: case OP_SOFTPLUS: case OP_ABS: case OP_SQUARE: case OP_RSQRT:
    case OP_RELU_GRAD: case OP_LRELU_GRAD: case OP_TANH_GRAD: case OP_SIGM_GRAD: case OP_SIGN:
        elem_cases(op);
        return 1;
    case OP_BCAST: bcast_reduce_cases(op); shared_bcast_cases(); return 1;
    case OP_REDUCE: bcast_reduce_cases(op); remat_cases(); return 1;
    case OP_MATMUL: matmul_cases(); epilogue_cases(); return 1;
    case OP_BMATMUL: bmatmul_cases(); return 1;
    case OP_WINO_IN: case OP_WINO_OUT: case OP_WINO_W: wino_cases(op); return 1;
    case OP_RESHAPE: reshape_cases(); return 1;
    case OP_CONCAT: concat_cases(); return 1;
    case OP_SLICE: slice_cases(); return 1;
    case OP_TRANSPOSE: transpose_cases(); return 1;
    case OP_SWAP01: swap01_cases(); nchw_cases(); return 1;
    case OP_IM2COL: case OP_COL2IM: conv_cases(op); conv_product_cases(op); return 1;
    case OP_AVGPOOL: case OP_UPSAMPLE: case OP_PAD: spatial_cases(op); return 1;
    case OP_COUNT: break;
    }
    return 0;   /* a new op: give it cases above */
}

/* ---------- simplify keeps values ---------- */

static int has_log_of_sigmoid(const Graph *g)
{
    for (int id = 0; id < g->len; id++) {
        if (g->n[id].op != OP_LOG) continue;
        const Node *a = &g->n[g->n[id].in[0]];
        if (a->op == OP_SIGMOID) return 1;
        if ((a->op == OP_AFFINE || a->op == OP_SUB) && g->n[a->in[a->n_in - 1]].op == OP_SIGMOID) return 1;
    }
    return 0;
}

static int count_op(const Graph *g, Op op)
{
    int n = 0;
    for (int id = 0; id < g->len; id++) n += g->n[id].op == op;
    return n;
}

/* form 0: log(sigmoid(t)); 1: log(affine(sigmoid(t), -1, 1)); 2: log(1 - sigmoid(t)) */
static int literal_form(Graph *g, int t, int form)
{
    int s = ir_un(g, OP_SIGMOID, t, L);
    if (form == 0) return ir_un(g, OP_LOG, s, L);
    if (form == 1) return ir_un(g, OP_LOG, ir_affine(g, s, -1, 1, L), L);
    return ir_un(g, OP_LOG, ir_bin(g, OP_SUB, ir_const(g, 1, g->n[t].shape, L), s, L), L);
}

static void simplify_cases(void)
{
    static const char *forms[3] = {"log(sigmoid(t))", "log(affine(sigmoid(t),-1,1))", "log(1-sigmoid(t))"};
    for (int form = 0; form < 3; form++) ISOLATED(OP_LOG, forms[form]) {
        /* moderate t: values kept, on the interpreter; then the gradient */
        T *t = t_new();
        Graph *g = t->g;
        int x = t_src(t, OP_INPUT, S2(4, 9), 0, 15, 1, 1);
        int y = literal_form(g, x, form);
        double **v0 = interp_eval(g, g->len, t->pre);
        int64_t n = ir_numel(g->n[y].shape);
        double *want = malloc((size_t)n * sizeof *want);
        if (!want) abort();
        memcpy(want, v0[y], (size_t)n * sizeof *want);
        interp_done(g, g->len, v0);
        Graph *sg = graph_clone(g);
        int roots[2] = {y, x};
        simplify(&sg, roots, 2);
        char err[600] = "", name[200];
        int ok = 1;
        if (has_log_of_sigmoid(sg)) snprintf(err, sizeof err, "a log of a sigmoid is left"), ok = 0;
        else if (!count_op(sg, OP_SOFTPLUS)) snprintf(err, sizeof err, "no softplus in the simplified graph"), ok = 0;
        else if (sg->n[roots[1]].op != OP_INPUT) snprintf(err, sizeof err, "the input root is not an input"), ok = 0;
        if (ok) {
            double **sp = calloc((size_t)sg->len + 1, sizeof *sp);
            if (!sp) abort();
            sp[roots[1]] = t->pre[x];
            double **v1 = interp_eval(sg, sg->len, sp);
            double worst = 0;
            for (int64_t e = 0; e < n; e++) {
                double r = fabs(v1[roots[0]][e] - want[e]) / fmax(1, fabs(want[e]));
                if (!(r <= worst)) worst = r;
            }
            if (worst > 1e-8) snprintf(err, sizeof err, "value changed: max rel error %.3g", worst), ok = 0;
            interp_done(sg, sg->len, v1);
            free(sp);
        }
        snprintf(name, sizeof name, "simplify/%s", forms[form]);
        result(ok, name, err);
        /* the simplified graph's gradient and kernels */
        if (ok) {
            T *t2 = t_new();
            ir_free(t2->g);
            t2->g = sg;
            sg = NULL;
            t2->pre[roots[1]] = t->pre[x];
            t->pre[x] = NULL;
            t2->diff[roots[1]] = 1;
            char v[100];
            snprintf(v, sizeof v, "simplified/%s", forms[form]);
            check(t2, OP_SOFTPLUS, roots[0], v, ALL, 2e-5);
            t_free(t2);
        }
        ir_free(sg);
        free(want);
        t_free(t);

        /* large |t|: the literal form overflows in float, the simplified kernel is finite */
        t = t_new();
        g = t->g;
        x = t_src(t, OP_INPUT, S1(12), 0, 1, 0, 0);
        const double big[12] = {50, -50, 100, -100, 80, -80, 30, -30, 17, -17, 0, 1e-3};
        memcpy(t->pre[x], big, sizeof big);
        y = literal_form(g, x, form);
        float *lit[1] = {NULL}, *res[1] = {NULL};
        err[0] = 0;
        ok = jit_run(g, &y, 1, t->pre, 1, lit, err, sizeof err);
        int lit_bad = 0;
        for (int k = 0; ok && k < 12; k++) lit_bad += !isfinite(lit[0][k]);
        sg = graph_clone(g);
        roots[0] = y, roots[1] = x;
        simplify(&sg, roots, 2);
        double *sp[MAXN] = {0};
        sp[roots[1]] = t->pre[x];
        if (ok) ok = jit_run(sg, roots, 1, sp, 1, res, err, sizeof err);
        if (ok) {
            double **v1 = interp_eval(sg, sg->len, sp);
            for (int k = 0; k < 12 && ok; k++) {
                /* log sigmoid(t) = -softplus(-t); log(1 - sigmoid(t)) = -softplus(t) */
                double tt = form == 0 ? -big[k] : big[k];
                double exact = -(fmax(tt, 0) + log1p(exp(-fabs(tt))));
                if (!isfinite(res[0][k])) snprintf(err, sizeof err, "t = %g: simplified kernel gives %g", big[k], (double)res[0][k]), ok = 0;
                else if (!close_enough(res[0][k], exact, 2e-5, TOL_MAX1) || !close_enough(v1[roots[0]][k], exact, 1e-12, TOL_MAX1))
                    snprintf(err, sizeof err, "t = %g: kernel %.9g, interpreter %.12g, exact %.12g", big[k], (double)res[0][k],
                             v1[roots[0]][k], exact), ok = 0;
            }
            interp_done(sg, sg->len, v1);
            if (ok) snprintf(err, sizeof err, "the literal form has %d non-finite values of 12 in float", lit_bad);
        }
        snprintf(name, sizeof name, "simplify/%s/large-t", forms[form]);
        result(ok, name, err);
        free(lit[0]); free(res[0]);
        ir_free(sg);
        t_free(t);
    }
}

int main(int argc, char **argv)
{
    verbose = argc > 1 && !strcmp(argv[1], "-v");
    C = mmap(NULL, sizeof *C, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (C == MAP_FAILED) { perror("opcheck: mmap"); return 2; }
    memset(C, 0, sizeof *C);
    init_shapes();
    LLVMLinkInMCJIT();
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    tm = cg_target(NULL, NULL, &vw);
    host_cpu = LLVMGetHostCPUName();
    host_features = LLVMGetHostCPUFeatures();
    union { void (*f)(GanrtKernel, float *, int64_t, int64_t); void *p; } par = {.f = ganrt_parallel};
    LLVMAddSymbol("ganrt_parallel", par.p);
    printf("# opcheck: %d ops, host %s, vector width %d\n", (int)OP_COUNT, host_cpu, vw);

    for (Op op = 0; op < OP_COUNT; op++) {
        printf("# %s\n", ir_ops[op].name);
        if (!op_cases(op)) C->op_checks[op] = 0;
    }
    printf("# transcendental kernels over wide ranges\n");
    transcendental_cases();
    printf("# simplify\n");
    simplify_cases();
    for (Op op = 0; op < OP_COUNT; op++)
        if (!C->op_checks[op]) {
            char name[100];
            snprintf(name, sizeof name, "%s: no check", ir_ops[op].name);
            result(0, name, "");
        }
    if (!C->par_calls) result(0, "ganrt_parallel was called", "no kernel took the parallel path");
    printf("# %d passed, %d failed, %lld parallel splits\n", C->pass, C->fail, (long long)C->par_calls);
    LLVMDisposeMessage(host_cpu);
    LLVMDisposeMessage(host_features);
    LLVMDisposeTargetMachine(tm);
    return C->fail ? 1 : 0;
}
