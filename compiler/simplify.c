/* simplify.c: algebraic rewrites, common subexpressions, dead nodes.
 *
 * Builds a fresh graph from the nodes reachable from the roots, in order,
 * rewriting each node as it is copied:
 *   log(sigmoid(t))      -> -softplus(-t)   (the literal objective made stable)
 *   log(1 - sigmoid(t))  -> -softplus(t)
 *   --t -> t, affine chains folded, x+0 -> x, x*1 -> x, reshape chains folded,
 *   broadcast/reduce of a constant -> a constant.
 * Identical nodes (same op, inputs, attributes) are merged, except sources
 * that carry state (inputs, parameters, dropout masks), which are unique.
 * Guarantees: every root keeps its value (tests compare on the interpreter).
 */
#include <stdlib.h>
#include <string.h>
#include "ganc.h"

typedef struct {
    Graph *g;
    int lower;       /* also lower products with b transposed */
    int *bucket;     /* hash -> first node id + 1 */
    int *next;       /* chain */
    int nb;
} Cse;

static uint64_t node_hash(const Node *nd)
{
    uint64_t h = 1469598103934665603ull;
#define MIX(x) do { uint64_t _v; memcpy(&_v, &(x), sizeof _v < sizeof(x) ? sizeof _v : sizeof(x)); h = (h ^ _v) * 1099511628211ull; } while (0)
    uint64_t op = (uint64_t)nd->op, nin = (uint64_t)nd->n_in;
    MIX(op); MIX(nin);
    for (int k = 0; k < nd->n_in; k++) { uint64_t v = (uint64_t)nd->in[k]; MIX(v); }
    for (int k = 0; k < 2; k++) MIX(nd->f[k]);
    for (int k = 0; k < 3; k++) { uint64_t v = (uint64_t)(int64_t)nd->i[k]; MIX(v); }
    for (int k = 0; k < 5; k++) { uint64_t v = (uint64_t)(int64_t)nd->cv[k]; MIX(v); }
    for (int k = 0; k < nd->shape.rank; k++) MIX(nd->shape.d[k]);
#undef MIX
    return h;
}

static int same(const Node *a, const Node *b)
{
    if (a->op != b->op || a->n_in != b->n_in || !ir_shape_eq(a->shape, b->shape)) return 0;
    for (int k = 0; k < a->n_in; k++) if (a->in[k] != b->in[k]) return 0;
    return a->f[0] == b->f[0] && a->f[1] == b->f[1] && a->i[0] == b->i[0] && a->i[1] == b->i[1] &&
           a->i[2] == b->i[2] && !memcmp(a->cv, b->cv, sizeof a->cv);
}

static int unique_source(Op op) { return op == OP_INPUT || op == OP_PARAM || op == OP_DROPMASK; }

/* Inserts nd into c->g unless an identical node exists. */
static int intern(Cse *c, Node nd)
{
    Graph *g = c->g;
    if (!unique_source(nd.op)) {
        uint64_t h = node_hash(&nd) % (uint64_t)c->nb;
        for (int id = c->bucket[h] - 1; id >= 0; id = c->next[id] - 1)
            if (same(&g->n[id], &nd)) return id;
    }
    int id = ir_add_like(g, &nd);
    ir_assert(id >= 0);
    g->n[id].name = nd.name;
    if (id >= c->nb) ir_die(__FILE__, __LINE__, "cse table full");
    if (!unique_source(nd.op)) {
        uint64_t h = node_hash(&g->n[id]) % (uint64_t)c->nb;
        c->next[id] = c->bucket[h];
        c->bucket[h] = id + 1;
    }
    return id;
}

static int is_const(const Graph *g, int id, double v)
{
    return g->n[id].op == OP_CONST && g->n[id].f[0] == v;
}

static int mk(Cse *c, Op op, int a, int b, double f0, double f1, Loc l);

