/* sema.c: from the syntax tree to the Program (names, shapes, the graph).
 *
 * sema_program() checks a parsed file and builds one Graph holding every
 * tensor of a training step: the inputs x [B,data...] and z [B,noise], the
 * networks instantiated at each call with shared PARAM nodes, and the two
 * losses.  Shapes always include the batch dimension B (the train batch);
 * messages show per-sample shapes inside networks ("[1,28,28]") and
 * batch shapes ("[B,1]") in the objective.
 *
 * Networks: a body is evaluated once per call (an "instance") with the
 * network's parameter bound to the argument node.  Layers are numbered as
 * nn.Sequential numbers them: every layer of the body counts, in source
 * order from 0, and a block is a nested Sequential (G.3.0.weight).  The
 * PARAM nodes are made at the first instance and shared by all later ones;
 * the body's errors are reported at that first instance only.
 * G(z) in the objective is one training-mode instance shared by both
 * objective statements (Program.fake); Program.sample is one more instance
 * in evaluation mode (dropout off).  D is instantiated per call, memoised by
 * argument within one objective statement, because D's weights change
 * between the D step and the G step.
 *
 * Layers follow PyTorch (output sizes, weight layouts, default init):
 * conv is IM2COL, a product with the [c, Ci*k*k] weight and SWAP01 back to
 * NCHW; deconv (ConvTranspose2d, weight [Ci, c, k, k]) is the adjoint,
 * a product with the transposed weight and COL2IM; biases and batchnorm are
 * per channel (MAP_CHANNEL, axis 1).  batchnorm normalises with the batch's
 * statistics in training instances and appends to Program.assign the
 * updates of its running_mean/running_var buffers (PARAM nodes with i[2] =
 * 1); the evaluation instance (Program.sample) uses the buffers.  Updates
 * made within one objective statement (one training section) chain, each
 * starting from the previous one's result, so applying them in list order
 * matches PyTorch's successive forward calls.  `train { init dcgan }` (or
 * `init normal(std)`) makes every linear/conv/deconv weight N(0, std) and
 * batchnorm's gamma N(1, std); biases keep PyTorch's uniform init.
 * `-> layer if cond` leaves the layer out (unnumbered) when cond is 0.
 *
 * Objective: `max N: e` makes N's loss NEG(e), `min N: e` makes it e (e must
 * be a scalar: E[...] is REDUCE + AFFINE 1/numel).  Named objectives
 * (nonsaturating, minimax, hinge, lsgan) are built from D's logit: the input
 * of D's final sigmoid if it has one, else its output.  log(sigmoid(t)) is
 * left literal for simplify.c.
 *
 * Every user error is reported with diag_error at the user's text and sema
 * goes on (a failed value is "poison" and silences errors that depend on
 * it), so one run reports several errors.  Returns NULL if any was reported.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "ganc.h"
#include "ast.h"

/* Train defaults (PyTorch's where PyTorch has one):
 *   batch 64, steps 10000, d_steps 1,
 *   sample every max(1, steps/10), checkpoint every max(1, steps/5),
 *   adam: lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8;  sgd: lr 1e-3, momentum 0.
 * Data defaults: ring(modes=8, radius=1, std=0.01), grid(std=0.05) (25 modes
 * at {-4,-2,0,2,4}^2, spacing 2).  Noise: uniform(dim, lo=-1, hi=1). */
enum { DEF_BATCH = 64, DEF_STEPS = 10000 };

enum { V_POISON, V_NUM, V_TENSOR };
typedef struct {
    int kind;
    double num;
    int node;
} Val;

typedef struct {
    const char *name;
    int is_num;
    double num;
    int node;
    int used;
    const Ast *def;    /* the assignment that made it, or NULL */
} Binding;

typedef struct {
    Binding v[64];
    int n;
} Env;

/* The parameters of one layer, shared by the network's instances. */
typedef struct {
    char *path;        /* "G.0" */
    int w, b;          /* weight, bias (or batchnorm's gamma, beta); -1 if none */
    int rm, rv;        /* batchnorm: running_mean, running_var buffers */
    int cur_m, cur_v;  /* their values after the updates made so far in epoch */
    int epoch;
} Slot;

typedef struct {
    const Ast *def;
    const char *name;
    int kind;          /* NET_G or NET_D */
    int item;          /* index of the definition among the file's items */
    Slot *slots;
    int n_slots;
    int state;         /* 0: not instantiated yet, 1: ok, -1: its body has errors */
    Loc out;           /* where the body's output comes from */
    Shape in_shape;    /* the argument shape of the first instance */
    Loc first_call;
    int used_early;    /* "used before its definition" already reported */
} NetInfo;

typedef struct {
    int out, logit, prob;   /* prob: the final sigmoid node, or -1 */
} NetOut;

typedef struct {
    int arg;
    NetOut out;
} Memo;

typedef struct {
    int net;           /* NET_D or NET_G: whose objective */
    int calls[2];      /* calls of G and of D in this statement */
    Memo d[16];        /* D instances of this statement */
    int n_d;
} ObjCtx;

typedef struct {
    Program *p;
    Graph *g;
    const char *file;
    Loc file_loc;
    const Ast *data, *noise, *obj, *train;
    int obj_item;
    const char *x_name, *z_name;
    NetInfo nets[2];   /* by Net */
    const Ast *blocks[32];
    int n_blocks;
    /* the instance being built */
    NetInfo *cur;
    int training;
    char prefix[160];
    int counter;
    int depth;
    Memo gmemo[8];
    int n_gmemo;
    int epoch;         /* numbers the objective statements: a training step's
                          section; batchnorm updates chain within one */
    double init_std;   /* `init normal(std)` / `init dcgan`; 0: PyTorch's init */
    int d_call;        /* building an instance of D for the objective of: 0 none,
                          1 + NET_D or 1 + NET_G (its updates' section) */
    int seen[2];       /* a noise / data declaration was written (maybe rejected) */
    int seen_net[2];   /* a generator / discriminator was written (maybe rejected) */
} Sema;

/* ---------------------------------------------------------------- helpers */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    ir_assert(p);
    return memcpy(p, s, n);
}

static Val poison(void) { return (Val){V_POISON, 0, -1}; }
static Val num(double v) { return (Val){V_NUM, v, -1}; }
static Val tensor(int node) { return node < 0 ? poison() : (Val){V_TENSOR, 0, node}; }

static Shape shape_of(const Sema *s, int node) { return s->g->n[node].shape; }

/* Per-sample shape text: [B,1,28,28] -> "[1,28,28]". */
static const char *sample_str(Shape sh, char *buf, size_t n)
{
    Shape t = {0};
    t.rank = sh.rank > 0 ? sh.rank - 1 : 0;
    for (int k = 0; k < t.rank; k++) t.d[k] = sh.d[k + 1];
    return ir_shape_str(t, buf, n);
}

/* Batch shape text: "[B,1]", or "a scalar". */
static const char *batch_str(Shape sh, char *buf, size_t n)
{
    if (sh.rank == 0) {
        snprintf(buf, n, "a scalar");
        return buf;
    }
    size_t o = (size_t)snprintf(buf, n, "[B");
    for (int k = 1; k < sh.rank && o < n; k++) o += (size_t)snprintf(buf + o, n - o, ",%lld", (long long)sh.d[k]);
    if (o < n) snprintf(buf + o, n - o, "]");
    return buf;
}

/* Optimal string alignment distance, for "did you mean". */
static int edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 40 || lb > 40) return 99;
    int d[41][41];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int c = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + c < v) v = d[i - 1][j - 1] + c;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

/* The candidate closest to w, if close enough to be a likely typo. */
static const char *closest(const char *w, const char *const *cands, int n)
{
    const char *best = NULL;
    size_t len = strlen(w);
    int bd = 99, lim = len >= 5 ? 2 : len >= 2 ? 1 : 0;
    for (int k = 0; k < n; k++) {
        if (!cands[k]) continue;
        int d = edit_distance(w, cands[k]);
        if (d < bd) {
            bd = d;
            best = cands[k];
        }
    }
    return bd <= lim ? best : NULL;
}

/* "; did you mean 'x'?" or "" */
static const char *hint(char *buf, size_t n, const char *w, const char *const *cands, int nc)
{
    const char *c = closest(w, cands, nc);
    if (c) snprintf(buf, n, "; did you mean '%s'?", c);
    else buf[0] = 0;
    return buf;
}

static int is_int(double v) { return v == floor(v) && fabs(v) < 1e15; }

/* -------------------------------------------------------------- arguments */

typedef struct {
    const char *name;
    int required;      /* 1 required, 0 optional, KW_ONLY optional and only by keyword (after the others) */
    double def;
} ArgSpec;
enum { KW_ONLY = 2 };

static Binding *env_find(const Env *env, const char *name)
{
    for (int k = env ? env->n - 1 : -1; k >= 0; k--)
        if (strcmp(env->v[k].name, name) == 0) return (Binding *)&env->v[k];
    return NULL;
}

/* A compile-time number: literals, + - * /, and numeric names in env
 * (block parameters; true and false). Returns 0 after reporting an error. */
static int const_eval(const Env *env, const Ast *a, double *out, const char *what)
{
    double l, r;
    switch (a->kind) {
    case AST_NUM: *out = a->num; return 1;
    case AST_NEG:
        if (!const_eval(env, a->kid, &l, what)) return 0;
        *out = -l;
        return 1;
    case AST_BIN:
        if (!const_eval(env, a->kid, &l, what) || !const_eval(env, a->kid->next, &r, what)) return 0;
        switch (a->op) {
        case '+': *out = l + r; break;
        case '-': *out = l - r; break;
        case '*': *out = l * r; break;
        default:
            if (r == 0) {
                diag_error(a->loc, "division by zero in %s", what);
                return 0;
            }
            *out = l / r;
            break;
        }
        return 1;
    case AST_NAME: {
        const Binding *b = env_find(env, a->name);
        if (b && b->is_num) {
            *out = b->num;
            return 1;
        }
        if (!strcmp(a->name, "true") || !strcmp(a->name, "false")) {
            *out = !strcmp(a->name, "true");
            return 1;
        }
        diag_error(a->loc, "%s must be a number, got '%s'", what, a->name);
        return 0;
    }
    case AST_STR: diag_error(a->loc, "%s must be a number, got a string", what); return 0;
    default: diag_error(a->loc, "%s must be a number", what); return 0;
    }
}

/* PyTorch's keyword names, accepted for the short ones of the layers:
 * conv(64, kernel_size=4, stride=2, padding=1) is conv(64, k=4, s=2, p=1). */
static const char *const kw_alias[][2] = {
    {"kernel", "k"}, {"kernel_size", "k"}, {"stride", "s"}, {"padding", "p"}, {"dilation", "d"},
    {"output_padding", "op"},
};
enum { N_KW_ALIAS = sizeof kw_alias / sizeof kw_alias[0] };

/* Binds the arguments of call (an AST_CALL, or an AST_NAME: no arguments)
 * to spec (at most 12 entries), after skipping `skip` positional arguments.
 * Keywords may also be the aliases of kw_alias.  Values go to out[], their
 * locations to locs[] (the call's location for defaults). */
