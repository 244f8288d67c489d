/* grad.c: reverse-mode automatic differentiation, graph to graph.
 *
 * grad_build() appends the adjoint computation of a scalar loss to the same
 * graph, so gradients are ordinary nodes: they can be simplified, fused,
 * interpreted and differentiated again.  Requires shapes inferred (every
 * graph built by ir_add has them).  Each op's rule is one case below, and
 * the op table's has_grad column says which ops have one; differentiating
 * through an op without a rule is an internal error.
 */
#include <stdlib.h>
#include <string.h>
#include "ganc.h"

typedef struct {
    Graph *g;
    int *adj;      /* adjoint node of each original node, -1 when none yet */
    const char *on; /* node lies on a path from some wrt node to the loss */
} Ctx;

static void acc(Ctx *c, int node, int contrib)
{
    if (!c->on[node]) return;
    c->adj[node] = c->adj[node] < 0 ? contrib : ir_bin(c->g, OP_ADD, c->adj[node], contrib, c->g->n[node].loc);
}

static int mm(Graph *g, Op op, int a, int b, int ta, int tb, Loc l)
{
    int id = op == OP_BMATMUL ? ir_bmatmul(g, a, b, ta, tb, l) : ir_matmul(g, a, b, ta, tb, l);
    if (id < 0) ir_die(__FILE__, __LINE__, g->err);
    return id;
}

/* Zeros of `like`'s shape along `axis`, `len` long (for slice gradients). */
static int zeros_along(Graph *g, Shape s, int axis, int64_t len, Loc l)
{
    s.d[axis] = len;
    return ir_const(g, 0, s, l);
}

/* Applies the rule of node y with adjoint dy. */
static void rule(Ctx *c, int y, int dy)
{
    Graph *g = c->g;
    Node nd = g->n[y];   /* copy: g->n moves as nodes are added */
    Loc l = nd.loc;
    int a = nd.in[0], b = nd.in[1];
    int id;
    switch (nd.op) {
    case OP_ADD: acc(c, a, dy); acc(c, b, dy); break;
    case OP_SUB: acc(c, a, dy); if (c->on[b]) acc(c, b, ir_un(g, OP_NEG, dy, l)); break;
    case OP_MUL:
        if (c->on[a]) acc(c, a, ir_bin(g, OP_MUL, dy, b, l));
        if (c->on[b]) acc(c, b, ir_bin(g, OP_MUL, dy, a, l));
        break;
    case OP_DIV:
        if (c->on[a]) acc(c, a, ir_bin(g, OP_DIV, dy, b, l));
        if (c->on[b]) acc(c, b, ir_un(g, OP_NEG, ir_bin(g, OP_MUL, dy, ir_bin(g, OP_DIV, y, b, l), l), l));
        break;
    case OP_AFFINE: acc(c, a, ir_affine(g, dy, nd.f[0], 0, l)); break;
    case OP_NEG: acc(c, a, ir_un(g, OP_NEG, dy, l)); break;
    /* The derivative depends only on the sign of the input, which the output
     * shares (for slopes >= 0): reading the output lets the input die early. */
    case OP_RELU: acc(c, a, ir_bin(g, OP_RELU_GRAD, y, dy, l)); break;
    case OP_LRELU:
        id = ir_bin(g, OP_LRELU_GRAD, nd.f[0] >= 0 ? y : a, dy, l);
        g->n[id].f[0] = nd.f[0];
        acc(c, a, id);
        break;
    case OP_TANH: acc(c, a, ir_bin(g, OP_TANH_GRAD, y, dy, l)); break;
    case OP_SIGMOID: acc(c, a, ir_bin(g, OP_SIGM_GRAD, y, dy, l)); break;
    case OP_LOG: acc(c, a, ir_bin(g, OP_DIV, dy, a, l)); break;
    case OP_EXP: acc(c, a, ir_bin(g, OP_MUL, dy, y, l)); break;
    case OP_SOFTPLUS: acc(c, a, ir_bin(g, OP_MUL, dy, ir_un(g, OP_SIGMOID, a, l), l)); break;
    case OP_ABS: acc(c, a, ir_bin(g, OP_MUL, dy, ir_un(g, OP_SIGN, a, l), l)); break;
    case OP_SQUARE: acc(c, a, ir_bin(g, OP_MUL, dy, ir_affine(g, a, 2, 0, l), l)); break;
    case OP_RSQRT:   /* d/dx x^-1/2 = -y^3/2 */
        acc(c, a, ir_bin(g, OP_MUL, dy, ir_affine(g, ir_bin(g, OP_MUL, y, ir_bin(g, OP_MUL, y, y, l), l), -0.5, 0, l), l));
        break;
    case OP_SWAP01: acc(c, a, ir_un(g, OP_SWAP01, dy, l)); break;
    case OP_IM2COL:
        id = ir_col2im(g, dy, g->n[a].shape, nd.cv, l);
        ir_assert(id >= 0);
        acc(c, a, id);
        break;
    case OP_COL2IM:
        id = ir_im2col(g, dy, nd.cv, l);
        ir_assert(id >= 0);
        acc(c, a, id);
        break;
    case OP_WINO_IN: case OP_WINO_OUT: case OP_WINO_W: {   /* linear: the adjoint map */
        int cv[5] = {nd.cv[0], nd.cv[1], nd.cv[2], nd.cv[3], !nd.cv[4]};
        /* the weights' transform used twice (D on the real and on the
         * generated batch) has the sum of two gradients, each as big as
         * the transform: the map of each, summed at the weights' size */
        int parts[2] = {dy, -1}, np = 1;
        if (nd.op == OP_WINO_W && !nd.cv[4] && g->n[dy].op == OP_ADD) parts[0] = g->n[dy].in[0], parts[1] = g->n[dy].in[1], np = 2;
        for (int q = 0; q < np; q++) {
            id = ir_wino_op(g, nd.op, parts[q], cv, g->n[a].shape, l);
            if (id < 0) ir_die(__FILE__, __LINE__, g->err);
            acc(c, a, id);
        }
        break;
    }
    case OP_AVGPOOL: case OP_UPSAMPLE: {   /* each other's adjoint, up to k^2 */
        int k = nd.i[0], i[3] = {k, 0, 0};
        Op other = nd.op == OP_AVGPOOL ? OP_UPSAMPLE : OP_AVGPOOL;
        id = ir_add(g, other, &dy, 1, NULL, i, l);
        ir_assert(id >= 0);
        acc(c, a, ir_affine(g, id, nd.op == OP_AVGPOOL ? 1.0 / (k * k) : (double)k * k, 0, l));
        break;
    }
    case OP_PAD: {
        int i[3] = {-nd.i[0], 0, 0};
        id = ir_add(g, OP_PAD, &dy, 1, NULL, i, l);
        ir_assert(id >= 0);
        acc(c, a, id);
        break;
    }
    case OP_BCAST: acc(c, a, ir_reduce(g, dy, (MapMode)nd.i[0], l)); break;
    case OP_REDUCE: acc(c, a, ir_bcast(g, dy, g->n[a].shape, (MapMode)nd.i[0], l)); break;
    case OP_MATMUL: case OP_BMATMUL: {
        int ta = nd.i[0], tb = nd.i[1];
        if (c->on[a]) acc(c, a, ta ? mm(g, nd.op, b, dy, tb, 1, l) : mm(g, nd.op, dy, b, 0, !tb, l));
        if (c->on[b]) acc(c, b, tb ? mm(g, nd.op, dy, a, 1, ta, l) : mm(g, nd.op, a, dy, !ta, 0, l));
        break;
    }
    case OP_RESHAPE: acc(c, a, ir_reshape(g, dy, g->n[a].shape, l)); break;
    case OP_TRANSPOSE: acc(c, a, ir_un(g, OP_TRANSPOSE, dy, l)); break;
    case OP_CONCAT: {
        int ax = nd.i[0], i[3] = {ax, 0, 0};
        if (c->on[a]) acc(c, a, ir_add_shaped(g, OP_SLICE, dy, g->n[a].shape, i, l));
        i[1] = (int)g->n[a].shape.d[ax];
        if (c->on[b]) acc(c, b, ir_add_shaped(g, OP_SLICE, dy, g->n[b].shape, i, l));
        break;
    }
    case OP_SLICE: {   /* pad dy with zeros back to the input's extent */
        int ax = nd.i[0], ci[3] = {ax, 0, 0};
        Shape full = g->n[a].shape;
        int64_t start = nd.i[1], len = nd.shape.d[ax], rest = full.d[ax] - start - len;
        int v = dy;
        if (start > 0) {
            int in[2] = {zeros_along(g, full, ax, start, l), v};
            v = ir_add(g, OP_CONCAT, in, 2, NULL, ci, l);
        }
        if (rest > 0) {
            int in[2] = {v, zeros_along(g, full, ax, rest, l)};
            v = ir_add(g, OP_CONCAT, in, 2, NULL, ci, l);
        }
        acc(c, a, v);
        break;
    }
    default:
        ir_die(__FILE__, __LINE__, "op has no gradient rule");
    }
}