/* Rewrites nd (whose inputs are already in c->g) and interns the result. */
static int emit(Cse *c, Node nd)
{
    Graph *g = c->g;
    const Node *a = nd.n_in > 0 ? &g->n[nd.in[0]] : NULL;
    const Node *b = nd.n_in > 1 ? &g->n[nd.in[1]] : NULL;
    Loc l = nd.loc;
    switch (nd.op) {
    case OP_LOG:
        if (a->op == OP_SIGMOID)   /* log(sigmoid(t)) = -softplus(-t) */
            return mk(c, OP_NEG, mk(c, OP_SOFTPLUS, mk(c, OP_NEG, a->in[0], -1, 0, 0, l), -1, 0, 0, l), -1, 0, 0, l);
        if (a->op == OP_AFFINE && a->f[0] == -1 && a->f[1] == 1 && g->n[a->in[0]].op == OP_SIGMOID)
            return mk(c, OP_NEG, mk(c, OP_SOFTPLUS, g->n[a->in[0]].in[0], -1, 0, 0, l), -1, 0, 0, l);
        if (a->op == OP_SUB && is_const(g, a->in[0], 1) && g->n[a->in[1]].op == OP_SIGMOID)
            return mk(c, OP_NEG, mk(c, OP_SOFTPLUS, g->n[a->in[1]].in[0], -1, 0, 0, l), -1, 0, 0, l);
        break;
    case OP_NEG:
        if (a->op == OP_NEG) return a->in[0];
        if (a->op == OP_AFFINE) return mk(c, OP_AFFINE, a->in[0], -1, -a->f[0], -a->f[1], l);
        if (a->op == OP_CONST) return intern(c, (Node){.op = OP_CONST, .shape = a->shape, .f = {-a->f[0], 0}, .loc = l});
        break;
    case OP_AFFINE:
        if (nd.f[0] == 1 && nd.f[1] == 0) return nd.in[0];
        if (a->op == OP_AFFINE) return mk(c, OP_AFFINE, a->in[0], -1, nd.f[0] * a->f[0], nd.f[0] * a->f[1] + nd.f[1], l);
        if (a->op == OP_NEG) return mk(c, OP_AFFINE, a->in[0], -1, -nd.f[0], nd.f[1], l);
        if (a->op == OP_CONST)
            return intern(c, (Node){.op = OP_CONST, .shape = a->shape, .f = {nd.f[0] * a->f[0] + nd.f[1], 0}, .loc = l});
        break;
    case OP_ADD:
        if (is_const(g, nd.in[1], 0)) return nd.in[0];
        if (is_const(g, nd.in[0], 0)) return nd.in[1];
        break;
    case OP_SUB:
        if (is_const(g, nd.in[1], 0)) return nd.in[0];
        if (is_const(g, nd.in[0], 0)) return mk(c, OP_NEG, nd.in[1], -1, 0, 0, l);
        break;
    case OP_MUL:
        if (is_const(g, nd.in[1], 1)) return nd.in[0];
        if (is_const(g, nd.in[0], 1)) return nd.in[1];
        if (b->op == OP_CONST) return mk(c, OP_AFFINE, nd.in[0], -1, b->f[0], 0, l);
        if (a->op == OP_CONST) return mk(c, OP_AFFINE, nd.in[1], -1, a->f[0], 0, l);
        break;
    case OP_BCAST:
        if (a->op == OP_CONST) return intern(c, (Node){.op = OP_CONST, .shape = nd.shape, .f = {a->f[0], 0}, .loc = l});
        if (nd.i[0] == MAP_SCALAR && a->shape.rank == 0 && nd.shape.rank == 0) return nd.in[0];
        break;
    case OP_REDUCE:
        if (a->op == OP_CONST) {
            double k = (double)ir_numel(a->shape) / (double)ir_numel(nd.shape);
            return intern(c, (Node){.op = OP_CONST, .shape = nd.shape, .f = {a->f[0] * k, 0}, .loc = l});
        }
        break;
    case OP_MATMUL:
        /* Compiled products read b row-major, or, for a·bᵀ with a long inner
         * dimension, both operands along k (the dot-product kernel), or
         * gather b or bᵀ from the image of an IM2COL. */
        if (c->lower && nd.i[1] && !simplify_keeps_bt(g, &nd)) {
            nd.in[1] = mk(c, OP_TRANSPOSE, nd.in[1], -1, 0, 0, l);
            nd.i[1] = 0;
            return intern(c, nd);
        }
        break;
    case OP_RESHAPE:
        if (ir_shape_eq(nd.shape, a->shape)) return nd.in[0];
        if (a->op == OP_RESHAPE) nd.in[0] = a->in[0];
        break;
    default: break;
    }
    return intern(c, nd);
}

static int mk(Cse *c, Op op, int a, int b, double f0, double f1, Loc l)
{
    Node nd = {.op = op, .loc = l, .f = {f0, f1}};
    if (a >= 0) nd.in[nd.n_in++] = a;
    if (b >= 0) nd.in[nd.n_in++] = b;
    return emit(c, nd);
}

static void run(Graph **gp, int *roots, int n_roots, int lower)
{
    Graph *old = *gp;
    char *live = calloc((size_t)old->len + 1, 1);
    int *map = malloc(((size_t)old->len + 1) * sizeof *map);
    ir_assert(live && map);
    for (int r = 0; r < n_roots; r++)
        if (roots[r] >= 0) live[roots[r]] = 1;
    for (int id = old->len - 1; id >= 0; id--)
        if (live[id])
            for (int k = 0; k < old->n[id].n_in; k++) live[old->n[id].in[k]] = 1;
    Cse c = {.g = ir_new(), .lower = lower, .nb = 4 * old->len + 64};
    c.bucket = calloc((size_t)c.nb, sizeof *c.bucket);
    c.next = calloc((size_t)c.nb, sizeof *c.next);
    ir_assert(c.bucket && c.next);
    for (int id = 0; id < old->len; id++) {
        if (!live[id]) continue;
        Node nd = old->n[id];
        for (int k = 0; k < nd.n_in; k++) nd.in[k] = map[nd.in[k]];
        map[id] = emit(&c, nd);
    }
    for (int r = 0; r < n_roots; r++)
        if (roots[r] >= 0) roots[r] = map[roots[r]];
    /* The rewrites can orphan nodes (a sigmoid only the log used): drop them. */
    free(live); free(map); free(c.bucket); free(c.next);
    ir_free(old);
    *gp = c.g;
    if (n_roots) {
        Graph *g = c.g;
        char *l2 = calloc((size_t)g->len + 1, 1);
        ir_assert(l2);
        for (int r = 0; r < n_roots; r++) if (roots[r] >= 0) l2[roots[r]] = 1;
        int any_dead = 0;
        for (int id = g->len - 1; id >= 0; id--) {
            if (l2[id]) for (int k = 0; k < g->n[id].n_in; k++) l2[g->n[id].in[k]] = 1;
            else any_dead = 1;
        }
        free(l2);
        if (any_dead) run(gp, roots, n_roots, lower);
    }
}

void simplify(Graph **g, int *roots, int n_roots) { run(g, roots, n_roots, 0); }
void simplify_lower(Graph **g, int *roots, int n_roots) { run(g, roots, n_roots, 1); }