static int bind_args(const Env *env, const Ast *call, int skip, const char *fname, const ArgSpec *spec, int n,
                     double *out, Loc *locs)
{
    int set[12] = {0}, ok = 1, pos = 0, n_pos = 0, n_req = 0, n_ps = 0;
    ir_assert(n <= 12);
    char what[96], list[160] = "", plist[160] = "";
    for (int k = 0; k < n; k++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", k ? ", " : "", spec[k].name);
        n_req += spec[k].required == 1;
        if (spec[k].required != KW_ONLY) {   /* the positional ones come first */
            ir_assert(n_ps == k);
            n_ps++;
            memcpy(plist, list, sizeof plist);
        }
    }
    for (const Ast *a = call->kind == AST_CALL ? call->kid : NULL; a; a = a->next) n_pos += a->kind != AST_KWARG;
    n_pos -= skip;
    for (int k = 0; k < n; k++) {
        out[k] = spec[k].def;
        locs[k] = call->loc;
    }
    if (call->kind != AST_CALL) goto required;
    for (const Ast *a = call->kid; a; a = a->next) {
        int slot = -1;
        if (a->kind == AST_KWARG) {
            for (int k = 0; k < n; k++)
                if (!strcmp(spec[k].name, a->name)) slot = k;
            for (int j = 0; j < N_KW_ALIAS && slot < 0; j++)
                if (!strcmp(kw_alias[j][0], a->name))
                    for (int k = 0; k < n; k++)
                        if (!strcmp(spec[k].name, kw_alias[j][1])) slot = k;
            if (slot < 0) {
                char hb[96];
                const char *names[12 + N_KW_ALIAS];
                int nn = 0;
                for (int k = 0; k < n; k++) names[nn++] = spec[k].name;
                for (int j = 0; j < N_KW_ALIAS; j++)
                    for (int k = 0; k < n; k++)
                        if (!strcmp(spec[k].name, kw_alias[j][1])) names[nn++] = kw_alias[j][0];
                hint(hb, sizeof hb, a->name, names, nn);
                if (n == 0) diag_error(a->loc, "%s takes no arguments", fname);
                else if (hb[0]) diag_error(a->loc, "%s has no parameter '%s'%s", fname, a->name, hb);
                else diag_error(a->loc, "%s has no parameter '%s'; its parameters are: %s", fname, a->name, list);
                ok = 0;
                continue;
            }
        } else {
            if (skip > 0) {
                skip--;
                continue;
            }
            if (pos >= n_ps) {
                if (n == 0) diag_error(a->loc, "%s takes no arguments", fname);
                else if (n_ps == 0) diag_error(a->loc, "%s takes keyword arguments only (%s)", fname, list);
                else diag_error(a->loc, "%s takes %s%d argument%s (%s), got %d", fname, n_req < n_ps ? "at most " : "",
                                n_ps, n_ps == 1 ? "" : "s", plist, n_pos);
                ok = 0;
                break;
            }
            slot = pos++;
        }
        if (set[slot]) {
            diag_error(a->loc, "argument %s of %s is given twice", spec[slot].name, fname);
            ok = 0;
            continue;
        }
        set[slot] = 1;
        snprintf(what, sizeof what, "argument %s of %s", spec[slot].name, fname);
        const Ast *v = a->kind == AST_KWARG ? a->kid : a;
        locs[slot] = v->loc;
        if (!const_eval(env, v, &out[slot], what)) ok = 0;
    }
required:
    for (int k = 0; k < n && ok; k++)
        if (spec[k].required == 1 && !set[k]) {
            diag_error(call->loc, "%s needs its argument %s: %s(%s)", fname, spec[k].name, fname, spec[k].name);
            ok = 0;
        }
    return ok;
}

static int want_pos_int(double v, Loc loc, const char *what)
{
    if (!is_int(v) || v < 1 || v > (double)INT_MAX) {
        diag_error(loc, "%s must be a positive integer, got %g", what, v);
        return 0;
    }
    return 1;
}

static int want_nonneg_int(double v, Loc loc, const char *what)
{
    if (!is_int(v) || v < 0 || v > (double)INT_MAX) {
        diag_error(loc, "%s must be a non-negative integer, got %g", what, v);
        return 0;
    }
    return 1;
}

static int want_bool(double v, Loc loc, const char *arg, const char *fname)
{
    if (v != 0 && v != 1) {
        diag_error(loc, "argument %s of %s must be true or false, got %g", arg, fname, v);
        return 0;
    }
    return 1;
}

/* ----------------------------------------------------------------- layers */

static const char *const layer_names[] = {
    "linear", "dense",     "relu",    "leaky_relu", "tanh",     "sigmoid", "reshape", "flatten", "concat",
    "dropout", "pack",     "conv",    "deconv",     "batchnorm", "avgpool", "upsample", "pad",
};
enum { N_LAYERS = sizeof layer_names / sizeof layer_names[0] };
/* Layers of LANGUAGE.md that are not implemented yet. */
static const char *const later_layers[] = {"pixelnorm", "embed", "onehot", "minibatch_stddev"};
static const char *const math_names[] = {"log", "exp", "abs", "sigmoid", "tanh", "relu", "softplus", "square"};
static const Op math_ops[] = {OP_LOG, OP_EXP, OP_ABS, OP_SIGMOID, OP_TANH, OP_RELU, OP_SOFTPLUS, OP_SQUARE};
enum { N_MATH = sizeof math_names / sizeof math_names[0] };

static int find_name(const char *const *names, int n, const char *w)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(names[k], w)) return k;
    return -1;
}

static const Ast *find_block(const Sema *s, const char *name)
{
    for (int k = 0; k < s->n_blocks; k++)
        if (!strcmp(s->blocks[k]->name, name)) return s->blocks[k];
    return NULL;
}

static NetInfo *find_net(Sema *s, const char *name)
{
    for (int k = 0; k < 2; k++)
        if (s->nets[k].def && !strcmp(s->nets[k].name, name)) return &s->nets[k];
    return NULL;
}

static Slot *slot_get(NetInfo *n, const char *path)
{
    for (int k = 0; k < n->n_slots; k++)
        if (!strcmp(n->slots[k].path, path)) return &n->slots[k];
    n->slots = realloc(n->slots, (size_t)(n->n_slots + 1) * sizeof *n->slots);
    ir_assert(n->slots);
    Slot *sl = &n->slots[n->n_slots++];
    *sl = (Slot){xstrdup(path), -1, -1, -1, -1, -1, -1, -1};
    return sl;
}

/* A PARAM node "<path>.<what>" of the current network: init with f = {a, b}
 * (bound, or std and mean); buffer: not trained (batchnorm statistics). */
static int param(Sema *s, const char *path, const char *what, Shape sh, Init init, double a, double b, int buffer,
                 Loc loc)
{
    char name[192];
    snprintf(name, sizeof name, "%s.%s", path, what);
    int i[3] = {s->cur->kind, init, buffer};
    double f[2] = {a, b};
    return ir_source(s->g, OP_PARAM, sh, f, i, xstrdup(name), loc);
}

/* The weight of linear, conv and deconv: U(-bound, bound) as PyTorch's
 * kaiming_uniform(a=sqrt(5)), or N(0, std) under `init normal(std)`. */
static int weight(Sema *s, const char *path, Shape sh, double bound, Loc loc)
{
    if (s->init_std > 0) return param(s, path, "weight", sh, INIT_NORMAL, s->init_std, 0, 0, loc);
    return param(s, path, "weight", sh, INIT_UNIFORM, bound, 0, 0, loc);
}

/* A bias: always PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
static int bias_param(Sema *s, const char *path, int64_t n, double bound, Loc loc)
{
    return param(s, path, "bias", (Shape){1, {n}}, INIT_UNIFORM, bound, 0, 0, loc);
}

/* Adds the per-channel bias (a [C] PARAM) to y, [B,C,...]. */
static int add_channel_bias(Sema *s, int y, int b, Loc loc)
{
    if (b < 0) return y;
    return ir_bin(s->g, OP_ADD, y, ir_bcast(s->g, b, shape_of(s, y), MAP_CHANNEL, loc), loc);
}

/* Reports g->err, the shape rule's complaint, at loc. */
static int shape_error(Sema *s, Loc loc, const char *layer)
{
    diag_error(loc, "%s: %s", layer, s->g->err);
    return -1;
}

static int layer_linear(Sema *s, int x, int n, int bias, const char *path, Loc loc, const char *lname)
{
    char b1[64];
    Shape xs = shape_of(s, x);
    if (xs.rank != 2) {
        diag_error(loc, "%s expects a flat [F] input, got %s; add flatten before it", lname,
                   sample_str(xs, b1, sizeof b1));
        return -1;
    }
    int64_t F = xs.d[1];
    Slot *sl = slot_get(s->cur, path);
    if (sl->w < 0) {
        double bound = 1 / sqrt((double)F);
        sl->w = weight(s, path, (Shape){2, {n, F}}, bound, loc);
        if (bias) sl->b = bias_param(s, path, n, bound, loc);
    }
    int y = ir_matmul(s->g, x, sl->w, 0, 1, loc);
    if (y < 0) return shape_error(s, loc, lname);
    if (sl->b < 0) return y;
    int b = ir_bcast(s->g, sl->b, shape_of(s, y), MAP_BATCH, loc);
    return ir_bin(s->g, OP_ADD, y, b, loc);
}

/* The geometry of conv(c, k=4, s=1, p=0, d=1, bias=true, groups=1) and
 * deconv(c, k=4, s=1, p=0, op=0, d=1, bias=true, groups=1). */
typedef struct {
    int c, k, s, p, op, d, bias;
} ConvSpec;

static int conv_args(const Env *env, const Ast *layer, int skip, const char *name, int transposed, ConvSpec *cs)
{
    static const ArgSpec conv_sp[] = {{"c", 1, 0}, {"k", 0, 4}, {"s", 0, 1}, {"p", 0, 0}, {"d", 0, 1},
                                      {"bias", KW_ONLY, 1}, {"groups", KW_ONLY, 1}};
    static const ArgSpec deconv_sp[] = {{"c", 1, 0},  {"k", 0, 4},          {"s", 0, 1},           {"p", 0, 0},
                                        {"op", 0, 0}, {"d", KW_ONLY, 1}, {"bias", KW_ONLY, 1}, {"groups", KW_ONLY, 1}};
    double v[8];
    Loc vl[8];
    char what[64];
    int n = transposed ? 8 : 7, io = transposed ? 4 : -1, id = transposed ? 5 : 4, ok = 1;
    if (!bind_args(env, layer, skip, name, transposed ? deconv_sp : conv_sp, n, v, vl)) return 0;
    static const char *const whats[] = {"the number of channels", "the kernel size", "the stride", "the padding"};
    for (int k = 0; k < 4; k++) {
        snprintf(what, sizeof what, "%s of %s", whats[k], name);
        ok &= k == 3 ? want_nonneg_int(v[k], vl[k], what) : want_pos_int(v[k], vl[k], what);
    }
    snprintf(what, sizeof what, "the dilation of %s", name);
    ok &= want_pos_int(v[id], vl[id], what);
    ok &= want_bool(v[id + 1], vl[id + 1], "bias", name);
    if (v[id + 2] != 1) {
        diag_error(vl[id + 2], "%s supports groups=1 only; grouped convolutions are not supported", name);
        ok = 0;
    }
    if (transposed) {
        snprintf(what, sizeof what, "the output padding of %s", name);
        ok &= want_nonneg_int(v[io], vl[io], what);
        if (ok && v[io] >= v[2]) {
            diag_error(vl[io], "the output padding of %s must be smaller than its stride (%g), got %g", name, v[2],
                       v[io]);
            ok = 0;
        }
    }
    if (!ok) return 0;
    *cs = (ConvSpec){(int)v[0], (int)v[1], (int)v[2], (int)v[3], transposed ? (int)v[io] : 0, (int)v[id],
                     v[id + 1] != 0};
    return 1;
}

/* Per-sample sizes beyond this are refused (they could not be allocated,
 * and products of them would overflow). */
#define MAX_VALUES 2147483647.0

static int too_big(Loc loc, const char *lname, double values)
{
    if (values <= MAX_VALUES) return 0;
    diag_error(loc, "%s would make a tensor of %.3g values per sample; that is too large", lname, values);
    return 1;
}

static int want_image(Sema *s, int x, Loc loc, const char *lname)
{
    char b1[64];
    Shape xs = shape_of(s, x);
    if (xs.rank == 4) return 1;
    diag_error(loc, "%s expects [C,H,W] input, got %s%s", lname, sample_str(xs, b1, sizeof b1),
               xs.rank == 2 ? "; add reshape(c, h, w) before it" : "");
    return 0;
}

/* The Winograd tile (ir.h Wino) for a k x k, stride s convolution whose
 * output is Y x X, Co channels from C: the m of 2..4 that does the fewest
 * multiplies, when those are at most 2/3 of the direct method's, the
 * transforms are small enough (WINO_MAX) and both
 * sides of the products have 32 channels or more (thinner ones are bound
 * by memory: the transforms would cost more than they save); else 0.
 * Training instances only: the sampling instance's transforms of the
 * weights would be the training step's nodes (the same values), which the
 * sampling section's memory plan cannot share when the G step computes
 * them again (GANC_RECOMPUTE).  GANC_WINOGRAD=0 turns it off. */
