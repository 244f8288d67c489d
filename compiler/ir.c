/* ir.c: graph construction and shape inference.
 *
 * ir_add() is the only way nodes enter a graph: it checks arity against the
 * op table and applies the op's shape rule, so every node in every graph has
 * a valid static shape.  Shape errors are user errors (sema reports them at
 * the node's location); everything else here is an internal assertion.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "ir.h"

const OpInfo ir_ops[OP_COUNT] = {
#define X(op, nm, arity, kind, grad) [OP_##op] = {nm, arity, kind, grad},
    GANC_OPS(X)
#undef X
};

_Noreturn void ir_die(const char *file, int line, const char *msg)
{
    fprintf(stderr, "ganc: internal error at %s:%d: %s\n", file, line, msg);
    abort();
}

Graph *ir_new(void)
{
    Graph *g = calloc(1, sizeof *g);
    ir_assert(g);
    return g;
}

void ir_free(Graph *g)
{
    if (g) free(g->n);
    free(g);
}

Shape ir_shape_a(const int64_t *v)
{
    Shape s = {.rank = (int)v[0]};
    ir_assert(s.rank >= 0 && s.rank <= IR_MAXRANK);
    for (int k = 0; k < s.rank; k++) s.d[k] = v[k + 1];
    return s;
}

int64_t ir_numel(Shape s)
{
    int64_t n = 1;
    for (int k = 0; k < s.rank; k++) n *= s.d[k];
    return n;
}

int ir_shape_eq(Shape a, Shape b)
{
    if (a.rank != b.rank) return 0;
    for (int k = 0; k < a.rank; k++)
        if (a.d[k] != b.d[k]) return 0;
    return 1;
}

char *ir_shape_str(Shape s, char *buf, size_t n)
{
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int k = 0; k < s.rank && o < n; k++)
        o += (size_t)snprintf(buf + o, n - o, "%s%lld", k ? "," : "", (long long)s.d[k]);
    if (o < n) snprintf(buf + o, n - o, "]");
    return buf;
}

static int push(Graph *g, Node nd)
{
    if (g->len == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 64;
        g->n = realloc(g->n, (size_t)g->cap * sizeof *g->n);
        ir_assert(g->n);
    }
    g->n[g->len] = nd;
    return g->len++;
}

static int fail(Graph *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, sizeof g->err, fmt, ap);
    va_end(ap);
    return 0;
}

/* The small shape a MapMode maps from, for a big shape s. */
static Shape map_small(Shape s, MapMode m)
{
    Shape r = {0};
    switch (m) {
    case MAP_SCALAR: break;
    case MAP_BATCH:
        r.rank = s.rank - 1;
        for (int k = 1; k < s.rank; k++) r.d[k - 1] = s.d[k];
        break;
    case MAP_CHANNEL: r = ir_shape(1, s.rank > 1 ? s.d[1] : (int64_t)1); break;
    case MAP_ROW: r = ir_shape(1, s.d[0]); break;
    }
    return r;
}