void grad_build(Graph *g, int loss, const int *wrt, int n, int *grads, const char *stop)
{
    int len = g->len;
    ir_assert(loss >= 0 && loss < len && g->n[loss].shape.rank == 0);
    char *dep = calloc((size_t)len, 1), *need = calloc((size_t)len, 1), *on = calloc((size_t)len, 1);
    int *adj = malloc((size_t)len * sizeof *adj);
    ir_assert(dep && need && on && adj);
    /* dep: depends on a wrt node (forward); need: the loss depends on it (backward) */
    for (int k = 0; k < n; k++) dep[wrt[k]] = 1;
    for (int id = 0; id < len; id++) {
        if (stop && stop[id]) { dep[id] = 0; continue; }
        for (int k = 0; k < g->n[id].n_in && !dep[id]; k++) dep[id] = dep[g->n[id].in[k]];
    }
    need[loss] = 1;
    for (int id = len - 1; id >= 0; id--)
        if (need[id])
            for (int k = 0; k < g->n[id].n_in; k++) need[g->n[id].in[k]] = 1;
    for (int id = 0; id < len; id++) {
        on[id] = dep[id] && need[id];
        adj[id] = -1;
    }
    Ctx c = {g, adj, on};
    if (on[loss]) {
        adj[loss] = ir_const(g, 1, g->n[loss].shape, g->n[loss].loc);
        for (int id = loss; id >= 0; id--) {
            if (adj[id] < 0 || ir_ops[g->n[id].op].kind == K_SOURCE) continue;
            if (!ir_ops[g->n[id].op].has_grad) ir_die(__FILE__, __LINE__, ir_ops[g->n[id].op].name);
            rule(&c, id, adj[id]);
        }
    }
    for (int k = 0; k < n; k++)
        grads[k] = adj[wrt[k]] >= 0 ? adj[wrt[k]] : ir_const(g, 0, g->n[wrt[k]].shape, g->n[wrt[k]].loc);
    free(dep); free(need); free(on); free(adj);
}