#define WINO_MAX (2 << 20)
static int wino_tile(const Sema *sm, int k, int s, int d, int64_t B, int64_t Y, int64_t X, int64_t Co, int64_t C)
{
    const char *env = getenv("GANC_WINOGRAD");
    if (!sm->training || (env && !strcmp(env, "0")) || d != 1 || s < 1 || k % s || k / s < 2 || Co < 32 || C * s * s < 32)
        return 0;
    int r = k / s, best = 0;
    double direct = (double)Y * X * r * r, least = direct * 2 / 3;
    for (int m = 2; m <= 4 && m + r - 1 <= 6; m++) {
        double tiles = (double)((Y + m - 1) / m) * ((X + m - 1) / m), cost = tiles * (m + r - 1) * (m + r - 1);
        double plane = (double)((Y + m - 1) / m * m + r - 1) * ((X + m - 1) / m * m + r - 1);
        if (plane > 4096) continue;   /* a component's tiles cover at most 4096 pixels: cg.c's buffer of them, on
                                       * the stack, is 256 KB at 16 lanes (beside one of the plane, as big) */
        /* the transforms of the images (cost * B * channels floats) and
         * of the weights (A*A * Co * C*s*s) are bounded by WINO_MAX floats
         * each: a training step keeps some of them */
        double A2 = (m + r - 1) * (m + r - 1), cs2 = (double)C * s * s;
        if (cost <= least && cost * B * (Co > cs2 ? Co : cs2) <= WINO_MAX && A2 * Co * cs2 <= WINO_MAX)
            least = cost, best = m;
    }
    return best;
}

/* A convolution with weights w (or with adjoint, its transpose: a
 * deconvolution) of x by Winograd's method, tile m, to shape out: the
 * transforms of w and x, a product per point of the transform domain, the
 * result transformed back.  A conv's input is an image (WINO_IN) and its
 * output comes from WINO_OUT; a deconv runs the adjoints the other way. */
static int wino_layer(Sema *s, int x, int w, const ConvSpec *c, int m, int adjoint, Shape out, Loc loc)
{
    int wv[5] = {c->k, c->s, c->p, m, 0}, xv[5] = {c->k, c->s, c->p, m, adjoint};
    Op in = adjoint ? OP_WINO_OUT : OP_WINO_IN, back = adjoint ? OP_WINO_IN : OP_WINO_OUT;
    int u = ir_wino_op(s->g, OP_WINO_W, w, wv, (Shape){0}, loc), v = ir_wino_op(s->g, in, x, xv, (Shape){0}, loc);
    int mm = u < 0 || v < 0 ? -1 : ir_bmatmul(s->g, u, v, !adjoint, 0, loc);
    return mm < 0 ? -1 : ir_wino_op(s->g, back, mm, xv, out, loc);
}

/* Conv2d: y = w * im2col(x) per sample, as one product over the batch; or
 * by Winograd's method, a product per point of the transform domain. */
static int layer_conv(Sema *s, int x, const ConvSpec *c, const char *path, Loc loc, const char *lname)
{
    char b1[64];
    if (!want_image(s, x, loc, lname)) return -1;
    Shape xs = shape_of(s, x);
    int64_t B = xs.d[0], Ci = xs.d[1], H = xs.d[2], W = xs.d[3];
    int64_t Y = ir_conv_out(H, c->k, c->s, c->p, c->d), X = ir_conv_out(W, c->k, c->s, c->p, c->d);
    if (Y <= 0 || X <= 0) {
        diag_error(loc, "the %dx%d kernel of %s does not fit its %s input: it spans %lld pixels (dilation %d), the "
                        "input padded by %d is %lldx%lld",
                   c->k, c->k, lname, sample_str(xs, b1, sizeof b1), (long long)c->d * (c->k - 1) + 1, c->d, c->p,
                   (long long)(H + 2 * (int64_t)c->p), (long long)(W + 2 * (int64_t)c->p));
        return -1;
    }
    int64_t K = Ci * c->k * c->k;
    if (too_big(loc, lname, (double)c->c * (double)Y * (double)X) || too_big(loc, lname, (double)K * Y * X) ||
        too_big(loc, lname, (double)c->c * (double)K))
        return -1;
    Slot *sl = slot_get(s->cur, path);
    if (sl->w < 0) {
        double bound = 1 / sqrt((double)K);   /* fan_in = Ci*k*k */
        sl->w = weight(s, path, (Shape){4, {c->c, Ci, c->k, c->k}}, bound, loc);
        if (c->bias) sl->b = bias_param(s, path, c->c, bound, loc);
    }
    int m = wino_tile(s, c->k, c->s, c->d, B, Y, X, c->c, Ci);
    if (m) {
        int y = wino_layer(s, x, sl->w, c, m, 0, (Shape){4, {B, c->c, Y, X}}, loc);
        if (y < 0) return shape_error(s, loc, lname);
        return add_channel_bias(s, y, sl->b, loc);
    }
    int cv[5] = {c->k, c->k, c->s, c->p, c->d};
    int cols = ir_im2col(s->g, x, cv, loc);
    if (cols < 0) return shape_error(s, loc, lname);
    int wm = ir_reshape(s->g, sl->w, (Shape){2, {c->c, K}}, loc);
    int y2 = ir_matmul(s->g, wm, cols, 0, 0, loc);   /* [c, B*Y*X] */
    if (y2 < 0) return shape_error(s, loc, lname);
    int y4 = ir_reshape(s->g, y2, (Shape){4, {c->c, B, Y, X}}, loc);
    int y = ir_un(s->g, OP_SWAP01, y4, loc);
    return add_channel_bias(s, y, sl->b, loc);
}

/* ConvTranspose2d: the adjoint of conv, col2im(wᵀ x). */
static int layer_deconv(Sema *s, int x, const ConvSpec *c, const char *path, Loc loc, const char *lname)
{
    char b1[64];
    if (!want_image(s, x, loc, lname)) return -1;
    Shape xs = shape_of(s, x);
    int64_t B = xs.d[0], Ci = xs.d[1], H = xs.d[2], W = xs.d[3];
    int64_t grow = (int64_t)c->d * (c->k - 1) + c->op + 1 - 2 * (int64_t)c->p;
    int64_t Y = (H - 1) * c->s + grow, X = (W - 1) * c->s + grow;
    if (Y <= 0 || X <= 0) {
        diag_error(loc, "%s would output %lldx%lld from its %s input: the padding %d is too large", lname,
                   (long long)Y, (long long)X, sample_str(xs, b1, sizeof b1), c->p);
        return -1;
    }
    int64_t K = (int64_t)c->c * c->k * c->k;
    if (too_big(loc, lname, (double)c->c * (double)Y * (double)X) || too_big(loc, lname, (double)K * H * W) ||
        too_big(loc, lname, (double)Ci * (double)K))
        return -1;
    ir_assert(ir_conv_out(Y, c->k, c->s, c->p, c->d) == H && ir_conv_out(X, c->k, c->s, c->p, c->d) == W);
    Slot *sl = slot_get(s->cur, path);
    if (sl->w < 0) {
        double bound = 1 / sqrt((double)K);   /* PyTorch's fan_in: weight.size(1)*k*k = c*k*k */
        sl->w = weight(s, path, (Shape){4, {Ci, c->c, c->k, c->k}}, bound, loc);
        if (c->bias) sl->b = bias_param(s, path, c->c, bound, loc);
    }
    int m = wino_tile(s, c->k, c->s, c->d, B, H, W, Ci, c->c);
    if (m) {   /* the adjoint of the conv from [c,Y,X] to [Ci,H,W] */
        int y = wino_layer(s, x, sl->w, c, m, 1, (Shape){4, {B, c->c, Y, X}}, loc);
        if (y < 0) return shape_error(s, loc, lname);
        return add_channel_bias(s, y, sl->b, loc);
    }
    int xt = ir_un(s->g, OP_SWAP01, x, loc);
    int xm = ir_reshape(s->g, xt, (Shape){2, {Ci, B * H * W}}, loc);
    int wm = ir_reshape(s->g, sl->w, (Shape){2, {Ci, K}}, loc);
    int cols = ir_matmul(s->g, wm, xm, 1, 0, loc);   /* [c*k*k, B*H*W] */
    if (cols < 0) return shape_error(s, loc, lname);
    int cv[5] = {c->k, c->k, c->s, c->p, c->d};
    int y = ir_col2im(s->g, cols, (Shape){4, {B, c->c, Y, X}}, cv, loc);
    if (y < 0) return shape_error(s, loc, lname);
    return add_channel_bias(s, y, sl->b, loc);
}

static void add_assign(Program *p, int dst, int src, int stat, int sec)
{
    if ((p->n_assign & (p->n_assign - 1)) == 0) {   /* 0, 1, 2, 4, ...: grow to twice */
        p->assign = realloc(p->assign, (size_t)(p->n_assign ? 2 * p->n_assign : 1) * sizeof *p->assign);
        ir_assert(p->assign);
    }
    p->assign[p->n_assign++] = (struct Assign){dst, src, stat, sec};
}

/* BatchNorm1d on [B,F] (and [B,F,L]), BatchNorm2d on [B,C,H,W]: per channel
 * (axis 1) over the batch and the other axes.  Training: batch statistics,
 * and the running statistics take a step towards them (unbiased variance,
 * as PyTorch); evaluation: the running statistics. */
static int layer_batchnorm(Sema *s, int x, double eps, double mom, const char *path, Loc loc, const char *lname)
{
    char b1[64];
    Graph *g = s->g;
    Shape xs = shape_of(s, x);
    if (xs.rank < 2) {
        diag_error(loc, "%s needs channels: a [F] or [C,H,W] input per sample, got a scalar", lname);
        return -1;
    }
    int64_t C = xs.d[1], n = ir_numel(xs) / C;
    if (s->training && n < 2) {
        diag_error(loc, "%s needs more than one value per channel in training, but its %s input with batch %lld has "
                        "one",
                   lname, sample_str(xs, b1, sizeof b1), (long long)xs.d[0]);
        return -1;
    }
    Slot *sl = slot_get(s->cur, path);
    if (sl->w < 0) {
        Shape cs = {1, {C}};
        sl->w = s->init_std > 0 ? param(s, path, "weight", cs, INIT_NORMAL, s->init_std, 1, 0, loc)
                                : param(s, path, "weight", cs, INIT_ONE, 0, 0, 0, loc);
        sl->b = param(s, path, "bias", cs, INIT_ZERO, 0, 0, 0, loc);
        sl->rm = param(s, path, "running_mean", cs, INIT_ZERO, 0, 0, 1, loc);
        sl->rv = param(s, path, "running_var", cs, INIT_ONE, 0, 0, 1, loc);
    }
    int mean, var, xc;
    if (s->training) {
        double inv_n = 1 / (double)n;
        mean = ir_affine(g, ir_reduce(g, x, MAP_CHANNEL, loc), inv_n, 0, loc);
        xc = ir_bin(g, OP_SUB, x, ir_bcast(g, mean, xs, MAP_CHANNEL, loc), loc);
        var = ir_affine(g, ir_reduce(g, ir_un(g, OP_SQUARE, xc, loc), MAP_CHANNEL, loc), inv_n, 0, loc);
        /* the updates of one section chain, so that applied in order they
         * leave what PyTorch's successive forward calls leave */
        int chained = sl->epoch == s->epoch;
        int rm = chained ? sl->cur_m : sl->rm, rv = chained ? sl->cur_v : sl->rv;
        int new_m = ir_bin(g, OP_ADD, ir_affine(g, rm, 1 - mom, 0, loc), ir_affine(g, mean, mom, 0, loc), loc);
        int new_v = ir_bin(g, OP_ADD, ir_affine(g, rv, 1 - mom, 0, loc),
                           ir_affine(g, var, mom * (double)n / (double)(n - 1), 0, loc), loc);
        int sec = s->d_call == 1 + NET_D ? SEC_DSTEP : s->d_call == 1 + NET_G ? SEC_GSTEP : -1;
        add_assign(s->p, sl->rm, new_m, mean, sec);
        add_assign(s->p, sl->rv, new_v, var, sec);
        sl->cur_m = new_m;
        sl->cur_v = new_v;
        sl->epoch = s->epoch;
    } else {
        mean = sl->rm;
        var = sl->rv;
        xc = ir_bin(g, OP_SUB, x, ir_bcast(g, mean, xs, MAP_CHANNEL, loc), loc);
    }
    /* y = xc * (gamma / sqrt(var + eps)) + beta, the scale made per channel */
    int scale = ir_bin(g, OP_MUL, ir_un(g, OP_RSQRT, ir_affine(g, var, 1, eps, loc), loc), sl->w, loc);
    int y = ir_bin(g, OP_MUL, xc, ir_bcast(g, scale, xs, MAP_CHANNEL, loc), loc);
    return add_channel_bias(s, y, sl->b, loc);
}