/* The shape rules.  Returns 1 and sets *out, or 0 with g->err set. */
static int infer(Graph *g, Node *nd, Shape *out)
{
    char b1[64], b2[64];
    const Node *a = nd->n_in > 0 ? &g->n[nd->in[0]] : NULL;
    const Node *b = nd->n_in > 1 ? &g->n[nd->in[1]] : NULL;
    switch (ir_ops[nd->op].kind) {
    case K_SOURCE: ir_die(__FILE__, __LINE__, "sources take ir_source");
    case K_ELEM:
        if (b && !ir_shape_eq(a->shape, b->shape))
            return fail(g, "shapes %s and %s do not match", ir_shape_str(a->shape, b1, sizeof b1),
                        ir_shape_str(b->shape, b2, sizeof b2));
        *out = a->shape;
        return 1;
    case K_BCAST:
    case K_REDUCE:
        *out = nd->shape;   /* the big (BCAST) / small (REDUCE) shape is given by the caller */
        if (nd->op == OP_BCAST) {
            Shape want = map_small(nd->shape, (MapMode)nd->i[0]);
            if (!ir_shape_eq(want, a->shape))
                return fail(g, "cannot broadcast %s to %s", ir_shape_str(a->shape, b1, sizeof b1),
                            ir_shape_str(nd->shape, b2, sizeof b2));
        } else {
            *out = map_small(a->shape, (MapMode)nd->i[0]);
        }
        return 1;
    case K_MATMUL: {
        int r = nd->op == OP_BMATMUL ? 3 : 2, o = r - 2;
        if (a->shape.rank != r || b->shape.rank != r || (r == 3 && a->shape.d[0] != b->shape.d[0]))
            return fail(g, "%s needs %s operands, got %s and %s", ir_ops[nd->op].name, r == 2 ? "2-D" : "[P,.,.]",
                        ir_shape_str(a->shape, b1, sizeof b1), ir_shape_str(b->shape, b2, sizeof b2));
        if (r == 3 && nd->i[0] && nd->i[1]) return fail(g, "batch_matmul takes one transposed operand at most");
        int64_t m = a->shape.d[o + !!nd->i[0]], ka = a->shape.d[o + !nd->i[0]];
        int64_t kb = b->shape.d[o + !!nd->i[1]], n = b->shape.d[o + !nd->i[1]];
        if (ka != kb)
            return fail(g, "matmul inner sizes differ: %s and %s", ir_shape_str(a->shape, b1, sizeof b1),
                        ir_shape_str(b->shape, b2, sizeof b2));
        *out = r == 3 ? ir_shape(3, a->shape.d[0], m, n) : ir_shape(2, m, n);
        return 1;
    }
    case K_VIEW:
        if (ir_numel(nd->shape) != ir_numel(a->shape))
            return fail(g, "cannot reshape %s (%lld values) to %s (%lld values)",
                        ir_shape_str(a->shape, b1, sizeof b1), (long long)ir_numel(a->shape),
                        ir_shape_str(nd->shape, b2, sizeof b2), (long long)ir_numel(nd->shape));
        *out = nd->shape;
        return 1;
    case K_COPY:
        if (nd->op == OP_TRANSPOSE) {
            if (a->shape.rank != 2) return fail(g, "transpose needs a 2-D operand");
            *out = ir_shape(2, a->shape.d[1], a->shape.d[0]);
            return 1;
        }
        if (nd->op == OP_SWAP01) {
            if (a->shape.rank < 2) return fail(g, "swap01 needs at least 2 axes");
            *out = a->shape;
            out->d[0] = a->shape.d[1];
            out->d[1] = a->shape.d[0];
            return 1;
        }
        if (nd->op == OP_IM2COL || nd->op == OP_COL2IM) {
            const int *cv = nd->cv;
            Shape img = nd->op == OP_IM2COL ? a->shape : nd->shape;
            if (img.rank != 4) return fail(g, "%s needs [B,C,H,W], got %s", ir_ops[nd->op].name, ir_shape_str(img, b1, sizeof b1));
            int64_t Y = ir_conv_out(img.d[2], cv[0], cv[2], cv[3], cv[4]), X = ir_conv_out(img.d[3], cv[1], cv[2], cv[3], cv[4]);
            if (Y <= 0 || X <= 0)
                return fail(g, "a %dx%d kernel (stride %d, padding %d, dilation %d) does not fit in %lldx%lld", cv[0], cv[1],
                            cv[2], cv[3], cv[4], (long long)img.d[2], (long long)img.d[3]);
            Shape cols = ir_shape(2, img.d[1] * cv[0] * cv[1], img.d[0] * Y * X);
            if (nd->op == OP_COL2IM && !ir_shape_eq(cols, a->shape))
                return fail(g, "col2im to %s needs %s columns, got %s", ir_shape_str(img, b1, sizeof b1),
                            ir_shape_str(cols, b2, sizeof b2), ir_shape_str(a->shape, b1 + 32, sizeof b1 - 32));
            *out = nd->op == OP_IM2COL ? cols : img;
            return 1;
        }
        if (nd->op == OP_WINO_IN || nd->op == OP_WINO_OUT || nd->op == OP_WINO_W) {
            const int *cv = nd->cv;
            int adj = cv[4], toimg = (nd->op == OP_WINO_OUT) != adj;
            Shape img = toimg ? nd->shape : a->shape, other = toimg ? a->shape : nd->shape;
            if (img.rank != 4) return fail(g, "%s needs a 4-D image, got %s", ir_ops[nd->op].name, ir_shape_str(img, b1, sizeof b1));
            if (cv[1] < 1 || cv[0] < 2 * cv[1] || cv[0] % cv[1] || cv[3] < 1 || cv[2] < 0 || cv[0] / cv[1] + cv[3] - 1 > 8)
                return fail(g, "no Winograd transform for k=%d s=%d m=%d", cv[0], cv[1], cv[3]);
            Wino w = ir_wino(nd, img);
            if (w.Y <= 0 || w.X <= 0) return fail(g, "a %dx%d kernel (stride %d, padding %d) does not fit in %lldx%lld",
                                                  cv[0], cv[0], cv[1], cv[2], (long long)img.d[2], (long long)img.d[3]);
            int64_t ss = (int64_t)w.s * w.s;
            Shape dom = nd->op == OP_WINO_IN ? ir_shape(3, (int64_t)w.A * w.A, img.d[1] * ss, w.ty * w.tx * img.d[0])
                      : nd->op == OP_WINO_OUT ? ir_shape(3, (int64_t)w.A * w.A, img.d[1], w.ty * w.tx * img.d[0])
                                              : ir_shape(3, (int64_t)w.A * w.A, img.d[1] * ss, img.d[0]);
            if (nd->op == OP_WINO_W && (img.d[2] != w.k || img.d[3] != w.k))
                return fail(g, "wino_w needs [Co,C,%d,%d] weights, got %s", w.k, w.k, ir_shape_str(img, b1, sizeof b1));
            if (toimg && !ir_shape_eq(dom, other)) {   /* the image is the given result: its transform is the input */
                char b3[64];
                return fail(g, "%s to %s needs %s, got %s", ir_ops[nd->op].name, ir_shape_str(img, b1, sizeof b1),
                            ir_shape_str(dom, b2, sizeof b2), ir_shape_str(other, b3, sizeof b3));
            }
            *out = toimg ? img : dom;
            return 1;
        }
        if (nd->op == OP_AVGPOOL || nd->op == OP_UPSAMPLE || nd->op == OP_PAD) {
            int k = nd->i[0];
            if (a->shape.rank != 4) return fail(g, "%s needs [B,C,H,W], got %s", ir_ops[nd->op].name, ir_shape_str(a->shape, b1, sizeof b1));
            *out = a->shape;
            for (int ax = 2; ax < 4; ax++) {
                int64_t h = a->shape.d[ax];
                if (nd->op == OP_AVGPOOL) {
                    if (k < 1 || h % k) return fail(g, "avgpool(%d) needs sizes divisible by %d, got %lldx%lld", k, k,
                                                    (long long)a->shape.d[2], (long long)a->shape.d[3]);
                    out->d[ax] = h / k;
                } else if (nd->op == OP_UPSAMPLE) {
                    if (k < 1) return fail(g, "upsample needs a factor >= 1");
                    out->d[ax] = h * k;
                } else {
                    if (h + 2 * (int64_t)k < 1) return fail(g, "pad(%d) leaves nothing of %lld", k, (long long)h);
                    out->d[ax] = h + 2 * k;
                }
            }
            return 1;
        }
        if (nd->op == OP_SLICE) {   /* i[0] axis, i[1] start; the length is in nd->shape */
            int ax = nd->i[0];
            int64_t len = nd->shape.d[ax];   /* out may alias nd->shape */
            *out = a->shape;
            out->d[ax] = len;
            if (nd->i[1] < 0 || nd->i[1] + out->d[ax] > a->shape.d[ax]) return fail(g, "slice out of range");
            return 1;
        }
        {   /* CONCAT along axis i[0] */
            int ax = nd->i[0];
            if (a->shape.rank != b->shape.rank || ax >= a->shape.rank)
                return fail(g, "cannot concatenate %s and %s", ir_shape_str(a->shape, b1, sizeof b1),
                            ir_shape_str(b->shape, b2, sizeof b2));
            for (int k = 0; k < a->shape.rank; k++)
                if (k != ax && a->shape.d[k] != b->shape.d[k])
                    return fail(g, "cannot concatenate %s and %s along axis %d: sizes differ in axis %d",
                                ir_shape_str(a->shape, b1, sizeof b1), ir_shape_str(b->shape, b2, sizeof b2),
                                ax, k);
            *out = a->shape;
            out->d[ax] += b->shape.d[ax];
            return 1;
        }
    }
    return fail(g, "unknown op");
}

