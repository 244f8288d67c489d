/* interp.c: the reference interpreter, in double precision.
 *
 * The test oracle: gradient checks run on it and every compiled kernel is
 * compared with it.  It favours obviousness over speed and is never on the
 * hot path.  Requires: values preset for INPUT, PARAM and DROPMASK nodes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ganc.h"


static double elem(const Node *nd, double a, double b)
{
    switch (nd->op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    case OP_AFFINE: return nd->f[0] * a + nd->f[1];
    case OP_NEG: return -a;
    case OP_RELU: return a > 0 ? a : 0;
    case OP_LRELU: return a > 0 ? a : nd->f[0] * a;
    case OP_TANH: return tanh(a);
    case OP_SIGMOID: return 1 / (1 + exp(-a));
    case OP_LOG: return log(a);
    case OP_EXP: return exp(a);
    case OP_SOFTPLUS: return fmax(a, 0) + log1p(exp(-fabs(a)));
    case OP_ABS: return fabs(a);
    case OP_SQUARE: return a * a;
    case OP_RSQRT: return 1 / sqrt(a);
    case OP_RELU_GRAD: return a > 0 ? b : 0;
    case OP_LRELU_GRAD: return a > 0 ? b : nd->f[0] * b;
    case OP_TANH_GRAD: return b * (1 - a * a);
    case OP_SIGM_GRAD: return b * a * (1 - a);
    case OP_SIGN: return (a > 0) - (a < 0);
    default: ir_die(__FILE__, __LINE__, "not elementwise");
    }
}

/* Strides of a row-major shape's two axes split at `axis`:
 * outer = product of dims before axis, inner = product after. */
static void split(Shape s, int axis, int64_t *outer, int64_t *inner)
{
    *outer = *inner = 1;
    for (int k = 0; k < axis; k++) *outer *= s.d[k];
    for (int k = axis + 1; k < s.rank; k++) *inner *= s.d[k];
}

/* The Winograd map of node nd as (image index, transform index, coefficient)
 * terms: WINO_IN and WINO_W compute transform += coef * image, WINO_OUT
 * image += coef * transform (the cropped outputs have no terms); each
 * adjoint runs its terms the other way. */
static void wino_run(const Node *nd, Shape img, const double *a, double *out)
{
    Wino w = ir_wino(nd, img);
    int A = w.A, toimg = (nd->op == OP_WINO_OUT) != nd->cv[4];
    double AT[64], G[64], BT[64];
    ir_wino_mats(w.m, w.r, AT, G, BT);
    int64_t P0 = img.d[0], P1 = img.d[1], H = img.d[2], W = img.d[3], ss = (int64_t)w.s * w.s, T = w.ty * w.tx;
    for (int64_t b = 0; b < P0; b++)
        for (int64_t c = 0; c < P1; c++)
            for (int64_t comp = 0; comp < (nd->op == OP_WINO_OUT ? 1 : ss); comp++)
                for (int64_t t = 0; t < T; t++) {
                    int64_t ty = t / w.tx, tx = t % w.tx;
                    int n = nd->op == OP_WINO_IN ? A : nd->op == OP_WINO_OUT ? w.m : w.r;   /* image side of a tile */
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < n; j++) {
                            int64_t y, x;
                            if (nd->op == OP_WINO_OUT) y = ty * w.m + i, x = tx * w.m + j;
                            else if (nd->op == OP_WINO_IN) y = w.s * (ty * w.m + i) + comp / w.s - w.p, x = w.s * (tx * w.m + j) + comp % w.s - w.p;
                            else y = w.s * i + comp / w.s, x = w.s * j + comp % w.s;
                            if (y < 0 || y >= H || x < 0 || x >= W) continue;
                            int64_t ii = ((b * P1 + c) * H + y) * W + x;
                            for (int xy = 0; xy < A; xy++)
                                for (int xx = 0; xx < A; xx++) {
                                    int64_t xi = xy * A + xx, di;
                                    double coef;
                                    if (nd->op == OP_WINO_IN) {
                                        coef = BT[xy * A + i] * BT[xx * A + j];
                                        di = (xi * P1 * ss + c * ss + comp) * T * P0 + t * P0 + b;
                                    } else if (nd->op == OP_WINO_OUT) {
                                        coef = AT[i * A + xy] * AT[j * A + xx];
                                        di = (xi * P1 + c) * T * P0 + t * P0 + b;
                                    } else {
                                        coef = G[xy * w.r + i] * G[xx * w.r + j];
                                        di = (xi * P1 * ss + c * ss + comp) * P0 + b;
                                    }
                                    if (toimg) out[ii] += coef * a[di];
                                    else out[di] += coef * a[ii];
                                }
                        }
                }
}