/* avgpool(k), upsample(k), pad(p): i[0] = k or p. */
static int layer_spatial(Sema *s, int x, Op op, int k, Loc loc, const char *lname)
{
    char b1[64];
    if (!want_image(s, x, loc, lname)) return -1;
    Shape xs = shape_of(s, x);
    int64_t H = xs.d[2], W = xs.d[3];
    if (op == OP_AVGPOOL && (H % k || W % k)) {
        diag_error(loc, "%s(%d) needs a height and width divisible by %d, but its input is %s", lname, k, k,
                   sample_str(xs, b1, sizeof b1));
        return -1;
    }
    if (op == OP_PAD && (H + 2 * (int64_t)k < 1 || W + 2 * (int64_t)k < 1)) {
        diag_error(loc, "%s(%d) would leave nothing of its %s input", lname, k, sample_str(xs, b1, sizeof b1));
        return -1;
    }
    double f = op == OP_UPSAMPLE ? (double)k * k
               : op == OP_PAD  ? (double)(H + 2 * (int64_t)k) * (double)(W + 2 * (int64_t)k) / ((double)H * (double)W)
                               : 1;
    if (too_big(loc, lname, f * (double)(ir_numel(xs) / xs.d[0]))) return -1;
    int i[3] = {k, 0, 0};
    int y = ir_add(s->g, op, &x, 1, NULL, i, loc);
    return y < 0 ? shape_error(s, loc, lname) : y;
}

static int layer_concat(Sema *s, const int *in, int n, Loc loc)
{
    char b1[64], b2[64];
    int acc = in[0];
    for (int k = 1; k < n; k++) {
        Shape a = shape_of(s, acc), b = shape_of(s, in[k]);
        int ok = a.rank == b.rank && a.rank >= 2;
        for (int d = 0; ok && d < a.rank; d++) ok = d == 1 || a.d[d] == b.d[d];
        if (!ok) {
            diag_error(loc, "concat needs inputs that agree in all but the first axis, got %s and %s",
                       sample_str(a, b1, sizeof b1), sample_str(b, b2, sizeof b2));
            return -1;
        }
        int i[3] = {1, 0, 0}, pair[2] = {acc, in[k]};
        acc = ir_add(s->g, OP_CONCAT, pair, 2, NULL, i, loc);
        if (acc < 0) return shape_error(s, loc, "concat");
    }
    return acc;
}

/* Where a statement's value comes from: the last layer of a pipeline. */
static Loc out_loc(const Ast *st)
{
    if (st->kind == AST_ASSIGN) st = st->kid;
    return st->kind == AST_PIPE ? st->kid->next->loc : st->loc;
}

static int net_expr(Sema *s, Env *env, const Ast *a);
static int apply_layer(Sema *s, Env *env, const Ast *layer, int in, int call_form);

/* `t -> layer [if cond]`: a layer whose condition is 0 is left out (and
 * not numbered, as a layer a PyTorch model does not append). */
static int pipe_step(Sema *s, Env *env, const Ast *pipe, int t)
{
    const Ast *cond = pipe->kid->next->next;
    if (t < 0) return -1;
    if (cond) {
        double v;
        if (!const_eval(env, cond, &v, "the condition of 'if'")) return -1;
        if (v == 0) return t;
    }
    return apply_layer(s, env, pipe->kid->next, t, 0);
}

/* A block's body: the leftmost element is a layer applied to the input. */
static int block_body(Sema *s, Env *benv, const Ast *e, int in)
{
    if (e->kind == AST_PIPE) return pipe_step(s, benv, e, block_body(s, benv, e->kid, in));
    if (e->kind == AST_NAME || e->kind == AST_CALL) return apply_layer(s, benv, e, in, 0);
    diag_error(e->loc, "a block body must be a pipeline of layers, like: linear(n) -> relu");
    return -1;
}

static int apply_block(Sema *s, const Env *env, const Ast *blk, const Ast *call, int in, int skip, const char *path)
{
    ArgSpec spec[8] = {{0}};
    double vals[8];
    Loc locs[8];
    Env benv = {.n = 0};
    int n = 0;
    for (const Ast *p = blk->kid->kid; p && n < 8; p = p->next, n++) {
        spec[n].name = p->name;
        spec[n].required = p->kid == NULL;
        spec[n].def = 0;
        if (p->kid) {
            char what[96];
            snprintf(what, sizeof what, "the default of %s", p->name);
            if (!const_eval(NULL, p->kid, &spec[n].def, what)) return -1;
        }
    }
    if (!bind_args(env, call, skip, blk->name, spec, n, vals, locs)) return -1;
    for (int k = 0; k < n; k++) benv.v[benv.n++] = (Binding){spec[k].name, 1, vals[k], -1, 1, NULL};
    if (blk->n_kids != 2) {
        diag_error(blk->loc, "the body of block %s must be one pipeline", blk->name);
        return -1;
    }
    if (s->depth >= 16) {
        diag_error(call->loc, "blocks nested too deeply (is %s recursive?)", blk->name);
        return -1;
    }
    char saved[160];
    int saved_counter = s->counter;
    memcpy(saved, s->prefix, sizeof saved);
    snprintf(s->prefix, sizeof s->prefix, "%.150s", path);
    s->counter = 0;
    s->depth++;
    int out = block_body(s, &benv, blk->kid->next, in);
    s->depth--;
    memcpy(s->prefix, saved, sizeof saved);
    s->counter = saved_counter;
    return out;
}

/* Applies the layer (AST_NAME or AST_CALL) to in.  With call_form, the
 * layer is written as a function (tanh(h), concat(a, b)): its leading
 * positional arguments are the tensors and in is unused. */
static int apply_layer(Sema *s, Env *env, const Ast *layer, int in, int call_form)
{
    char b1[64], b2[64], hb[96], path[176];
    const char *name = layer->name;
    Loc loc = layer->loc;
    if (layer->kind != AST_NAME && layer->kind != AST_CALL) {
        diag_error(loc, "expected a layer after '->'");
        return -1;
    }
    int li = find_name(layer_names, N_LAYERS, name);
    const Ast *blk = find_block(s, name);
    if (li < 0 && !blk) {
        if (find_net(s, name)) {
            diag_error(loc, "%s %s cannot call %s; networks are called only in the objective",
                       s->cur->kind == NET_G ? "generator" : "discriminator", s->cur->name, name);
        } else if (find_name(later_layers, (int)(sizeof later_layers / sizeof *later_layers), name) >= 0) {
            diag_error(loc, "layer '%s' is not supported yet; the layers are: linear, conv, deconv, batchnorm, relu, "
                            "leaky_relu, tanh, sigmoid, dropout, avgpool, upsample, pad, reshape, flatten, concat, "
                            "pack", name);
        } else {
            const char *cands[N_LAYERS + 32];
            int nc = 0;
            for (int k = 0; k < N_LAYERS; k++) cands[nc++] = layer_names[k];
            for (int k = 0; k < s->n_blocks; k++) cands[nc++] = s->blocks[k]->name;
            diag_error(loc, "unknown layer '%s'%s", name, hint(hb, sizeof hb, name, cands, nc));
        }
        return -1;
    }
    /* the tensor inputs */
    int ins[8], n_in = 0, skip = 0;
    if (call_form) {
        int is_concat = li >= 0 && !strcmp(name, "concat");
        for (const Ast *a = layer->kid; a && a->kind != AST_KWARG && n_in < 8; a = a->next) {
            int t = net_expr(s, env, a);
            if (t < 0) return -1;
            ins[n_in++] = t;
            skip++;
            if (!is_concat) break;
        }
        if (n_in == 0) {
            diag_error(loc, "%s(...) needs a tensor as its first argument", name);
            return -1;
        }
    } else {
        ins[n_in++] = in;
    }
    snprintf(path, sizeof path, "%s.%d", s->prefix, s->counter++);
    if (blk) return apply_block(s, env, blk, layer, ins[0], skip, path);

    int x = ins[0];
    double v[4];
    Loc vl[4];
    if (!strcmp(name, "linear") || !strcmp(name, "dense")) {
        ArgSpec sp[] = {{"n", 1, 0}, {"bias", KW_ONLY, 1}};
        if (!bind_args(env, layer, skip, name, sp, 2, v, vl)) return -1;
        if (!want_pos_int(v[0], vl[0], "the size of linear") || !want_bool(v[1], vl[1], "bias", name)) return -1;
        return layer_linear(s, x, (int)v[0], v[1] != 0, path, loc, name);
    }
    if (!strcmp(name, "relu") || !strcmp(name, "tanh") || !strcmp(name, "sigmoid")) {
        if (!bind_args(env, layer, skip, name, NULL, 0, v, vl)) return -1;
        Op op = name[0] == 'r' ? OP_RELU : name[0] == 't' ? OP_TANH : OP_SIGMOID;
        return ir_un(s->g, op, x, loc);
    }
    if (!strcmp(name, "leaky_relu")) {
        ArgSpec sp[] = {{"slope", 0, 0.01}};
        if (!bind_args(env, layer, skip, name, sp, 1, v, vl)) return -1;
        double f[2] = {v[0], 0};
        return ir_add(s->g, OP_LRELU, &x, 1, f, NULL, loc);
    }
    if (!strcmp(name, "dropout")) {
        ArgSpec sp[] = {{"p", 0, 0.5}};
        if (!bind_args(env, layer, skip, name, sp, 1, v, vl)) return -1;
        if (!(v[0] >= 0 && v[0] < 1)) {
            diag_error(vl[0], "dropout probability must be in [0, 1), got %g", v[0]);
            return -1;
        }
        if (!s->training || v[0] == 0) return x;
        double f[2] = {v[0], 0};
        int mask = ir_source(s->g, OP_DROPMASK, shape_of(s, x), f, NULL, NULL, loc);
        return ir_bin(s->g, OP_MUL, x, mask, loc);
    }
    if (!strcmp(name, "pack")) {   /* PacGAN: m samples side by side, one decision for all m */
        ArgSpec sp[] = {{"m", 1, 0}};
        if (!bind_args(env, layer, skip, name, sp, 1, v, vl)) return -1;
        if (!want_pos_int(v[0], vl[0], "the pack size")) return -1;
        Shape xs = shape_of(s, x);
        int64_t m = (int64_t)v[0];
        if (xs.d[0] % m) {
            diag_error(vl[0], "pack(%lld) needs a batch divisible by %lld, but the batch is %lld", (long long)m,
                       (long long)m, (long long)xs.d[0]);
            return -1;
        }
        Shape ps = {2, {xs.d[0] / m, ir_numel(xs) / xs.d[0] * m}};
        return ir_reshape(s->g, x, ps, loc);
    }
    if (!strcmp(name, "flatten")) {
        if (!bind_args(env, layer, skip, name, NULL, 0, v, vl)) return -1;
        Shape xs = shape_of(s, x);
        if (xs.rank <= 2) return x;
        Shape fs = {2, {xs.d[0], ir_numel(xs) / xs.d[0]}};
        return ir_reshape(s->g, x, fs, loc);
    }
    if (!strcmp(name, "reshape")) {
        Shape xs = shape_of(s, x), rs = {1, {xs.d[0]}};
        int64_t per = 1;
        if (layer->kind == AST_CALL)
            for (const Ast *a = layer->kid; a; a = a->next) {
                if (skip > 0 && a->kind != AST_KWARG) {
                    skip--;
                    continue;
                }
                if (a->kind == AST_KWARG) {
                    diag_error(a->loc, "reshape takes sizes only, like reshape(128, 7, 7)");
                    return -1;
                }
                double d;
                if (!const_eval(env, a, &d, "a size of reshape")) return -1;
                if (!want_pos_int(d, a->loc, "a size of reshape")) return -1;
                if (rs.rank == IR_MAXRANK) {
                    diag_error(a->loc, "reshape takes at most %d sizes", IR_MAXRANK - 1);
                    return -1;
                }
                rs.d[rs.rank++] = (int64_t)d;
                per *= (int64_t)d;
            }
        if (rs.rank == 1) {
            diag_error(loc, "reshape needs the new shape: reshape(c, h, w)");
            return -1;
        }
        if (per != ir_numel(xs) / xs.d[0]) {
            diag_error(loc, "reshape to %s needs %lld values per sample, but its input %s has %lld",
                       sample_str(rs, b1, sizeof b1), (long long)per, sample_str(xs, b2, sizeof b2),
                       (long long)(ir_numel(xs) / xs.d[0]));
            return -1;
        }
        int r = ir_reshape(s->g, x, rs, loc);
        return r < 0 ? shape_error(s, loc, "reshape") : r;
    }
    if (!strcmp(name, "conv") || !strcmp(name, "deconv")) {
        ConvSpec cs;
        if (!conv_args(env, layer, skip, name, name[0] == 'd', &cs)) return -1;
        return name[0] == 'd' ? layer_deconv(s, x, &cs, path, loc, name) : layer_conv(s, x, &cs, path, loc, name);
    }
    if (!strcmp(name, "batchnorm")) {
        ArgSpec sp[] = {{"eps", 0, 1e-5}, {"momentum", 0, 0.1}};
        if (!bind_args(env, layer, skip, name, sp, 2, v, vl)) return -1;
        if (!(v[0] > 0)) {
            diag_error(vl[0], "eps of batchnorm must be positive, got %g", v[0]);
            return -1;
        }
        if (!(v[1] >= 0 && v[1] <= 1)) {
            diag_error(vl[1], "momentum of batchnorm must be in [0, 1], got %g", v[1]);
            return -1;
        }
        return layer_batchnorm(s, x, v[0], v[1], path, loc, name);
    }
    if (!strcmp(name, "avgpool") || !strcmp(name, "upsample")) {
        ArgSpec sp[] = {{"k", 0, 2}};
        if (!bind_args(env, layer, skip, name, sp, 1, v, vl)) return -1;
        snprintf(b1, sizeof b1, "the factor of %s", name);
        if (!want_pos_int(v[0], vl[0], b1)) return -1;
        return layer_spatial(s, x, name[0] == 'a' ? OP_AVGPOOL : OP_UPSAMPLE, (int)v[0], loc, name);
    }
    if (!strcmp(name, "pad")) {
        ArgSpec sp[] = {{"p", 1, 0}};
        if (!bind_args(env, layer, skip, name, sp, 1, v, vl)) return -1;
        if (!is_int(v[0]) || fabs(v[0]) > (double)INT_MAX) {
            diag_error(vl[0], "the padding of pad must be an integer, got %g", v[0]);
            return -1;
        }
        return layer_spatial(s, x, OP_PAD, (int)v[0], loc, name);
    }
    /* concat */
    if (!call_form) {
        if (layer->kind == AST_CALL)
            for (const Ast *a = layer->kid; a && n_in < 8; a = a->next) {
                if (a->kind == AST_KWARG) {
                    diag_error(a->loc, "concat takes tensors only");
                    return -1;
                }
                int t = net_expr(s, env, a);
                if (t < 0) return -1;
                ins[n_in++] = t;
            }
    } else if (layer->kind == AST_CALL) {
        for (const Ast *a = layer->kid; a; a = a->next)
            if (a->kind == AST_KWARG) {
                diag_error(a->loc, "concat takes tensors only");
                return -1;
            }
    }
    if (n_in < 2) {
        diag_error(loc, "concat needs at least two tensors");
        return -1;
    }
    return layer_concat(s, ins, n_in, loc);
}