/* For BCAST, RESHAPE and SLICE the target shape is passed through g->n[len]
 * staging: callers use ir_add_shaped(). */
static int add_node(Graph *g, Op op, const int *in, int n_in, const double *f, const int *i, Shape given,
                    const char *name, Loc loc, const int *cv)
{
    ir_assert(op >= 0 && op < OP_COUNT);
    ir_assert(ir_ops[op].arity < 0 || ir_ops[op].arity == n_in);
    Node nd = {.op = op, .n_in = n_in, .shape = given, .name = name, .loc = loc};
    for (int k = 0; k < n_in; k++) {
        ir_assert(in[k] >= 0 && in[k] < g->len);
        nd.in[k] = in[k];
    }
    if (f) memcpy(nd.f, f, sizeof nd.f);
    if (i) memcpy(nd.i, i, sizeof nd.i);
    if (cv) memcpy(nd.cv, cv, sizeof nd.cv);
    g->err[0] = 0;
    if (ir_ops[op].kind != K_SOURCE && !infer(g, &nd, &nd.shape)) return -1;
    return push(g, nd);
}

int ir_add(Graph *g, Op op, const int *in, int n_in, const double *f, const int *i, Loc loc)
{
    ir_assert(op != OP_BCAST && op != OP_RESHAPE && op != OP_SLICE && op != OP_COL2IM && op != OP_IM2COL &&
              op != OP_WINO_IN && op != OP_WINO_OUT && op != OP_WINO_W);
    return add_node(g, op, in, n_in, f, i, (Shape){0}, NULL, loc, NULL);
}