void interp_run(const Graph *g, double **v)
{
    for (int id = 0; id < g->len; id++) {
        const Node *nd = &g->n[id];
        int64_t n = ir_numel(nd->shape);
        if (nd->op == OP_INPUT || nd->op == OP_PARAM || nd->op == OP_DROPMASK) {
            ir_assert(v[id]);
            continue;
        }
        double *out = calloc((size_t)(n ? n : 1), sizeof *out);
        ir_assert(out);
        const double *a = nd->n_in > 0 ? v[nd->in[0]] : NULL, *b = nd->n_in > 1 ? v[nd->in[1]] : NULL;
        Shape as = nd->n_in > 0 ? g->n[nd->in[0]].shape : nd->shape;
        switch (ir_ops[nd->op].kind) {
        case K_SOURCE:
            for (int64_t e = 0; e < n; e++) out[e] = nd->f[0];
            break;
        case K_ELEM:
            for (int64_t e = 0; e < n; e++) out[e] = elem(nd, a[e], b ? b[e] : 0);
            break;
        case K_BCAST:
            for (int64_t e = 0; e < n; e++) out[e] = a[ir_map_index(nd->shape, (MapMode)nd->i[0], e)];
            break;
        case K_REDUCE:
            for (int64_t e = 0; e < ir_numel(as); e++) out[ir_map_index(as, (MapMode)nd->i[0], e)] += a[e];
            break;
        case K_MATMUL: {   /* MATMUL, or BMATMUL: one product per index of axis 0 */
            int o = nd->shape.rank - 2;
            int64_t P = o ? nd->shape.d[0] : 1, M = nd->shape.d[o], N = nd->shape.d[o + 1];
            int64_t K = nd->i[0] ? as.d[o] : as.d[o + 1];
            for (int64_t q = 0; q < P; q++) {
                const double *aq = a + q * M * K, *bq = b + q * K * N;
                for (int64_t i = 0; i < M; i++)
                    for (int64_t j = 0; j < N; j++) {
                        double s = 0;
                        for (int64_t k = 0; k < K; k++)
                            s += (nd->i[0] ? aq[k * M + i] : aq[i * K + k]) * (nd->i[1] ? bq[j * K + k] : bq[k * N + j]);
                        out[(q * M + i) * N + j] = s;
                    }
            }
            break;
        }
        case K_VIEW:
            memcpy(out, a, (size_t)n * sizeof *out);
            break;
        case K_COPY:
            if (nd->op == OP_SWAP01) {
                int64_t d0 = as.d[0], d1 = as.d[1], in = ir_numel(as) / (d0 * d1);
                for (int64_t i = 0; i < d0; i++)
                    for (int64_t j = 0; j < d1; j++)
                        memcpy(out + (j * d0 + i) * in, a + (i * d1 + j) * in, (size_t)in * sizeof *out);
            } else if (nd->op == OP_IM2COL || nd->op == OP_COL2IM) {
                const int *cv = nd->cv;
                Shape img = nd->op == OP_IM2COL ? as : nd->shape;
                int64_t B = img.d[0], C = img.d[1], H = img.d[2], W = img.d[3];
                int64_t Y = ir_conv_out(H, cv[0], cv[2], cv[3], cv[4]), X = ir_conv_out(W, cv[1], cv[2], cv[3], cv[4]);
                int64_t ncol = B * Y * X;
                for (int64_t c = 0; c < C; c++)
                    for (int ky = 0; ky < cv[0]; ky++)
                        for (int kx = 0; kx < cv[1]; kx++)
                            for (int64_t bi = 0; bi < B; bi++)
                                for (int64_t y = 0; y < Y; y++)
                                    for (int64_t x = 0; x < X; x++) {
                                        int64_t iy = y * cv[2] + ky * cv[4] - cv[3], ix = x * cv[2] + kx * cv[4] - cv[3];
                                        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                        int64_t col = ((c * cv[0] + ky) * cv[1] + kx) * ncol + (bi * Y + y) * X + x;
                                        int64_t px = ((bi * C + c) * H + iy) * W + ix;
                                        if (nd->op == OP_IM2COL) out[col] = a[px];
                                        else out[px] += a[col];
                                    }
            } else if (nd->op == OP_WINO_IN || nd->op == OP_WINO_OUT || nd->op == OP_WINO_W) {
                wino_run(nd, (nd->op == OP_WINO_OUT) != nd->cv[4] ? nd->shape : as, a, out);
            } else if (nd->op == OP_AVGPOOL || nd->op == OP_UPSAMPLE || nd->op == OP_PAD) {
                int k = nd->i[0];
                Shape os = nd->shape;
                int64_t planes = os.d[0] * os.d[1];
                for (int64_t pl = 0; pl < planes; pl++)
                    for (int64_t y = 0; y < os.d[2]; y++)
                        for (int64_t x = 0; x < os.d[3]; x++) {
                            const double *ap = a + pl * as.d[2] * as.d[3];
                            double val = 0;
                            if (nd->op == OP_AVGPOOL) {
                                for (int dy = 0; dy < k; dy++)
                                    for (int dx = 0; dx < k; dx++) val += ap[(y * k + dy) * as.d[3] + x * k + dx];
                                val /= (double)k * k;
                            } else if (nd->op == OP_UPSAMPLE) {
                                val = ap[(y / k) * as.d[3] + x / k];
                            } else {
                                int64_t iy = y - k, ix = x - k;
                                val = iy >= 0 && iy < as.d[2] && ix >= 0 && ix < as.d[3] ? ap[iy * as.d[3] + ix] : 0;
                            }
                            out[(pl * os.d[2] + y) * os.d[3] + x] = val;
                        }
            } else if (nd->op == OP_TRANSPOSE) {
                for (int64_t i = 0; i < as.d[0]; i++)
                    for (int64_t j = 0; j < as.d[1]; j++) out[j * as.d[0] + i] = a[i * as.d[1] + j];
            } else if (nd->op == OP_SLICE) {
                int64_t outer, inner, ax = nd->i[0];
                split(as, (int)ax, &outer, &inner);
                for (int64_t o = 0; o < outer; o++)
                    memcpy(out + o * nd->shape.d[ax] * inner, a + (o * as.d[ax] + nd->i[1]) * inner,
                           (size_t)(nd->shape.d[ax] * inner) * sizeof *out);
            } else {   /* CONCAT */
                Shape bs = g->n[nd->in[1]].shape;
                int64_t outer, inner, ax = nd->i[0], la = as.d[ax], lb = bs.d[ax];
                split(as, (int)ax, &outer, &inner);
                for (int64_t o = 0; o < outer; o++) {
                    memcpy(out + o * (la + lb) * inner, a + o * la * inner, (size_t)(la * inner) * sizeof *out);
                    memcpy(out + (o * (la + lb) + la) * inner, b + o * lb * inner, (size_t)(lb * inner) * sizeof *out);
                }
            }
            break;
        }
        v[id] = out;
    }
}

void interp_free(const Graph *g, double **v)
{
    for (int id = 0; id < g->len; id++)
        if (g->n[id].op != OP_INPUT && g->n[id].op != OP_PARAM && g->n[id].op != OP_DROPMASK) {
            free(v[id]);
            v[id] = NULL;
        }
}