/* A tensor expression of a network body. */
static int net_expr(Sema *s, Env *env, const Ast *a)
{
    char hb[96];
    switch (a->kind) {
    case AST_PIPE: return pipe_step(s, env, a, net_expr(s, env, a->kid));
    case AST_CALL: return apply_layer(s, env, a, -1, 1);
    case AST_NAME: {
        Binding *b = env_find(env, a->name);
        if (b && !b->is_num) {
            b->used = 1;
            return b->node;
        }
        if (b) {
            diag_error(a->loc, "'%s' is a number, not a tensor", a->name);
        } else if (find_name(layer_names, N_LAYERS, a->name) >= 0 || find_block(s, a->name)) {
            diag_error(a->loc, "'%s' is a layer; apply it to a tensor, like: h -> %s", a->name, a->name);
        } else if (find_net(s, a->name)) {
            diag_error(a->loc, "%s %s cannot use %s; networks are called only in the objective",
                       s->cur->kind == NET_G ? "generator" : "discriminator", s->cur->name, a->name);
        } else if ((s->x_name && !strcmp(a->name, s->x_name)) || (s->z_name && !strcmp(a->name, s->z_name))) {
            diag_error(a->loc, "%s cannot read '%s' directly; a network sees only its parameters", s->cur->name,
                       a->name);
        } else {
            const char *cands[64];
            int nc = 0;
            for (int k = 0; k < env->n && nc < 64; k++)
                if (!env->v[k].is_num) cands[nc++] = env->v[k].name;
            diag_error(a->loc, "unknown name '%s'%s", a->name, hint(hb, sizeof hb, a->name, cands, nc));
        }
        return -1;
    }
    default:
        diag_error(a->loc, "expected a tensor: a name or a call, followed by '-> layer' steps");
        return -1;
    }
}

/* Instantiates network n on arg.  Reports the body's errors only at the
 * first instance; a network with errors yields poison afterwards. */
static NetOut net_call(Sema *s, NetInfo *n, int arg, int training, Loc at)
{
    NetOut r = {-1, -1, -1};
    char b1[64], b2[64];
    if (n->state < 0 || arg < 0) return r;
    Shape as = shape_of(s, arg);
    if (n->state > 0 && !ir_shape_eq(as, n->in_shape)) {
        diag_error(at, "%s gets %s here, but %s at its first call (%d:%d)", n->name, batch_str(as, b1, sizeof b1),
                   batch_str(n->in_shape, b2, sizeof b2), n->first_call.line, n->first_call.col);
        return r;
    }
    int before = diag_errors();
    NetInfo *saved_cur = s->cur;
    int saved_training = s->training;
    s->cur = n;
    s->training = training;
    s->counter = 0;
    s->depth = 0;
    snprintf(s->prefix, sizeof s->prefix, "%s", n->name);
    Env env = {.n = 0};
    const Ast *params = n->def->kid;
    env.v[env.n++] = (Binding){params->kid->name, 0, 0, arg, 1, NULL};
    const Ast *last = NULL;
    int out = -1;
    for (const Ast *st = params->next; st; st = st->next) {
        last = st;
        if (st->kind == AST_ASSIGN) {
            int t = net_expr(s, &env, st->kid);
            if (env_find(&env, st->name)) {
                diag_error(st->loc, "'%s' is already defined in %s", st->name, n->name);
            } else if (env.n < 64) {
                env.v[env.n++] = (Binding){st->name, 0, 0, t, 0, st};
            }
            if (!st->next) diag_error(st->loc, "the body of %s must end with its output, not an assignment", n->name);
        } else {
            out = net_expr(s, &env, st);
            if (st->next)
                diag_error(st->loc, "this value is unused: name it (h = ...) or make it the last line of %s",
                           n->name);
        }
    }
    if (!last) diag_error(n->def->loc, "the body of %s is empty", n->name);
    for (int k = 0; n->state == 0 && diag_errors() == before && k < env.n; k++)
        if (!env.v[k].used && env.v[k].def && env.v[k].def->next)
            diag_warning(env.v[k].def->loc, "'%s' is never used", env.v[k].name);
    else n->out = out_loc(last);
    /* a poisoned intermediate makes the instance fail silently */
    for (int k = 0; k < env.n; k++)
        if (!env.v[k].is_num && env.v[k].node < 0) out = -1;
    if (out >= 0 && n->kind == NET_D && n->state == 0) {
        Shape os = shape_of(s, out);
        if (os.rank < 2 || os.d[1] != 1) {
            diag_error(out_loc(last), "discriminator %s must output one logit per sample (shape [1]), but it outputs %s",
                       n->name, sample_str(os, b1, sizeof b1));
            out = -1;
        }
    }
    s->cur = saved_cur;
    s->training = saved_training;
    if (n->state == 0) {
        n->state = diag_errors() > before || out < 0 ? -1 : 1;
        n->in_shape = as;
        n->first_call = at;
    }
    if (out < 0 || n->state < 0) return r;
    r.out = r.logit = out;
    if (s->g->n[out].op == OP_SIGMOID) {
        r.prob = out;
        r.logit = s->g->n[out].in[0];
    }
    return r;
}

/* ---------------------------------------------------------------- objective */

static int mean_of(Sema *s, int t, Loc loc)
{
    Shape sh = shape_of(s, t);
    if (sh.rank == 0) return t;
    int r = ir_reduce(s->g, t, MAP_SCALAR, loc);
    return ir_affine(s->g, r, 1.0 / (double)ir_numel(sh), 0, loc);
}

static NetInfo *net_usable(Sema *s, NetInfo *n, Loc at)
{
    if (n->item > s->obj_item) {
        if (!n->used_early) {
            diag_error(at, "%s is used before its definition", n->name);
            diag_note(n->def->loc, "%s is defined here", n->name);
        }
        n->used_early = 1;
        return NULL;
    }
    return n;
}

static NetOut call_g(Sema *s, int arg, Loc at)
{
    for (int k = 0; k < s->n_gmemo; k++)
        if (s->gmemo[k].arg == arg) return s->gmemo[k].out;
    NetOut o = net_call(s, &s->nets[NET_G], arg, 1, at);
    if (o.out >= 0 && s->p->x >= 0) {
        char b1[64], b2[64];
        Shape gs = shape_of(s, o.out), xs = shape_of(s, s->p->x);
        if (!ir_shape_eq(gs, xs)) {
            diag_error(s->nets[NET_G].out, "generator %s outputs %s per sample, but the data %s is %s", s->nets[NET_G].name,
                       sample_str(gs, b1, sizeof b1), s->x_name, sample_str(xs, b2, sizeof b2));
            s->nets[NET_G].state = -1;
            o = (NetOut){-1, -1, -1};
        }
    }
    if (s->n_gmemo < 8) s->gmemo[s->n_gmemo++] = (Memo){arg, o};
    return o;
}

static NetOut call_d(Sema *s, ObjCtx *c, int arg, Loc at)
{
    for (int k = 0; k < c->n_d; k++)
        if (c->d[k].arg == arg) return c->d[k].out;
    s->d_call = 1 + c->net;
    NetOut o = net_call(s, &s->nets[NET_D], arg, 1, at);
    s->d_call = 0;
    if (c->n_d < 16) c->d[c->n_d++] = (Memo){arg, o};
    return o;
}

static Val obj_expr(Sema *s, ObjCtx *c, const Ast *a);

/* f(arg) where f is a math function or a network. */
static Val obj_apply(Sema *s, ObjCtx *c, const char *f, const Ast *args, Loc loc, int n_args)
{
    char hb[96];
    NetInfo *net = find_net(s, f);
    int mi = find_name(math_names, N_MATH, f);
    if (!net && mi < 0) {
        const char *cands[N_MATH + 3];
        int nc = 0;
        for (int k = 0; k < N_MATH; k++) cands[nc++] = math_names[k];
        cands[nc++] = s->nets[NET_G].def ? s->nets[NET_G].name : NULL;
        cands[nc++] = s->nets[NET_D].def ? s->nets[NET_D].name : NULL;
        if (find_name(layer_names, N_LAYERS, f) >= 0)
            diag_error(loc, "'%s' is a layer; the objective can use log, exp, abs, sigmoid, tanh, relu, softplus "
                            "and square", f);
        else
            diag_error((Loc){loc.file, loc.line, loc.col, (int)strlen(f)}, "unknown function '%s'%s", f,
                       hint(hb, sizeof hb, f, cands, nc));
        return poison();
    }
    if (net) c->calls[net->kind]++;
    if (n_args != 1 || args->kind == AST_KWARG) {
        diag_error(loc, "%s takes one argument, got %d", f, n_args);
        return poison();
    }
    Val v = obj_expr(s, c, args);
    if (v.kind == V_POISON) return v;
    if (net) {
        if (!net_usable(s, net, loc)) return poison();
        if (v.kind != V_TENSOR) {
            diag_error(args->loc, "%s needs a tensor argument, got a number", f);
            return poison();
        }
        if (net->kind == NET_G) return tensor(call_g(s, v.node, loc).out);
        NetOut o = call_d(s, c, v.node, loc);
        return tensor(o.out);
    }
    if (v.kind == V_NUM) {
        double x = v.num, r;
        switch (math_ops[mi]) {
        case OP_LOG: r = log(x); break;
        case OP_EXP: r = exp(x); break;
        case OP_ABS: r = fabs(x); break;
        case OP_SIGMOID: r = 1 / (1 + exp(-x)); break;
        case OP_TANH: r = tanh(x); break;
        case OP_RELU: r = x > 0 ? x : 0; break;
        case OP_SOFTPLUS: r = log1p(exp(x)); break;
        default: r = x * x; break;
        }
        return num(r);
    }
    return tensor(ir_un(s->g, math_ops[mi], v.node, loc));
}