int ir_add_shaped(Graph *g, Op op, int a, Shape s, const int *i, Loc loc)
{
    return add_node(g, op, &a, 1, NULL, i, s, NULL, loc, NULL);
}

int ir_source(Graph *g, Op op, Shape s, const double *f, const int *i, const char *name, Loc loc)
{
    ir_assert(ir_ops[op].kind == K_SOURCE);
    return add_node(g, op, NULL, 0, f, i, s, name, loc, NULL);
}

static int must(Graph *g, int id)
{
    if (id < 0) ir_die(__FILE__, __LINE__, g->err);
    return id;
}

int ir_un(Graph *g, Op op, int a, Loc loc) { return must(g, ir_add(g, op, &a, 1, NULL, NULL, loc)); }

int ir_bin(Graph *g, Op op, int a, int b, Loc loc)
{
    int in[2] = {a, b};
    return must(g, ir_add(g, op, in, 2, NULL, NULL, loc));
}

int ir_affine(Graph *g, int a, double scale, double shift, Loc loc)
{
    double f[2] = {scale, shift};
    return must(g, ir_add(g, OP_AFFINE, &a, 1, f, NULL, loc));
}

int ir_const(Graph *g, double v, Shape s, Loc loc)
{
    double f[2] = {v, 0};
    return ir_source(g, OP_CONST, s, f, NULL, NULL, loc);
}

int ir_reshape(Graph *g, int a, Shape s, Loc loc) { return ir_add_shaped(g, OP_RESHAPE, a, s, NULL, loc); }

int ir_bcast(Graph *g, int a, Shape big, MapMode m, Loc loc)
{
    int i[3] = {m, 0, 0};
    return must(g, ir_add_shaped(g, OP_BCAST, a, big, i, loc));
}

int ir_reduce(Graph *g, int a, MapMode m, Loc loc)
{
    int i[3] = {m, 0, 0};
    return must(g, ir_add(g, OP_REDUCE, &a, 1, NULL, i, loc));
}

int64_t ir_map_index(Shape big, MapMode m, int64_t e)
{
    int64_t inner = 1;
    switch (m) {
    case MAP_SCALAR: return 0;
    case MAP_BATCH: return e % (ir_numel(big) / big.d[0]);
    case MAP_ROW: return e / (ir_numel(big) / big.d[0]);
    case MAP_CHANNEL:
        for (int k = 2; k < big.rank; k++) inner *= big.d[k];
        return (e / inner) % big.d[1];
    }
    return 0;
}

int ir_add_like(Graph *g, const Node *nd)
{
    return add_node(g, nd->op, nd->in, nd->n_in, nd->f, nd->i, nd->shape, nd->name, nd->loc, nd->cv);
}