static Val obj_binary(Sema *s, int op, Val l, Val r, Loc loc)
{
    char b1[64], b2[64];
    if (l.kind == V_POISON || r.kind == V_POISON) return poison();
    if (l.kind == V_NUM && r.kind == V_NUM) {
        switch (op) {
        case '+': return num(l.num + r.num);
        case '-': return num(l.num - r.num);
        case '*': return num(l.num * r.num);
        default: return num(l.num / r.num);
        }
    }
    if (l.kind == V_NUM || r.kind == V_NUM) {
        int t = l.kind == V_TENSOR ? l.node : r.node;
        double c = l.kind == V_NUM ? l.num : r.num;
        int num_left = l.kind == V_NUM;
        switch (op) {
        case '+': return tensor(ir_affine(s->g, t, 1, c, loc));
        case '-': return tensor(num_left ? ir_affine(s->g, t, -1, c, loc) : ir_affine(s->g, t, 1, -c, loc));
        case '*': return tensor(ir_affine(s->g, t, c, 0, loc));
        default:
            if (!num_left) {
                if (c == 0) {
                    diag_error(loc, "division by zero");
                    return poison();
                }
                return tensor(ir_affine(s->g, t, 1 / c, 0, loc));
            }
            return tensor(ir_bin(s->g, OP_DIV, ir_const(s->g, c, shape_of(s, t), loc), t, loc));
        }
    }
    Shape ls = shape_of(s, l.node), rs = shape_of(s, r.node);
    int a = l.node, b = r.node;
    if (!ir_shape_eq(ls, rs)) {
        if (ls.rank == 0) a = ir_bcast(s->g, a, rs, MAP_SCALAR, loc);
        else if (rs.rank == 0) b = ir_bcast(s->g, b, ls, MAP_SCALAR, loc);
        else {
            diag_error(loc, "the operands of '%c' have different shapes: %s and %s", op,
                       batch_str(ls, b1, sizeof b1), batch_str(rs, b2, sizeof b2));
            return poison();
        }
    }
    Op o = op == '+' ? OP_ADD : op == '-' ? OP_SUB : op == '*' ? OP_MUL : OP_DIV;
    return tensor(ir_bin(s->g, o, a, b, loc));
}

static Val obj_expr(Sema *s, ObjCtx *c, const Ast *a)
{
    char hb[96];
    switch (a->kind) {
    case AST_NUM: return num(a->num);
    case AST_NEG: {
        Val v = obj_expr(s, c, a->kid);
        if (v.kind == V_NUM) return num(-v.num);
        if (v.kind == V_POISON) return v;
        return tensor(ir_un(s->g, OP_NEG, v.node, a->loc));
    }
    case AST_BIN: {
        Val l = obj_expr(s, c, a->kid);
        Val r = obj_expr(s, c, a->kid->next);
        return obj_binary(s, a->op, l, r, a->loc);
    }
    case AST_INDEX: {
        if (strcmp(a->name, "E")) {
            diag_error(a->loc, "'%s[...]' is not defined; the mean is written E[...]", a->name);
            return poison();
        }
        Val v = obj_expr(s, c, a->kid);
        if (v.kind != V_TENSOR) return v;
        return tensor(mean_of(s, v.node, a->loc));
    }
    case AST_APPLY: return obj_apply(s, c, a->name, a->kid, a->loc, 1);
    case AST_CALL: return obj_apply(s, c, a->name, a->kid, a->loc, a->n_kids);
    case AST_NAME: {
        if (s->x_name && !strcmp(a->name, s->x_name)) return tensor(s->p->x);
        if (s->z_name && !strcmp(a->name, s->z_name)) return tensor(s->p->z);
        if (find_net(s, a->name)) {
            diag_error(a->loc, "%s is a network; call it, like %s(%s)", a->name, a->name,
                       find_net(s, a->name)->kind == NET_G ? (s->z_name ? s->z_name : "z")
                                                           : (s->x_name ? s->x_name : "x"));
            return poison();
        }
        if (find_name(math_names, N_MATH, a->name) >= 0 || !strcmp(a->name, "E")) {
            diag_error(a->loc, "%s needs an argument", a->name);
            return poison();
        }
        const char *cands[2] = {s->x_name, s->z_name};
        diag_error(a->loc, "unknown name '%s'%s", a->name, hint(hb, sizeof hb, a->name, cands, 2));
        return poison();
    }
    case AST_STR: diag_error(a->loc, "a string cannot be part of the objective"); return poison();
    default: diag_error(a->loc, "a pipeline cannot be part of the objective"); return poison();
    }
}

/* The metric mean(sigmoid(logit)) of the D instance on arg, or -1. */
static int metric(Sema *s, const ObjCtx *c, int arg, Loc loc)
{
    for (int k = 0; arg >= 0 && k < c->n_d; k++)
        if (c->d[k].arg == arg && c->d[k].out.logit >= 0) {
            NetOut o = c->d[k].out;
            int pr = o.prob >= 0 ? o.prob : ir_un(s->g, OP_SIGMOID, o.logit, loc);
            return mean_of(s, pr, loc);
        }
    return -1;
}

static const char *const objective_names[] = {"nonsaturating", "minimax", "hinge", "lsgan"};

/* objective nonsaturating | minimax | hinge | lsgan, from D's logits. */
static void named_objective(Sema *s, const Ast *o, ObjCtx *dc)
{
    char hb[96];
    const Ast *f = o->kid;
    int which = find_name(objective_names, 4, f->name);
    if (which < 0) {
        const char *later[] = {"wgan", "wgan_gp", "r1"};
        if (find_name(later, 3, f->name) >= 0)
            diag_error(f->loc, "objective '%s' is not supported yet; use nonsaturating, minimax, hinge or lsgan, "
                               "or write it out in an objective { ... } block", f->name);
        else
            diag_error(f->loc, "unknown objective '%s'%s", f->name,
                       hint(hb, sizeof hb, f->name, objective_names, 4));
        return;
    }
    if (f->kind == AST_CALL && f->n_kids > 0) {
        diag_error(f->loc, "objective %s takes no arguments", f->name);
        return;
    }
    NetInfo *G = &s->nets[NET_G], *D = &s->nets[NET_D];
    if (!net_usable(s, G, o->loc) || !net_usable(s, D, o->loc)) return;
    Loc loc = o->loc;
    int fake = call_g(s, s->p->z, loc).out;
    NetOut real = call_d(s, dc, s->p->x, loc);
    NetOut fk = fake >= 0 ? call_d(s, dc, fake, loc) : (NetOut){-1, -1, -1};
    ObjCtx gc = {.net = NET_G};
    s->epoch++;   /* the G step */
    NetOut fk2 = fake >= 0 ? call_d(s, &gc, fake, loc) : (NetOut){-1, -1, -1};
    if (real.out < 0 || fk.out < 0 || fk2.out < 0) return;
    Graph *g = s->g;
    int lr = real.logit, lf = fk.logit, lf2 = fk2.logit;
    switch (which) {
    case 0:
    case 1:
        s->p->d_loss = ir_bin(g, OP_ADD, mean_of(s, ir_un(g, OP_SOFTPLUS, ir_un(g, OP_NEG, lr, loc), loc), loc),
                              mean_of(s, ir_un(g, OP_SOFTPLUS, lf, loc), loc), loc);
        if (which == 0) s->p->g_loss = mean_of(s, ir_un(g, OP_SOFTPLUS, ir_un(g, OP_NEG, lf2, loc), loc), loc);
        else s->p->g_loss = ir_un(g, OP_NEG, mean_of(s, ir_un(g, OP_SOFTPLUS, lf2, loc), loc), loc);
        break;
    case 2:   /* hinge: E[relu(1 - l_real)] + E[relu(1 + l_fake)];  G: -E[l_fake] */
        s->p->d_loss = ir_bin(g, OP_ADD, mean_of(s, ir_un(g, OP_RELU, ir_affine(g, lr, -1, 1, loc), loc), loc),
                              mean_of(s, ir_un(g, OP_RELU, ir_affine(g, lf, 1, 1, loc), loc), loc), loc);
        s->p->g_loss = ir_un(g, OP_NEG, mean_of(s, lf2, loc), loc);
        break;
    default: { /* lsgan on D's output: 0.5 E[(D(x)-1)^2] + 0.5 E[D(G(z))^2];  G: 0.5 E[(D(G(z))-1)^2] */
        int a = mean_of(s, ir_un(g, OP_SQUARE, ir_affine(g, real.out, 1, -1, loc), loc), loc);
        int b = mean_of(s, ir_un(g, OP_SQUARE, fk.out, loc), loc);
        s->p->d_loss = ir_affine(g, ir_bin(g, OP_ADD, a, b, loc), 0.5, 0, loc);
        s->p->g_loss = ir_affine(g, mean_of(s, ir_un(g, OP_SQUARE, ir_affine(g, fk2.out, 1, -1, loc), loc), loc),
                                 0.5, 0, loc);
        break;
    }
    }
}

static void objective(Sema *s)
{
    const Ast *o = s->obj;
    ObjCtx dc = {.net = NET_D};
    char hb[96];
    if (o->kind == AST_OBJECTIVE && o->kid && o->kid->kind != AST_OBJ_STMT) {
        named_objective(s, o, &dc);
    } else {
        const Ast *seen[2] = {NULL, NULL};
        int bad_name = 0;
        for (const Ast *st = o->kid; st; st = st->next) {
            const Ast *who = st->kid, *e = who->next;
            int is_max = !strcmp(st->name, "max");
            s->epoch++;
            if (!is_max && strcmp(st->name, "min")) {
                diag_error(st->loc, "an objective line starts with 'max' or 'min', like: max %s: ...", who->name);
                continue;
            }
            NetInfo *n = find_net(s, who->name);
            if (!n) {
                const char *cands[2] = {s->nets[NET_G].def ? s->nets[NET_G].name : NULL,
                                        s->nets[NET_D].def ? s->nets[NET_D].name : NULL};
                const char *h = hint(hb, sizeof hb, who->name, cands, 2);
                if (!h[0] && cands[0] && cands[1])
                    snprintf(hb, sizeof hb, "; the networks are %s and %s", cands[0], cands[1]);
                diag_error(who->loc, "unknown network '%s'%s", who->name, hb);
                bad_name = 1;
                continue;
            }
            if (seen[n->kind]) {
                diag_error(st->loc, "a second objective for %s", n->name);
                diag_note(seen[n->kind]->loc, "the first is here");
                continue;
            }
            seen[n->kind] = st;
            if (!net_usable(s, n, who->loc)) continue;
            ObjCtx gc = {.net = NET_G};
            ObjCtx *c = n->kind == NET_D ? &dc : &gc;
            Val v = obj_expr(s, c, e);
            if (!c->calls[n->kind]) {
                if (n->kind == NET_D)
                    diag_error(e->loc, "the objective for %s never calls %s, so it cannot train %s", n->name,
                               n->name, n->name);
                else
                    diag_error(e->loc, "the objective for %s never calls %s(...), so it cannot train %s", n->name,
                               n->name, n->name);
                continue;
            }
            if (v.kind == V_POISON) continue;
            if (v.kind == V_NUM) {
                diag_error(e->loc, "the objective for %s is a constant", n->name);
                continue;
            }
            Shape sh = shape_of(s, v.node);
            if (sh.rank != 0) {
                char b1[64];
                diag_error(e->loc, "the objective for %s must be a scalar, but it is %s; take the mean with E[...]",
                           n->name, batch_str(sh, b1, sizeof b1));
                continue;
            }
            int loss = is_max ? ir_un(s->g, OP_NEG, v.node, st->loc) : v.node;
            if (n->kind == NET_D) s->p->d_loss = loss;
            else s->p->g_loss = loss;
        }
        for (int k = 0; k < 2 && !bad_name; k++)
            if (!seen[k] && s->nets[k].def)
                diag_error(o->loc, "the objective has no line for %s %s; add '%s %s: ...'",
                           k == NET_G ? "generator" : "discriminator", s->nets[k].name, k == NET_G ? "min" : "max",
                           s->nets[k].name);
    }
    /* G(z) in training mode, and the metrics of the D step */
    int fake = -1;
    for (int k = 0; k < s->n_gmemo; k++)
        if (s->gmemo[k].arg == s->p->z) fake = s->gmemo[k].out.out;
    if (fake < 0 && s->nets[NET_G].state == 0) fake = call_g(s, s->p->z, s->nets[NET_G].def->loc).out;
    s->p->fake = fake;
    s->p->d_real = metric(s, &dc, s->p->x, o->loc);
    s->p->d_fake = metric(s, &dc, fake, o->loc);
}

/* ------------------------------------------------------------ data, noise */

/* The data path of str: as written if it exists, else relative to the .gan
 * file's folder (in alt).  NULL after reporting it missing. */
static const char *find_data(Sema *s, const Ast *str, char *alt, size_t n)
{
    const char *path = str->name;
    size_t len = strlen(path);
    const char *what = len && path[len - 1] == '/' ? "data folder" : "data file";
    if (access(path, F_OK) == 0) return path;
    const char *slash = strrchr(s->file, '/');
    if (path[0] != '/' && slash) {
        snprintf(alt, n, "%.*s/%s", (int)(slash - s->file), s->file, path);
        if (access(alt, F_OK) == 0) return alt;
        diag_error(str->loc, "%s '%s' not found (looked in the current directory and in %.*s/)", what, path,
                   (int)(slash - s->file), s->file);
    } else {
        diag_error(str->loc, "%s '%s' not found", what, path);
    }
    return NULL;
}

static void read_idx(Sema *s, const Ast *str, const char *use)
{
    Program *p = s->p;
    const char *path = str->name;
    gzFile f = gzopen(use, "rb");
    if (!f) {
        diag_error(str->loc, "cannot open data file '%s': %s", use, strerror(errno ? errno : EIO));
        return;
    }
    unsigned char h[16];
    int n = gzread(f, h, sizeof h);
    gzclose(f);
    if (n < 16) {
        diag_error(str->loc, "'%s' is not an IDX image file: it is too short for the header", path);
        return;
    }
    uint32_t v[4];
    for (int k = 0; k < 4; k++)
        v[k] = (uint32_t)h[4 * k] << 24 | (uint32_t)h[4 * k + 1] << 16 | (uint32_t)h[4 * k + 2] << 8 | h[4 * k + 3];
    if (v[0] != 0x803) {
        diag_error(str->loc, "'%s' is not an IDX image file: magic number 0x%08x, expected 0x00000803", path,
                   (unsigned)v[0]);
        return;
    }
    if (v[1] == 0 || v[2] == 0 || v[3] == 0 || v[2] > 65536 || v[3] > 65536) {
        diag_error(str->loc, "'%s' has a bad IDX header: %u images of %ux%u", path, (unsigned)v[1], (unsigned)v[2],
                   (unsigned)v[3]);
        return;
    }
    char *real = realpath(use, NULL);
    p->data_path = real ? real : xstrdup(use);
    p->data_shape = (Shape){3, {1, v[2], v[3]}};
}

static const char *const data_names[] = {"ring", "grid", "images"};

/* Returns 1 if the data shape is known. */
static int data_decl(Sema *s)
{
    const Ast *d = s->data, *src = d->kid->next;
    Program *p = s->p;
    char hb[96];
    double v[3];
    Loc vl[3];
    int which = find_name(data_names, 3, src->name);
    if (which < 0) {
        diag_error(src->loc, "unknown data source '%s'%s", src->name,
                   hint(hb, sizeof hb, src->name, data_names, 3)[0] ? hb : "; expected ring, grid or images");
        return 0;
    }
    p->data_shape = (Shape){1, {2}};
    if (which == 0) {
        ArgSpec sp[] = {{"modes", 0, 8}, {"radius", 0, 1}, {"std", 0, 0.01}};
        if (!bind_args(NULL, src, 0, "ring", sp, 3, v, vl)) return 1;
        p->data = DATA_RING;
        if (want_pos_int(v[0], vl[0], "modes")) p->data_modes = (int)v[0];
        if (!(v[1] > 0)) diag_error(vl[1], "radius must be positive, got %g", v[1]);
        if (!(v[2] >= 0)) diag_error(vl[2], "std must not be negative, got %g", v[2]);
        p->data_radius = v[1];
        p->data_std = v[2];
        return 1;
    }
    if (which == 1) {
        ArgSpec sp[] = {{"std", 0, 0.05}};
        if (!bind_args(NULL, src, 0, "grid", sp, 1, v, vl)) return 1;
        p->data = DATA_GRID;
        p->data_modes = 25;
        p->data_radius = 2;
        if (!(v[0] >= 0)) diag_error(vl[0], "std must not be negative, got %g", v[0]);
        p->data_std = v[0];
        return 1;
    }
    p->data = DATA_IDX;
    const Ast *str = src->kind == AST_CALL ? src->kid : NULL;
    if (str && str->kind == AST_KWARG && !strcmp(str->name, "path")) str = str->kid;
    if (!str || str->kind != AST_STR) {
        diag_error(str ? str->loc : src->loc, "images needs the path of an IDX file: images(\"train-images-idx3-ubyte.gz\")");
        return 0;
    }
    char alt[4096] = "";
    const char *use = find_data(s, str, alt, sizeof alt);
    struct stat sb;
    int folder = use && stat(use, &sb) == 0 && S_ISDIR(sb.st_mode);
    /* a folder of images, all resized to size x size: images("faces/", size=64, channels=3) */
    double size = 64, channels = 3;
    Loc size_loc = str->loc, ch_loc = str->loc;
    for (const Ast *a = src->kid; a; a = a->next) {
        if (a == src->kid) continue;   /* the path */
        if (a->kind == AST_KWARG && !strcmp(a->name, "labels")) {
            diag_error(a->loc, "labels are not supported yet");
            return 0;
        }
        int sz = a->kind == AST_KWARG && !strcmp(a->name, "size"), ch = a->kind == AST_KWARG && !strcmp(a->name, "channels");
        if (!folder || !(sz || ch)) {
            diag_error(a->loc, folder ? "images of a folder takes the path, size= and channels="
                                      : "images takes one argument, the path");
            return 0;
        }
        if (!const_eval(NULL, a->kid, sz ? &size : &channels, sz ? "the image size" : "the number of channels"))
            return 0;
        *(sz ? &size_loc : &ch_loc) = a->kid->loc;
    }
    if (!use) return 0;
    if (!folder) {
        read_idx(s, str, use);
        return p->data_path != NULL;
    }
    if (!want_pos_int(size, size_loc, "the image size")) return 0;
    if (size > 4096) {
        diag_error(size_loc, "the image size must be at most 4096, got %g", size);
        return 0;
    }
    if (channels != 1 && channels != 3) {
        diag_error(ch_loc, "images of a folder have 1 (grey) or 3 (colour) channels, got %g", channels);
        return 0;
    }
    p->data_shape = (Shape){3, {(int64_t)channels, (int64_t)size, (int64_t)size}};
    p->data = DATA_FOLDER;
    char *abs = realpath(use, NULL);
    p->data_path = abs ? abs : use;
    return 1;
}