int64_t ir_conv_out(int64_t in, int k, int stride, int pad, int dil)
{
    if (k < 1 || stride < 1 || dil < 1 || pad < 0) return 0;
    int64_t span = (int64_t)dil * (k - 1) + 1, room = in + 2 * (int64_t)pad - span;
    return room < 0 ? 0 : room / stride + 1;
}

int ir_im2col(Graph *g, int x, const int cv[5], Loc loc)
{
    int id = add_node(g, OP_IM2COL, &x, 1, NULL, NULL, (Shape){0}, NULL, loc, cv);
    return id;
}

int ir_col2im(Graph *g, int cols, Shape out, const int cv[5], Loc loc)
{
    return add_node(g, OP_COL2IM, &cols, 1, NULL, NULL, out, NULL, loc, cv);
}

int ir_matmul(Graph *g, int a, int b, int ta, int tb, Loc loc)
{
    int in[2] = {a, b}, i[3] = {ta, tb, 0};
    return ir_add(g, OP_MATMUL, in, 2, NULL, i, loc);
}

int ir_bmatmul(Graph *g, int a, int b, int ta, int tb, Loc loc)
{
    int in[2] = {a, b}, i[3] = {ta, tb, 0};
    return ir_add(g, OP_BMATMUL, in, 2, NULL, i, loc);
}

Wino ir_wino(const Node *nd, Shape img)
{
    const int *cv = nd->cv;
    Wino w = {.k = cv[0], .s = cv[1], .p = cv[2], .m = cv[3]};
    w.r = w.k / w.s;
    w.A = w.m + w.r - 1;
    if (nd->op == OP_WINO_OUT) w.Y = img.d[2], w.X = img.d[3];
    else if (nd->op == OP_WINO_IN) w.Y = ir_conv_out(img.d[2], w.k, w.s, w.p, 1), w.X = ir_conv_out(img.d[3], w.k, w.s, w.p, 1);
    else w.Y = w.X = w.m;   /* weights: one tile */
    w.ty = (w.Y + w.m - 1) / w.m;
    w.tx = (w.X + w.m - 1) / w.m;
    return w;
}

/* Toom-Cook at the points 0, 1, -1, 1/2, -1/2, 2, -2 (the first A-1)
 * and infinity.  E(n) is the A x n matrix that evaluates a polynomial of
 * n coefficients at the points (at infinity: its leading coefficient);
 * with C the inverse of E(A), correlation is y = E(m)ᵀ [(E(r) g) ⊙ (Cᵀ d)]:
 * for any a, aᵀy = dᵀ(a * g), and a * g = C [(E(m) a) ⊙ (E(r) g)]. */
static void eval_mat(int A, int n, double *E)
{
    static const double pts[7] = {0, 1, -1, 0.5, -0.5, 2, -2};
    for (int j = 0; j < A; j++)
        for (int q = 0; q < n; q++) {
            double v = 1;
            if (j == A - 1) v = q == n - 1;
            else
                for (int e = 0; e < q; e++) v *= pts[j];
            E[j * n + q] = v;
        }
}

void ir_wino_mats(int m, int r, double *AT, double *G, double *BT)
{
    int A = m + r - 1;
    ir_assert(A >= 1 && A <= 8);
    double E[64], I[64], Em[64];
    eval_mat(A, A, E);
    for (int i = 0; i < A * A; i++) I[i] = i / A == i % A;
    for (int col = 0; col < A; col++) {   /* Gauss-Jordan, partial pivoting: I = E⁻¹ */
        int piv = col;
        for (int i = col + 1; i < A; i++)
            if (fabs(E[i * A + col]) > fabs(E[piv * A + col])) piv = i;
        for (int q = 0; q < A; q++) {
            double t = E[col * A + q]; E[col * A + q] = E[piv * A + q]; E[piv * A + q] = t;
            t = I[col * A + q]; I[col * A + q] = I[piv * A + q]; I[piv * A + q] = t;
        }
        double d = E[col * A + col];
        ir_assert(d != 0);
        for (int q = 0; q < A; q++) E[col * A + q] /= d, I[col * A + q] /= d;
        for (int i = 0; i < A; i++) {
            if (i == col || E[i * A + col] == 0) continue;
            double f = E[i * A + col];
            for (int q = 0; q < A; q++) E[i * A + q] -= f * E[col * A + q], I[i * A + q] -= f * I[col * A + q];
        }
    }
    for (int i = 0; i < A; i++)
        for (int j = 0; j < A; j++) BT[i * A + j] = I[j * A + i];
    eval_mat(A, m, Em);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < A; j++) AT[i * A + j] = Em[j * m + i];
    eval_mat(A, r, G);
}