static int noise_decl(Sema *s)
{
    const Ast *src = s->noise->kid->next;
    Program *p = s->p;
    double v[3];
    Loc vl[3];
    char hb[96];
    const char *names[] = {"normal", "uniform"};
    int which = find_name(names, 2, src->name);
    if (which < 0) {
        diag_error(src->loc, "unknown noise distribution '%s'%s", src->name,
                   hint(hb, sizeof hb, src->name, names, 2)[0] ? hb : "; expected normal or uniform");
        return 0;
    }
    ArgSpec sp[] = {{"dim", 1, 0}, {"lo", 0, -1}, {"hi", 0, 1}};
    if (!bind_args(NULL, src, 0, names[which], sp, which == 0 ? 1 : 3, v, vl)) return 0;
    if (!want_pos_int(v[0], vl[0], "the noise dimension")) return 0;
    p->noise = which == 0 ? NOISE_NORMAL : NOISE_UNIFORM;
    p->noise_dim = (int64_t)v[0];
    p->noise_lo = which ? v[1] : 0;
    p->noise_hi = which ? v[2] : 0;
    if (which && !(v[1] < v[2])) {
        diag_error(src->loc, "uniform needs lo < hi, got lo=%g, hi=%g", v[1], v[2]);
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ train */

static const char *const setting_names[] = {"batch", "steps", "d_steps", "optimizer", "sample", "checkpoint", "init",
                                            "ema"};
enum { N_SETTINGS = sizeof setting_names / sizeof setting_names[0] };

static int one_number(const Ast *st, double *v)
{
    if (st->n_kids != 1 || st->kid->kind != AST_NUM) {
        diag_error(st->loc, "%s takes one number, like: %s 100", st->name, st->name);
        return 0;
    }
    *v = st->kid->num;
    return 1;
}

static void optimizer(Sema *s, const Ast *st)
{
    char hb[96];
    const Ast *who = st->kid, *how = who ? who->next : NULL;
    if (st->n_kids != 2 || who->kind != AST_NAME || (how->kind != AST_NAME && how->kind != AST_CALL)) {
        diag_error(st->loc, "expected: optimizer NETWORK adam(lr=...) or optimizer NETWORK sgd(lr=...)");
        return;
    }
    NetInfo *n = find_net(s, who->name);
    if (!n) {
        const char *cands[2] = {s->nets[0].def ? s->nets[0].name : NULL, s->nets[1].def ? s->nets[1].name : NULL};
        const char *h = hint(hb, sizeof hb, who->name, cands, 2);
        if (!h[0] && cands[0] && cands[1]) snprintf(hb, sizeof hb, "; the networks are %s and %s", cands[0], cands[1]);
        diag_error(who->loc, "unknown network '%s'%s", who->name, hb);
        return;
    }
    const char *opts[] = {"adam", "sgd"};
    int which = find_name(opts, 2, how->name);
    if (which < 0) {
        diag_error(how->loc, "unknown optimizer '%s'%s", how->name,
                   hint(hb, sizeof hb, how->name, opts, 2)[0] ? hb : "; expected adam or sgd");
        return;
    }
    OptSpec *o = &s->p->opt[n->kind];
    double v[4];
    Loc vl[4];
    if (which == 0) {
        ArgSpec sp[] = {{"lr", 0, 1e-3}, {"beta1", 0, 0.9}, {"beta2", 0, 0.999}, {"eps", 0, 1e-8}};
        if (!bind_args(NULL, how, 0, "adam", sp, 4, v, vl)) return;
        *o = (OptSpec){OPT_ADAM, v[0], v[1], v[2], v[3], 0};
        if (!(v[1] >= 0 && v[1] < 1)) diag_error(vl[1], "beta1 must be in [0, 1), got %g", v[1]);
        if (!(v[2] >= 0 && v[2] < 1)) diag_error(vl[2], "beta2 must be in [0, 1), got %g", v[2]);
        if (!(v[3] > 0)) diag_error(vl[3], "eps must be positive, got %g", v[3]);
    } else {
        ArgSpec sp[] = {{"lr", 0, 1e-3}, {"momentum", 0, 0}};
        if (!bind_args(NULL, how, 0, "sgd", sp, 2, v, vl)) return;
        *o = (OptSpec){OPT_SGD, v[0], 0, 0, 0, v[1]};
        if (!(v[1] >= 0 && v[1] < 1)) diag_error(vl[1], "momentum must be in [0, 1), got %g", v[1]);
    }
    if (!(v[0] > 0)) diag_error(vl[0], "the learning rate must be positive, got %g", v[0]);
}

/* init pytorch | init dcgan | init normal(std): *std gets the std of the
 * weights (0: PyTorch's initialisation).  Reports errors if report. */
static int init_setting(const Ast *st, double *std, int report)
{
    const Ast *w = st->kid;
    if (st->n_kids == 1 && w->kind == AST_NAME && !strcmp(w->name, "pytorch")) {
        *std = 0;
        return 1;
    }
    if (st->n_kids == 1 && w->kind == AST_NAME && !strcmp(w->name, "dcgan")) {
        *std = 0.02;
        return 1;
    }
    if (st->n_kids == 1 && w->kind == AST_CALL && !strcmp(w->name, "normal")) {
        double v;
        Loc vl;
        ArgSpec sp[] = {{"std", 1, 0}};
        if (!report) {   /* quietly: only the plain forms */
            const Ast *a = w->kid;
            if (w->n_kids != 1 || (a->kind == AST_KWARG && strcmp(a->name, "std"))) return 0;
            a = a->kind == AST_KWARG ? a->kid : a;
            if (a->kind != AST_NUM || !(a->num > 0)) return 0;
            *std = a->num;
            return 1;
        }
        if (!bind_args(NULL, w, 0, "normal", sp, 1, &v, &vl)) return 0;
        if (!(v > 0)) {
            diag_error(vl, "the std of init normal must be positive, got %g", v);
            return 0;
        }
        *std = v;
        return 1;
    }
    if (!report) return 0;
    if (st->n_kids == 1 && (w->kind == AST_NAME || w->kind == AST_CALL)) {
        const char *names[] = {"pytorch", "dcgan", "normal"};
        char hb[96];
        diag_error(w->loc, "unknown initialisation '%s'%s", w->name,
                   hint(hb, sizeof hb, w->name, names, 3)[0] ? hb
                                                             : "; expected init pytorch, init dcgan or init normal(std)");
    } else {
        diag_error(st->loc, "expected: init pytorch, init dcgan or init normal(std)");
    }
    return 0;
}

/* ema G 0.999: samples come from an exponential moving average of G's
 * weights (the runtime keeps it; D trains against the live G). */
static void ema_setting(Sema *s, const Ast *st)
{
    const Ast *who = st->kid, *v = who ? who->next : NULL;
    if (st->n_kids != 2 || who->kind != AST_NAME || v->kind != AST_NUM) {
        diag_error(st->loc, "expected: ema GENERATOR DECAY, like: ema G 0.999");
        return;
    }
    NetInfo *n = find_net(s, who->name);
    if (!n || n->kind != NET_G) {
        diag_error(who->loc, "ema averages the generator's weights: expected %s, got '%s'",
                   s->nets[NET_G].def ? s->nets[NET_G].name : "the generator", who->name);
        return;
    }
    if (!(v->num > 0 && v->num < 1)) {
        diag_error(v->loc, "the ema decay must be in (0, 1), like 0.999, got %g", v->num);
        return;
    }
    s->p->ema = v->num;
}

static void train(Sema *s)
{
    Program *p = s->p;
    const Ast *seen[N_SETTINGS] = {NULL};
    const Ast *opt_seen[2] = {NULL, NULL};
    char hb[96];
    int64_t every[2] = {0, 0};
    for (int k = 0; k < 2; k++) p->opt[k] = (OptSpec){OPT_ADAM, 1e-3, 0.9, 0.999, 1e-8, 0};
    p->batch = DEF_BATCH;
    p->steps = DEF_STEPS;
    p->n_critic = 1;
    for (const Ast *st = s->train ? s->train->kid : NULL; st; st = st->next) {
        int which = find_name(setting_names, N_SETTINGS, st->name);
        if (which < 0) {
            diag_error(st->loc, "unknown train setting '%s'%s", st->name,
                       hint(hb, sizeof hb, st->name, setting_names, N_SETTINGS));
            continue;
        }
        if (which == 3) {
            NetInfo *n = st->kid && st->kid->kind == AST_NAME ? find_net(s, st->kid->name) : NULL;
            if (n && opt_seen[n->kind]) {
                diag_error(st->loc, "a second optimizer for %s", n->name);
                diag_note(opt_seen[n->kind]->loc, "the first is here");
                continue;
            }
            if (n) opt_seen[n->kind] = st;
            optimizer(s, st);
            continue;
        }
        if (seen[which]) {
            diag_error(st->loc, "%s is set twice", st->name);
            diag_note(seen[which]->loc, "the first is here");
            continue;
        }
        seen[which] = st;
        double v;
        if (which == 6) {
            double std;
            init_setting(st, &std, 1);
            continue;
        }
        if (which == 7) {
            ema_setting(s, st);
            continue;
        }
        if (which == 4 || which == 5) {
            const Ast *w = st->kid;
            if (st->n_kids != 2 || w->kind != AST_NAME || strcmp(w->name, "every") || w->next->kind != AST_NUM) {
                diag_error(st->loc, "expected: %s every N", st->name);
                continue;
            }
            v = w->next->num;
            if (want_pos_int(v, w->next->loc, which == 4 ? "the sample interval" : "the checkpoint interval"))
                every[which - 4] = (int64_t)v;
            continue;
        }
        if (!one_number(st, &v)) continue;
        char what[64];
        snprintf(what, sizeof what, "%s", st->name);
        if (!want_pos_int(v, st->kid->loc, what)) continue;
        if (which == 0) p->batch = (int)v;
        else if (which == 1) p->steps = (int64_t)v;
        else p->n_critic = (int)v;
    }
    p->sample_every = every[0] ? every[0] : (p->steps / 10 > 1 ? p->steps / 10 : 1);
    p->checkpoint_every = every[1] ? every[1] : (p->steps / 5 > 1 ? p->steps / 5 : 1);
}

/* ------------------------------------------------------------------ items */

static void duplicate(const Ast *a, const Ast *first, const char *what)
{
    diag_error(a->loc, "%s", what);
    diag_note(first->loc, "the first is here");
}

/* Names bound at file level: data, noise, networks, blocks. */
static const Ast *top_name(const Sema *s, const char *name, const Ast *except)
{
    if (s->data && s->data != except && !strcmp(s->x_name, name)) return s->data->kid->kid;
    if (s->noise && s->noise != except && !strcmp(s->z_name, name)) return s->noise->kid->kid;
    for (int k = 0; k < 2; k++)
        if (s->nets[k].def && s->nets[k].def != except && !strcmp(s->nets[k].name, name)) return s->nets[k].def;
    for (int k = 0; k < s->n_blocks; k++)
        if (s->blocks[k] != except && !strcmp(s->blocks[k]->name, name)) return s->blocks[k];
    return NULL;
}

static void collect(Sema *s, const Ast *file)
{
    char msg[160];
    int idx = 0;
    for (const Ast *it = file->kid; it; it = it->next, idx++) {
        const Ast *prev;
        switch (it->kind) {
        case AST_DATA:
        case AST_NOISE: {
            const Ast **slot = it->kind == AST_DATA ? &s->data : &s->noise;
            const char *what = it->kind == AST_DATA ? "data" : "noise";
            if (*slot) {
                snprintf(msg, sizeof msg, "a second %s declaration", what);
                duplicate(it, *slot, msg);
                break;
            }
            const Ast *names = it->kid;
            s->seen[it->kind == AST_DATA] = 1;
            if (names->n_kids != 1) {
                diag_error(names->loc, "%s binds one name; labelled data like (x, y) is not supported yet", what);
                break;
            }
            if ((prev = top_name(s, names->kid->name, NULL))) {
                snprintf(msg, sizeof msg, "'%s' is already defined", names->kid->name);
                duplicate(names->kid, prev, msg);
                break;
            }
            *slot = it;
            if (it->kind == AST_DATA) s->x_name = names->kid->name;
            else s->z_name = names->kid->name;
            break;
        }
        case AST_NET: {
            NetInfo *n = &s->nets[it->op];
            s->seen_net[it->op] = 1;
            if ((prev = top_name(s, it->name, NULL))) {
                snprintf(msg, sizeof msg, "'%s' is already defined", it->name);
                duplicate(it, prev, msg);
                break;
            }
            if (n->def) {
                snprintf(msg, sizeof msg, "a second %s; a GAN has one (%s is defined already)",
                         it->op == NET_G ? "generator" : "discriminator", n->name);
                duplicate(it, n->def, msg);
                break;
            }
            const Ast *params = it->kid;
            if (params->n_kids != 1) {
                diag_error(it->loc, "%s %s must take exactly one input, like %s(%s); conditional networks are not "
                                    "supported yet",
                           it->op == NET_G ? "generator" : "discriminator", it->name, it->name,
                           it->op == NET_G ? "z" : "x");
                break;
            }
            if (params->kid->kid) {
                diag_error(params->kid->loc, "a network input cannot have a default value");
                break;
            }
            *n = (NetInfo){.def = it, .name = it->name, .kind = it->op, .item = idx};
            break;
        }
        case AST_BLOCK:
            if ((prev = top_name(s, it->name, NULL))) {
                snprintf(msg, sizeof msg, "'%s' is already defined", it->name);
                duplicate(it, prev, msg);
                break;
            }
            if (find_name(layer_names, N_LAYERS, it->name) >= 0) {
                diag_error(it->loc, "block '%s' has the name of a built-in layer", it->name);
                break;
            }
            if (s->n_blocks < 32) s->blocks[s->n_blocks++] = it;
            break;
        case AST_OBJECTIVE:
            if (s->obj) {
                duplicate(it, s->obj, "a second objective");
                break;
            }
            s->obj = it;
            s->obj_item = idx;
            break;
        case AST_TRAIN:
            if (s->train) {
                duplicate(it, s->train, "a second train section");
                break;
            }
            s->train = it;
            break;
        default: ir_die(__FILE__, __LINE__, "unexpected item kind");
        }
    }
}

static void fnv1a(const char *src, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *c = (const unsigned char *)src; *c; c++) {
        h ^= *c;
        h *= 0x100000001b3ull;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 4 && !strcmp(b + n - 4, ".gan")) n -= 4;
    char *r = malloc(n + 1);
    ir_assert(r);
    memcpy(r, b, n);
    r[n] = 0;
    return r;
}

void sema_free(Program *p)
{
    if (!p) return;
    for (int k = 0; p->g && k < p->g->len; k++)   /* sources own their names (xstrdup) */
        if (p->g->n[k].op == OP_PARAM || p->g->n[k].op == OP_INPUT) free((char *)p->g->n[k].name);
    ir_free(p->g);
    free(p->assign);
    free((char *)p->name);
    free((char *)p->data_path);
    free(p);
}

Program *sema_program(struct Ast *ast, const char *path, const char *source)
{
    int before = diag_errors();
    Program *p = calloc(1, sizeof *p);
    ir_assert(p);
    Sema s = {.p = p, .file = path};
    s.file_loc = (Loc){diag_file(path), 0, 0, 0};
    p->path = diag_file(path);
    p->name = base_name(path);
    fnv1a(source, p->source_hash);
    p->g = s.g = ir_new();
    p->x = p->z = p->fake = p->sample = p->d_loss = p->g_loss = p->d_real = p->d_fake = -1;

    collect(&s, ast);
    /* the batch size shapes the graph; train() checks the settings later, so
     * errors come out in the usual order of a file */
    p->batch = DEF_BATCH;
    for (const Ast *st = s.train ? s.train->kid : NULL; st; st = st->next)
        if (!strcmp(st->name, "batch") && st->n_kids == 1 && st->kid->kind == AST_NUM && is_int(st->kid->num) &&
            st->kid->num >= 1 && st->kid->num <= INT_MAX)
            p->batch = (int)st->kid->num;
        else if (!strcmp(st->name, "init")) init_setting(st, &s.init_std, 0);
    int have_data = s.data && data_decl(&s);
    int have_noise = s.noise && noise_decl(&s);
    if (!s.seen[1]) diag_error(s.file_loc, "no data: add a line like 'data x ~ ring()'");
    if (!s.seen[0]) diag_error(s.file_loc, "no noise: add a line like 'noise z ~ normal(100)'");
    if (!s.seen_net[NET_G]) diag_error(s.file_loc, "no generator: add one like 'generator G(z) { z -> linear(2) }'");
    if (!s.seen_net[NET_D])
        diag_error(s.file_loc, "no discriminator: add one like 'discriminator D(x) { x -> linear(1) }'");
    if (!s.obj) diag_error(s.file_loc, "no objective: add 'objective nonsaturating' or an objective { ... } block");

    if (have_data) {
        Shape xs = {p->data_shape.rank + 1, {p->batch}};
        for (int k = 0; k < p->data_shape.rank; k++) xs.d[k + 1] = p->data_shape.d[k];
        int i[3] = {IN_X, 0, 0};
        p->x = ir_source(s.g, OP_INPUT, xs, NULL, i, xstrdup(s.x_name), s.data->loc);
    }
    if (have_noise) {
        Shape zs = {2, {p->batch, p->noise_dim}};
        int i[3] = {IN_Z, 0, 0};
        p->z = ir_source(s.g, OP_INPUT, zs, NULL, i, xstrdup(s.z_name), s.noise->loc);
    }
    if (p->x >= 0 && p->z >= 0 && s.nets[NET_G].def && s.nets[NET_D].def) {
        if (s.obj) objective(&s);
        /* check the bodies even when the objective did not reach them */
        s.epoch++;
        if (s.nets[NET_G].state == 0) call_g(&s, p->z, s.nets[NET_G].def->loc);
        if (s.nets[NET_D].state == 0) net_call(&s, &s.nets[NET_D], p->x, 1, s.nets[NET_D].def->loc);
        if (s.nets[NET_G].state > 0)
            p->sample = net_call(&s, &s.nets[NET_G], p->z, 0, s.nets[NET_G].def->loc).out;
    }
    train(&s);
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < s.nets[k].n_slots; j++) free(s.nets[k].slots[j].path);
        free(s.nets[k].slots);
    }
    if (diag_errors() > before) {
        sema_free(p);
        return NULL;
    }
    ir_assert(p->fake >= 0 && p->sample >= 0 && p->d_loss >= 0 && p->g_loss >= 0);
    return p;
}