int ir_wino_op(Graph *g, Op op, int x, const int cv[5], Shape out, Loc loc)
{
    return add_node(g, op, &x, 1, NULL, NULL, out, NULL, loc, cv);
}

static const char *map_name(int m)
{
    static const char *names[] = {"scalar", "batch", "channel", "row"};
    return m >= 0 && m < 4 ? names[m] : "?";
}

/* One node per line, in the style of an SSA listing:
 *   %5 = matmul %0, %3 [64,400] tb   # G.0  ring.gan:5:10 */
void ir_print_node(FILE *f, const Graph *g, int id)
{
    const Node *nd = &g->n[id];
    char sb[64];
    fprintf(f, "  %%%d = %s", id, ir_ops[nd->op].name);
    for (int k = 0; k < nd->n_in; k++) fprintf(f, "%s%%%d", k ? ", " : " ", nd->in[k]);
    fprintf(f, " %s", ir_shape_str(nd->shape, sb, sizeof sb));
    switch (nd->op) {
    case OP_CONST: fprintf(f, " value=%g", nd->f[0]); break;
    case OP_AFFINE: fprintf(f, " scale=%g shift=%g", nd->f[0], nd->f[1]); break;
    case OP_LRELU: case OP_LRELU_GRAD: fprintf(f, " slope=%g", nd->f[0]); break;
    case OP_DROPMASK: fprintf(f, " p=%g", nd->f[0]); break;
    case OP_BCAST: case OP_REDUCE: fprintf(f, " map=%s", map_name(nd->i[0])); break;
    case OP_MATMUL: case OP_BMATMUL: fprintf(f, "%s%s", nd->i[0] ? " ta" : "", nd->i[1] ? " tb" : ""); break;
    case OP_WINO_IN: case OP_WINO_OUT: case OP_WINO_W:
        fprintf(f, " k=%d s=%d p=%d m=%d%s", nd->cv[0], nd->cv[1], nd->cv[2], nd->cv[3], nd->cv[4] ? " adjoint" : "");
        break;
    case OP_CONCAT: fprintf(f, " axis=%d", nd->i[0]); break;
    case OP_SLICE: fprintf(f, " axis=%d start=%d", nd->i[0], nd->i[1]); break;
    case OP_IM2COL: case OP_COL2IM:
        fprintf(f, " k=%dx%d s=%d p=%d d=%d", nd->cv[0], nd->cv[1], nd->cv[2], nd->cv[3], nd->cv[4]);
        break;
    case OP_AVGPOOL: case OP_UPSAMPLE: fprintf(f, " k=%d", nd->i[0]); break;
    case OP_PAD: fprintf(f, " p=%d", nd->i[0]); break;
    case OP_INPUT: fprintf(f, " %s", (const char *[]){"x", "z", "y", "other"}[nd->i[0] & 3]); break;
    case OP_PARAM: fprintf(f, " %s init=%d/%g", nd->i[0] == NET_G ? "G" : "D", nd->i[1], nd->f[0]); break;
    default: break;
    }
    if (nd->name) fprintf(f, "  # %s", nd->name);
    fprintf(f, "\n");
}

/* Prints the nodes reachable from roots (all nodes if n_roots == 0). */
void ir_print(FILE *f, const Graph *g, const int *roots, int n_roots)
{
    char *live = calloc((size_t)g->len + 1, 1);
    ir_assert(live);
    if (n_roots == 0) memset(live, 1, (size_t)g->len);
    for (int r = 0; r < n_roots; r++)
        if (roots[r] >= 0) live[roots[r]] = 1;
    for (int id = g->len - 1; id >= 0; id--)
        if (live[id])
            for (int k = 0; k < g->n[id].n_in; k++) live[g->n[id].in[k]] = 1;
    for (int id = 0; id < g->len; id++)
        if (live[id]) ir_print_node(f, g, id);
    free(live);
}
