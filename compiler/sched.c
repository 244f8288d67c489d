/* sched.c: differentiation, lowering, fusion and the memory plan.
 *
 * Input: a Program whose graph holds the forward computation.  Output: a
 * Schedule, i.e. four sections of kernels (G forward; D step; G step; G in
 * evaluation mode for sampling) over one arena whose offsets are all fixed
 * here.  Guarantees:
 *   - gradients of each network lie contiguously in the arena in the same
 *     order as its parameters, so one optimizer kernel updates them all;
 *     each gradient's part of the region is busy from its first product
 *     to that kernel only, so other buffers use it before and after;
 *   - G's activations computed by the G-forward section stay live through
 *     the D step, so the G step reuses them (G(z) computed once per step),
 *     unless they are big (recompute_g: the G step computes them again
 *     before G's backward pass);
 *   - two buffers live at the same time never overlap;
 *   - an IM2COL read only by products (as their b) has no kernel and no
 *     buffer: the products gather from its image, which stays live for them;
 *     a product read only by a COL2IM is computed by the COL2IM's kernel,
 *     and its inputs stay live for that kernel;
 *   - a conv's product [Cout, B*OH*OW] read only by its SWAP01 to NCHW is
 *     computed by the SWAP01's kernel, which stores it in NCHW directly; a
 *     SWAP01 of NCHW into [C, B*H*W] read only by products that can read
 *     that layout in place has no kernel and no buffer.
 */
#include <stdlib.h>
#include <string.h>
#include "ganc.h"
#include "ganrt.h"

#define ALIGN 16   /* floats: 64 bytes */

static int64_t align_up(int64_t v) { return (v + ALIGN - 1) / ALIGN * ALIGN; }

/* Marks in `set` every node that roots[] depend on. */
static void ancestors(const Graph *g, const int *roots, int n, char *set)
{
    for (int r = 0; r < n; r++)
        if (roots[r] >= 0) set[roots[r]] = 1;
    for (int id = g->len - 1; id >= 0; id--)
        if (set[id])
            for (int k = 0; k < g->n[id].n_in; k++) set[g->n[id].in[k]] = 1;
}

static Kernel *push(Section *s, KernelKind kind)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 32;
        s->k = realloc(s->k, (size_t)s->cap * sizeof *s->k);
        ir_assert(s->k);
    }
    Kernel *k = &s->k[s->n++];
    memset(k, 0, sizeof *k);
    k->kind = kind;
    k->node = -1;
    return k;
}

/* Nodes that a fused consumer recomputes instead of loading: constants and
 * broadcasts (a load from their small source). */
static int inlined(const Node *nd) { return nd->op == OP_CONST || nd->op == OP_BCAST; }

static int fusible(const Node *nd)
{
    OpKind k = ir_ops[nd->op].kind;
    return k == K_ELEM || k == K_BCAST || nd->op == OP_CONST || nd->op == OP_DROPMASK;
}

/* Storage owner: views share their input's buffer. */
static int owner(const Graph *g, int id)
{
    while (g->n[id].op == OP_RESHAPE) id = g->n[id].in[0];
    return id;
}

int sched_owner(const Graph *g, int id) { return owner(g, id); }

/* Products that cg.c computes panel by panel (emit_matmul), not with the
 * dot-product kernel (b transposed and not an IM2COL). */
static int packs_panels(const Graph *g, const Node *nd)
{
    return nd->op == OP_MATMUL && (!nd->i[1] || g->n[nd->in[1]].op == OP_IM2COL);
}

/* The only user of node id, or -1 when it has none or several. */
static int only_user(const Graph *g, const int *users, int id)
{
    if (users[id] != 1) return -1;
    for (int u = id + 1; u < g->len; u++)
        for (int k = 0; k < g->n[u].n_in; k++)
            if (g->n[u].in[k] == id) return u;
    return -1;
}

/* Product id's result goes only, maybe through one reshape to [M, ...], into
 * a SWAP01 (a conv's [Cout, B*OH*OW] to NCHW), which can store it in place. */
static int swap_stores(const Graph *g, const int *users, const char *root, int id)
{
    int u = only_user(g, users, id);
    if (u >= 0 && g->n[u].op == OP_RESHAPE && !root[u] && g->n[u].shape.rank >= 2 && g->n[u].shape.d[0] == g->n[id].shape.d[0])
        u = only_user(g, users, u);
    return u >= 0 && g->n[u].op == OP_SWAP01;
}

/* Node id (a SWAP01 or a 2-d reshape of one) is read only by products that
 * can read the swapped layout in place: as b of a panel product, or as an
 * untransposed a. */
static int swap_read_in_place(const Graph *g, const char *root, int id)
{
    for (int u = id + 1; u < g->len; u++) {
        const Node *nd = &g->n[u];
        for (int k = 0; k < nd->n_in; k++) {
            if (nd->in[k] != id) continue;
            if (nd->op == OP_RESHAPE && g->n[id].op == OP_SWAP01 && !root[u] && nd->shape.rank == 2 &&
                nd->shape.d[0] == g->n[id].shape.d[0] && swap_read_in_place(g, root, u))
                continue;
            if (!packs_panels(g, nd) || nd->i[k]) return 0;   /* i[k]: ta or tb */
        }
    }
    return 1;
}

/* Nodes folded into the kernel that reads them (Schedule.folded):
 *   - an IM2COL whose users are all products reading it as b, which cg.c
 *     packs panel by panel straight from the image;
 *   - a panel product whose only user is a COL2IM, which cg.c computes
 *     inside the COL2IM's kernel, or a SWAP01 (through a reshape), which
 *     computes it writing each column to its place in the swapped layout;
 *   - a SWAP01 read only by products that read its input in place (a conv
 *     output gradient or a deconv input, NCHW, as [C, B*H*W]). */
static char *find_folded(const Graph *g, const char *root)
{
    char *fold = calloc((size_t)g->len + 1, 1);
    int *users = calloc((size_t)g->len + 1, sizeof *users);
    ir_assert(fold && users);
    for (int id = 0; id < g->len; id++)
        for (int k = 0; k < g->n[id].n_in; k++) users[g->n[id].in[k]]++;
    for (int id = 0; id < g->len; id++) {
        const Node *nd = &g->n[id];
        if (root[id]) continue;
        if (nd->op == OP_IM2COL) {
            fold[id] = 1;
            for (int u = id + 1; u < g->len; u++)
                for (int k = 0; k < g->n[u].n_in; k++)
                    if (g->n[u].in[k] == id && (g->n[u].op != OP_MATMUL || k != 1)) fold[id] = 0;
        } else if (packs_panels(g, nd)) {
            int u = only_user(g, users, id);
            fold[id] = u >= 0 && (g->n[u].op == OP_COL2IM || swap_stores(g, users, root, id));
        }
    }
    /* a SWAP01 that stores a product is that product's kernel, not read in place */
    for (int id = 0; id < g->len; id++)
        if (g->n[id].op == OP_SWAP01 && !root[id] && !fold[owner(g, g->n[id].in[0])])
            fold[id] = swap_read_in_place(g, root, id);
    free(users);
    return fold;
}

/* Cheap elementwise ops that a consumer may recompute instead of loading,
 * in scalar loops and a vector at a time (cg.c elem_value). */
static int cheap(Op op)
{
    switch (op) {
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_AFFINE: case OP_NEG: case OP_SQUARE:
    case OP_RELU: case OP_LRELU: case OP_RELU_GRAD: case OP_LRELU_GRAD: case OP_TANH_GRAD: case OP_SIGM_GRAD:
        return 1;
    default:
        return 0;
    }
}

#define REMAT_MAX 12   /* ops a recomputed value may cost its consumer */

/* Whether node id's recomputation (through rematerialised inputs) reads
 * broadcasts only in ways a reduction of mode m reads a vector at a time:
 * per channel in a channel sum, per row in a row sum, or a scalar. */
static int remat_fits(const Graph *g, const char *remat, int id, MapMode m, int top)
{
    const Node *nd = &g->n[id];
    if (nd->op == OP_BCAST) return nd->i[0] == MAP_SCALAR || nd->i[0] == (int)m || g->n[nd->in[0]].op == OP_CONST;
    if (!top && !remat[id]) return 1;
    for (int k = 0; k < nd->n_in; k++)
        if (!remat_fits(g, remat, nd->in[k], m, 0)) return 0;
    return 1;
}

/* Nodes that are never stored (Schedule.remat): cheap elementwise values
 * whose users are all elementwise nodes of their shape or sums, in sections
 * that compute the value too.  Each consumer recomputes them from their
 * inputs, so a chain such as batchnorm's backward stores only the values
 * that something else needs (its input gradient, say), not every product
 * along the way, and sums such as sum((x - mean)^2) read x, not a squared
 * copy. */
static char *find_remat(const Graph *g, char *const *in, int n_in, const char *root)
{
    char *remat = calloc((size_t)g->len + 1, 1);
    int *cost = calloc((size_t)g->len + 1, sizeof *cost);
    ir_assert(remat && cost);
    for (int id = 0; id < g->len; id++) {
        const Node *nd = &g->n[id];
        if (root[id] || !cheap(nd->op)) continue;
        int c = 1, ok = 1, any = 0;
        for (int k = 0; k < nd->n_in; k++) {
            c += cost[nd->in[k]];
            const Node *src = &g->n[owner(g, nd->in[k])];   /* a product's result: stored in its place */
            ok &= fusible(src) || src->op == OP_PARAM || src->op == OP_INPUT;
        }
        if (c > REMAT_MAX) continue;
        for (int u = id + 1; u < g->len && ok; u++) {
            const Node *un = &g->n[u];
            int uses = 0;
            for (int k = 0; k < un->n_in; k++) uses |= un->in[k] == id;
            if (!uses) continue;
            any = 1;
            for (int q = 0; q < n_in; q++) ok &= !in[q][u] || in[q][id];
            if (un->op == OP_REDUCE)
                ok &= un->i[0] != MAP_BATCH && remat_fits(g, remat, id, (MapMode)un->i[0], 1);
            else
                ok &= fusible(un) && un->op != OP_BCAST && un->op != OP_DROPMASK && ir_shape_eq(un->shape, nd->shape);
        }
        if (ok && any) { remat[id] = 1; cost[id] = c; }
    }
    free(cost);
    return remat;
}

/* Kernel time t reads node id: a folded or recomputed node (and, in an
 * elementwise kernel (elem), a broadcast) through its inputs. */
static void reads(const Schedule *s, int id, int t, int *last, int elem)
{
    const Graph *g = s->g;
    int o = owner(g, id);
    if (s->folded[o] || s->remat[o] || (elem && g->n[o].op == OP_BCAST)) {   /* read through its inputs */
        for (int k = 0; k < g->n[o].n_in; k++) reads(s, g->n[o].in[k], t, last, elem || s->remat[o]);
        return;
    }
    if (last[o] < t) last[o] = t;
}

/* The node whose buffer kernel k writes when k computes a panel product
 * block by block (cg.c's emit_matmul, or emit_col2im_product summing it into
 * an image), else -1. */
static int panel_result(const Schedule *s, const Kernel *k)
{
    const Graph *g = s->g;
    if (k->node < 0) return -1;
    const Node *nd = &g->n[k->node];
    if (k->kind == KN_MATMUL) return packs_panels(g, nd) ? k->node : -1;
    if (k->kind != KN_COPY) return -1;
    if (nd->op == OP_COL2IM && s->folded[nd->in[0]]) return k->node;
    if (nd->op == OP_SWAP01 && s->folded[owner(g, nd->in[0])]) return k->node;
    /* the Winograd transforms that write an image (cg.c emit_wino), item
     * by item: planes of a group of images, final when the item ends */
    if ((nd->op == OP_WINO_OUT && !nd->cv[4]) || (nd->op == OP_WINO_IN && nd->cv[4])) return k->node;
    return -1;
}

/* An elementwise kernel right after a panel product, over the product's
 * result (a bias, a batchnorm's scale and shift, an activation or its
 * derivative), runs as the product's epilogue: on each block of the result
 * as soon as the block is finished, while it is in cache, instead of in a
 * pass of its own over memory. */
static void read_buffers(const Schedule *s, int id, int *x, int *n);

/* Whether elementwise kernel e reads node id's buffer (through recomputed
 * values too). */
static int elem_reads(const Schedule *s, const Kernel *e, int id)
{
    for (int m = 0; m < e->n_members; m++) {
        int x[64], n = 0;
        if (s->remat[e->members[m]]) continue;   /* read where it is recomputed */
        read_buffers(s, e->members[m], x, &n);
        if (n == 64) return 1;   /* too many to tell */
        for (int j = 0; j < n; j++)
            if (x[j] == owner(s->g, id)) return 1;
    }
    return 0;
}

static void absorb_epilogues(Schedule *s, Section *sec)
{
    const Graph *g = s->g;
    for (int q = 0; q + 1 < sec->n; q++) {
        Kernel *k = &sec->k[q], *e = &sec->k[q + 1];
        int r = panel_result(s, k), reads = 0, any = 0;
        /* a copy or product kernel between them (a weight transform's
         * gradient after an input gradient's) that the elementwise kernel
         * does not read goes after it */
        if (r >= 0 && (e->kind == KN_COPY || e->kind == KN_MATMUL) && e->node >= 0 && q + 2 < sec->n &&
            sec->k[q + 2].kind == KN_ELEM && !elem_reads(s, &sec->k[q + 2], e->node)) {
            Kernel t = *e;
            *e = sec->k[q + 2];
            sec->k[q + 2] = t;
        }
        if (r < 0 || e->kind != KN_ELEM || !ir_shape_eq(g->n[e->members[0]].shape, g->n[r].shape)) continue;
        for (int m = 0; m < e->n_members; m++) {
            const Node *nd = &g->n[e->members[m]];
            any |= e->out[m];
            for (int j = 0; j < nd->n_in; j++) reads |= owner(g, nd->in[j]) == r;
        }
        if (!reads || !any) continue;
        k->epi = q + 2;
        e->absorbed = 1;
        q++;
    }
}

/* How many times each node of g is an input (malloc'd). */
static int *user_counts(const Graph *g)
{
    int *users = calloc((size_t)g->len + 1, sizeof *users);
    ir_assert(users);
    for (int id = 0; id < g->len; id++)
        for (int k = 0; k < g->n[id].n_in; k++) users[g->n[id].in[k]]++;
    return users;
}

/* Splits the nodes of one section into kernels: runs of fusible nodes of one
 * shape become one loop; everything else is a kernel of its own. */
static void build_section(Schedule *s, Section *sec, const char *in_sec, const char *root, const int *users)
{
    Graph *g = s->g;
    Kernel *open = NULL;
    for (int id = 0; id < g->len; id++) {
        const Node *nd = &g->n[id];
        if (!in_sec[id] || nd->op == OP_INPUT || nd->op == OP_PARAM || nd->op == OP_RESHAPE || s->folded[id] ||
            s->adds_to[id] == id)
            continue;
        if (fusible(nd)) {
            if (!open || !ir_shape_eq(g->n[open->members[0]].shape, nd->shape)) {
                open = push(sec, KN_ELEM);
                open->members = malloc(64 * sizeof(int));
                open->out = calloc(64, 1);
                ir_assert(open->members && open->out);
            }
            if (open->n_members % 64 == 0 && open->n_members) {
                open->members = realloc(open->members, (size_t)(open->n_members + 64) * sizeof(int));
                open->out = realloc(open->out, (size_t)(open->n_members + 64));
                ir_assert(open->members && open->out);
            }
            open->members[open->n_members++] = id;
            continue;
        }
        open = NULL;
        KernelKind kk = nd->op == OP_MATMUL ? KN_MATMUL : nd->op == OP_REDUCE ? KN_REDUCE : KN_COPY;
        push(sec, kk)->node = id;
    }
    /* A member is written to memory unless all its users are in its own group. */
    for (int q = 0; q < sec->n; q++) {
        Kernel *k = &sec->k[q];
        if (k->kind != KN_ELEM) continue;
        for (int m = 0; m < k->n_members; m++) {
            int id = k->members[m], inside = 0;
            for (int j = m + 1; j < k->n_members; j++) {   /* recomputed users read it elsewhere too */
                const Node *u = &g->n[k->members[j]];
                for (int t = 0; t < u->n_in; t++) inside += u->in[t] == id && !s->remat[k->members[j]];
            }
            if (inlined(&g->n[id])) {   /* fused users recompute it */
                inside = 0;
                for (int u = id + 1; u < g->len; u++)
                    for (int t = 0; t < g->n[u].n_in; t++)
                        inside += g->n[u].in[t] == id && fusible(&g->n[u]);
            }
            k->out[m] = !s->remat[id] && (root[id] || inside < users[id]);
        }
    }
    absorb_epilogues(s, sec);
}

/* A buffer's place and when it is busy: from start to end, except in the
 * open interval (gap_lo, gap_hi) (none when gap_hi <= gap_lo + 1), when its
 * value is dead: a node that the D step and the G step both compute is
 * recomputed in the G step, so between its last use in the D step and the
 * G step's kernel that writes it again its buffer is free. */
typedef struct { int64_t off, size; int start, end, gap_lo, gap_hi; } Block;

static int in_gap(const Block *b, int t) { return b->gap_lo < t && t < b->gap_hi; }

/* Whether a and b are busy at some common time. */
static int busy_together(const Block *a, const Block *b)
{
    int lo = a->start > b->start ? a->start : b->start, hi = a->end < b->end ? a->end : b->end;
    int cand[6] = {lo, hi, a->gap_lo, a->gap_hi, b->gap_lo, b->gap_hi};
    for (int k = 0; k < 6; k++)
        if (cand[k] >= lo && cand[k] <= hi && !in_gap(a, cand[k]) && !in_gap(b, cand[k])) return 1;
    return 0;
}

/* The buffers that computing node id reads (through recomputed values),
 * appended to x[] (at most 64). */
static void read_buffers(const Schedule *s, int id, int *x, int *n)
{
    const Graph *g = s->g;
    const Node *nd = &g->n[id];
    if (nd->op == OP_BCAST) return;
    for (int i = 0; i < nd->n_in; i++) {
        int o = owner(g, nd->in[i]);
        if (s->remat[o]) read_buffers(s, o, x, n);
        else if (*n < 64) x[(*n)++] = o;
    }
}

/* Pairs each output of elementwise kernel k with an input of its shape that
 * it may overwrite in place, if that input dies at k (plan decides): every
 * element is read before it is written (cg.c elem_members loads all inputs
 * first).  An epilogue (only: the panel product's result `only`, which
 * its product writes but does not read) may overwrite only that. */
static void pair_in_place(const Schedule *s, const Kernel *k, int only, int *pair)
{
    const Graph *g = s->g;
    int taken[64], n_taken = 0;
    for (int m = 0; m < k->n_members; m++) {
        int y = k->members[m];
        if (!k->out[m]) continue;
        for (int j = 0; j < k->n_members && pair[y] < 0; j++) {
            int xs[64], nx = 0;
            read_buffers(s, k->members[j], xs, &nx);
            for (int i = 0; i < nx && pair[y] < 0; i++) {
                int x = xs[i], used = 0;
                if (inlined(&g->n[x]) || g->n[x].op == OP_INPUT || g->n[x].op == OP_PARAM ||
                    ir_numel(g->n[x].shape) != ir_numel(g->n[y].shape) || (only >= 0 && x != only))
                    continue;
                for (int q = 0; q < k->n_members; q++) used |= k->members[q] == x;
                for (int q = 0; q < n_taken; q++) used |= taken[q] == x;
                if (used || n_taken == 64) continue;
                pair[y] = x;
                taken[n_taken++] = x;
            }
        }
    }
}

/* Blocks of one buffer that one kernel hands from a dying input to its
 * output (pair_in_place): the same place, one ending where the other starts. */
static int in_place(const Block *a, const Block *b)
{
    return a->off == b->off && a->size == b->size && (a->end == b->start || b->end == a->start);
}

typedef struct { int64_t size; int start, k; } Ord;

static int by_size(const void *a, const void *b)
{
    const Ord *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return x->start != y->start ? x->start - y->start : x->k - y->k;
}

static int by_off(const void *a, const void *b)
{
    const Block *x = *(Block *const *)a, *y = *(Block *const *)b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Records in s the time (0..t) when the blocks busy at once (blk[n_fixed..],
 * whose nodes' block is bi[id]; from first_extra on, the gradients, of
 * nodes xid[]) add up to the most, and the biggest of them (--emit=fused
 * shows them). */
static void peak(Schedule *s, const Block *blk, int nb, int n_fixed, int first_extra, const int *bi, const int *xid, int t)
{
    s->peak = -1;
    for (int tt = 0; tt <= t; tt++) {
        int64_t sum = 0;
        for (int j = n_fixed; j < nb; j++)
            if (blk[j].start <= tt && tt <= blk[j].end && !in_gap(&blk[j], tt)) sum += blk[j].size;
        if (sum > s->peak) { s->peak = sum; s->peak_t = tt; }
    }
    s->n_peak = 0;
    for (int j = n_fixed; j < nb; j++) {
        const Block *b = &blk[j];
        if (!(b->start <= s->peak_t && s->peak_t <= b->end && !in_gap(b, s->peak_t))) continue;
        int who = j >= first_extra ? xid[j - first_extra] : -1;
        for (int id = 0; id < s->g->len && who < 0; id++)
            if (s->off[id] == -2 && bi[id] == j) who = id;
        int at = s->n_peak < 8 ? s->n_peak++ : 8;   /* insert by size, keep the 8 biggest */
        while (at > 0 && s->peak_size[at - 1] < b->size) {
            if (at < 8) { s->peak_size[at] = s->peak_size[at - 1]; s->peak_id[at] = s->peak_id[at - 1]; }
            at--;
        }
        if (at < 8) { s->peak_size[at] = b->size; s->peak_id[at] = who; }
    }
}

/* Places the gradients of network net (blk[first_extra..nb), those with
 * xnet[] = net, each at its offset extra[].off in the region) at the lowest
 * base where each is free of the blocks placed so far while it is busy:
 * before a gradient is computed, its part of the region holds other
 * values.  Raises *top past them; returns the base. */
static int64_t place_region(Block *blk, int nb, char *placed, int64_t base, int first_extra, const Block *extra,
                            const int *xnet, int net, int64_t *top)
{
    int64_t at = base;
    for (int again = 1; again;) {
        again = 0;
        for (int q = first_extra; q < nb && !again; q++) {
            if (xnet[q - first_extra] != net) continue;
            Block b = blk[q];
            b.off = at + extra[q - first_extra].off;
            for (int j = 0; j < nb && !again; j++)
                if (placed[j] && b.off < blk[j].off + blk[j].size && blk[j].off < b.off + b.size && busy_together(&blk[j], &b)) {
                    at = align_up(blk[j].off + blk[j].size - extra[q - first_extra].off);   /* past it */
                    again = 1;
                }
        }
    }
    for (int q = first_extra; q < nb; q++)
        if (xnet[q - first_extra] == net) {
            blk[q].off = at + extra[q - first_extra].off;
            placed[q] = 1;
            if (blk[q].off + blk[q].size > *top) *top = blk[q].off + blk[q].size;
        }
    return at;
}

/* Places the nodes defined on the timeline (def/last/def2/last1 from
 * plan()) from base up, beside the n_fixed blocks already in blk[] (room
 * for g->len + n_extra more), and the n_extra blocks extra[] (gradients of
 * nodes xid[], each at offset off in the gradient region of network
 * xnet[]; each region is placed as a whole, in its turn by its size,
 * and its offset set in region[]): a node that takes over the buffer of an
 * input dying in its kernel (pair[]) joins that input's block; then blocks
 * are placed largest first, each at the lowest address free for all of its
 * life (greedy by size: the big buffers settle first and small ones fill
 * the holes between them, which placing in time order leaves stranded).
 * Returns the end of the region. */
static int64_t place_by_size(Schedule *s, Block *blk, int n_fixed, int64_t top, int64_t base, int t, const char *pinned,
                             const int *def, const int *last, const int *def2, const int *last1, const int *pair,
                             const Block *extra, const int *xid, const int *xnet, int n_extra, int64_t region[2])
{
    const Graph *g = s->g;
    int *bi = malloc((size_t)g->len * sizeof *bi);
    Ord *ord = malloc(((size_t)g->len + 3) * sizeof *ord);
    Block **near = malloc(((size_t)g->len + 3) * sizeof *near);
    ir_assert(bi && ord && near);
    int nb = n_fixed;
    for (int tt = 0; tt < t; tt++)
        for (int id = 0; id < g->len; id++) {
            if (def[id] != tt || pinned[id] || s->off[id] >= 0) continue;
            int64_t size = align_up(ir_numel(g->n[id].shape) ? ir_numel(g->n[id].shape) : 1);
            int x = pair[id] >= 0 ? owner(g, pair[id]) : -1;
            if (x >= 0 && s->off[x] == -2 && last[x] == tt && def2[id] < 0 && def2[x] < 0 &&
                blk[bi[x]].size == size && blk[bi[x]].end == tt) {   /* x dies here: id takes its buffer */
                bi[id] = bi[x];
                blk[bi[id]].end = last[id];
            } else {
                bi[id] = nb;
                blk[nb++] = (Block){0, size, def[id], last[id], def2[id] >= 0 ? last1[id] : 0, def2[id] >= 0 ? def2[id] : 0};
            }
            s->off[id] = -2;   /* in block bi[id] */
        }
    int first_extra = nb;
    for (int q = 0; q < n_extra; q++) blk[nb++] = extra[q];
    char *placed = calloc((size_t)nb + 1, 1);
    ir_assert(placed);
    memset(placed, 1, (size_t)n_fixed);
    int no = 0;
    for (int k = n_fixed; k < first_extra; k++) ord[no++] = (Ord){blk[k].size, blk[k].start, k};
    for (int net = 0; net < 2; net++)   /* a gradient region: as one block of its size */
        if (s->p_len[net] > 0 && n_extra) ord[no++] = (Ord){align_up(s->p_len[net]), 0, -1 - net};
    qsort(ord, (size_t)no, sizeof *ord, by_size);
    for (int q = 0; q < no; q++) {
        if (ord[q].k < 0) {
            int net = -1 - ord[q].k;
            region[net] = place_region(blk, nb, placed, base, first_extra, extra, xnet, net, &top);
            continue;
        }
        Block *b = &blk[ord[q].k];
        int n = 0;
        for (int j = 0; j < nb; j++)
            if (placed[j] && busy_together(&blk[j], b)) near[n++] = &blk[j];
        qsort(near, (size_t)n, sizeof *near, by_off);
        int64_t at = base;
        for (int j = 0; j < n; j++) {
            if (near[j]->off + near[j]->size <= at) continue;
            if (near[j]->off >= at + b->size) break;
            at = align_up(near[j]->off + near[j]->size);
        }
        b->off = at;
        placed[ord[q].k] = 1;
        if (at + b->size > top) top = at + b->size;
    }
    for (int j = 0; j < nb; j++)   /* the guarantee: no two buffers busy at once overlap */
        for (int k = j + 1; k < nb; k++)
            ir_assert(!(blk[j].off < blk[k].off + blk[k].size && blk[k].off < blk[j].off + blk[j].size &&
                        busy_together(&blk[j], &blk[k])) || in_place(&blk[j], &blk[k]));
    if (n_extra) peak(s, blk, nb, n_fixed, first_extra, bi, xid, t);
    for (int id = 0; id < g->len; id++)
        if (s->off[id] == -2) s->off[id] = blk[bi[id]].off;
    free(bi); free(ord); free(near); free(placed);
    return top;
}

/* Positions kernels on one timeline and gives every materialised node of the
 * sections in `secs` an offset from `base`; returns the end of the region.
 * Nodes in `keep` (or NULL) stay live to the end of the timeline. */
static int64_t plan(Schedule *s, const int *secs, int n_secs, int64_t base, const char *pinned, const char *keep,
                    int shared, const char *gnet, const int64_t *grel)
{
    Graph *g = s->g;
    int *def = malloc((size_t)g->len * sizeof *def), *last = malloc((size_t)g->len * sizeof *last);
    int *pair = malloc((size_t)g->len * sizeof *pair), *def2 = malloc((size_t)g->len * sizeof *def2);
    int *last1 = malloc((size_t)g->len * sizeof *last1);
    ir_assert(def && last && pair && def2 && last1);
    for (int id = 0; id < g->len; id++) def[id] = last[id] = pair[id] = def2[id] = last1[id] = -1;
    /* each gradient, a block of its own at its place in its network's
     * region: busy from its first product (or copy) to the optimizer */
    int np = s->n_params[0] + s->n_params[1], nx = 0;
    Block *xb = malloc(((size_t)np + 1) * sizeof *xb);
    int *xid = malloc(((size_t)np + 1) * sizeof *xid), *xnet = malloc(((size_t)np + 1) * sizeof *xnet);
    ir_assert(xb && xid && xnet);
    int t = 0, gto[2] = {-1, -1}, *copied = malloc((size_t)g->len * sizeof *copied);   /* GRADCOPY's time */
    ir_assert(copied);
    for (int id = 0; id < g->len; id++) copied[id] = -1;
    for (int q = 0; q < n_secs; q++) {
        Section *sec = &s->sec[secs[q]];
        for (int kk = 0; kk < sec->n; kk++, t++) {
            Kernel *k = &sec->k[kk];
            if (k->absorbed) t--;   /* runs inside the kernel before it: at its time */
            if (gnet && (k->kind == KN_ADAM || k->kind == KN_SGD)) gto[k->net] = t;
            if (gnet && k->to_grad && copied[k->node] < 0) copied[k->node] = t;
            if (k->kind == KN_ELEM) pair_in_place(s, k, k->absorbed ? panel_result(s, &sec->k[kk - 1]) : -1, pair);
            int one[1] = {k->node};
            int *ms = k->kind == KN_ELEM ? k->members : one;
            int nm = k->kind == KN_ELEM ? k->n_members : (k->node >= 0 ? 1 : 0);
            for (int m = 0; m < nm; m++) {
                int id = ms[m];
                if (k->kind == KN_ELEM && !k->out[m]) {
                    /* not stored; its inputs are read here */
                } else if (k->kind != KN_GRADCOPY && k->kind != KN_STORE) {
                    int o = owner(g, id);
                    if (def[o] < 0) def[o] = t;
                    else if (def2[o] < 0 && t > last[o]) { def2[o] = t; last1[o] = last[o]; }   /* recomputed */
                    if (last[o] < t) last[o] = t;
                }
                const Node *nd = &g->n[id];
                if (k->kind == KN_GRADCOPY || k->kind == KN_STORE) {   /* reads the node, not its inputs */
                    int o = owner(g, id);
                    if (last[o] < t) last[o] = t;
                    continue;
                }
                for (int j = 0; j < nd->n_in; j++) reads(s, nd->in[j], t, last, k->kind == KN_ELEM);
            }
        }
    }
    if (keep)
        for (int id = 0; id < g->len; id++)
            if (keep[id] && def[owner(g, id)] >= 0) last[owner(g, id)] = t;
    for (int net = 0; gnet && net < 2; net++) {
        int64_t rel = 0;
        for (int k = 0; k < s->n_params[net]; k++) {
            int gid = s->grads[net][k], from = copied[gid];
            for (int id = 0; id < g->len; id++)   /* computed there (both products of a sum) */
                if (gnet[id] == net + 1 && grel[id] == rel && def[id] >= 0 && (from < 0 || def[id] < from)) from = def[id];
            int64_t len = align_up(ir_numel(g->n[s->params[net][k]].shape));
            ir_assert(from >= 0 && gto[net] >= from);
            xid[nx] = owner(g, gid); xnet[nx] = net;
            xb[nx++] = (Block){rel, len, from, gto[net], 0, 0};
            rel += len;
        }
    }
    Block *live = malloc(((size_t)g->len + (size_t)np + 3) * sizeof *live);
    int n_live = 0, reuse = !getenv("GANC_NO_REUSE");   /* tests: every buffer its own memory */
    int64_t top = base;
    ir_assert(live);
    if (shared && reuse)   /* the buffers placed before that this timeline uses, and fake's, are busy */
        for (int id = 0; id < g->len; id++) {
            int o = owner(g, id);
            if (o != id || pinned[id] || s->off[id] < base || (def[id] < 0 && last[id] < 0 && id != s->fake)) continue;
            int64_t size = align_up(ir_numel(g->n[id].shape) ? ir_numel(g->n[id].shape) : 1);
            /* from its kernel here, or the start when it is read before any; to its last reader, or
             * the end for fake's (the runtime reads the generated batch after the section) */
            live[n_live++] = (Block){s->off[id], size, def[id] < 0 ? 0 : def[id], id == s->fake || last[id] < 0 ? t : last[id], 0, 0};
            if (s->off[id] + size > top) top = s->off[id] + size;
        }
    if (reuse) {
        top = place_by_size(s, live, n_live, top, base, t, pinned, def, last, def2, last1, pair, xb, xid, xnet, nx, s->g_off);
    } else {
        for (int net = 0; gnet && net < 2; net++) { s->g_off[net] = top; top += align_up(s->p_len[net]); }
        for (int tt = 0; tt < t; tt++)   /* every buffer after the last */
            for (int id = 0; id < g->len; id++) {
                if (def[id] != tt || pinned[id] || s->off[id] >= 0) continue;
                s->off[id] = top;
                top += align_up(ir_numel(g->n[id].shape) ? ir_numel(g->n[id].shape) : 1);
            }
    }
    free(def); free(last); free(live); free(pair); free(def2); free(last1); free(xb); free(xid); free(xnet); free(copied);
    return top;
}

static void collect_params(Schedule *s)
{
    for (int net = 0; net < 2; net++) {
        s->n_params[net] = 0;
        s->params[net] = malloc((size_t)s->g->len * sizeof(int));
        ir_assert(s->params[net]);
    }
    s->n_bufs = 0;
    s->bufs = malloc((size_t)s->g->len * sizeof(int));
    ir_assert(s->bufs);
    for (int id = 0; id < s->g->len; id++)
        if (s->g->n[id].op == OP_PARAM) {
            int net = s->g->n[id].i[0];
            if (s->g->n[id].i[2]) s->bufs[s->n_bufs++] = id;
            else s->params[net][s->n_params[net]++] = id;
        }
}

/* Flops of the kernel of node id: its product's, or the product folded into it. */
static int64_t node_flops(const Schedule *s, int id)
{
    const Graph *g = s->g;
    if ((g->n[id].op == OP_COL2IM || g->n[id].op == OP_SWAP01) && s->folded[owner(g, g->n[id].in[0])])
        id = owner(g, g->n[id].in[0]);
    const Node *nd = &g->n[id];
    if (nd->op != OP_MATMUL && nd->op != OP_BMATMUL) return 0;
    const Shape a = g->n[nd->in[0]].shape;
    return 2 * ir_numel(nd->shape) * (nd->i[0] ? a.d[a.rank - 2] : a.d[a.rank - 1]);
}

static void mark(const Graph *g, char *set, const int *roots, int n, const char *minus)
{
    ancestors(g, roots, n, set);
    if (minus)
        for (int id = 0; id < g->len; id++)
            if (minus[id]) set[id] = 0;
}

/* The section that computes a state update's statistic: the latest one
 * holding the node, or else (simplify may have folded the node itself out
 * of the step, e.g. var into var + eps) the latest one of its inputs; -1
 * for sources. */
static int stat_section(const Graph *g, char *const *in, int id)
{
    if (in[SEC_GFWD][id]) return SEC_GFWD;
    if (in[SEC_GSTEP][id]) return SEC_GSTEP;
    if (in[SEC_DSTEP][id]) return SEC_DSTEP;
    int best = -1;
    for (int k = 0; k < g->n[id].n_in; k++) {
        int q = stat_section(g, in, g->n[id].in[k]);
        if (q == SEC_GFWD) return SEC_GFWD;
        if (q > best) best = q;
    }
    return best;
}

/* Whether gradient gid is the sum of two panel products that nothing else
 * reads (a weight's gradient from the real and the fake batch): their ids
 * in *p1 < *p2. */
static int sum_of_products(const Graph *g, const int *users, const char *root, int gid, int *p1, int *p2)
{
    const Node *a = &g->n[gid];
    if (a->op != OP_ADD || a->in[0] == a->in[1]) return 0;
    for (int k = 0; k < 2; k++) {
        const Node *m = &g->n[a->in[k]];
        if (!packs_panels(g, m) || users[a->in[k]] != 1 || root[a->in[k]] || !ir_shape_eq(m->shape, a->shape)) return 0;
    }
    *p1 = a->in[0] < a->in[1] ? a->in[0] : a->in[1];
    *p2 = a->in[0] < a->in[1] ? a->in[1] : a->in[0];
    return 1;
}

/* Sections, kernels and the memory plan. */
static void layout(Schedule *s)
{
    Graph *g = s->g;
    size_t n = (size_t)g->len;
    char *in[SEC_COUNT], *root = calloc(n, 1), *pinned = calloc(n, 1), *gnet = calloc(n, 1);   /* gnet: 1 + net of a gradient */
    int64_t *grel = calloc(n, sizeof *grel);   /* its place in the gradient region */
    for (int k = 0; k < SEC_COUNT; k++) in[k] = calloc(n, 1);
    s->off = malloc(n * sizeof *s->off);
    ir_assert(root && pinned && s->off && gnet && grel);
    for (size_t id = 0; id < n; id++) s->off[id] = -1;

    int dr[4] = {s->d_loss, s->d_real, s->d_fake, -1};
    int gr[1] = {s->g_loss};
    mark(g, in[SEC_GFWD], &s->fake, 1, NULL);
    mark(g, in[SEC_DSTEP], dr, 3, NULL);
    ancestors(g, s->grads[NET_D], s->n_params[NET_D], in[SEC_DSTEP]);
    mark(g, in[SEC_GSTEP], gr, 1, NULL);
    ancestors(g, s->grads[NET_G], s->n_params[NET_G], in[SEC_GSTEP]);
    for (size_t id = 0; id < n; id++)
        if (in[SEC_GFWD][id]) in[SEC_DSTEP][id] = in[SEC_GSTEP][id] = 0;
    /* a state update runs in the section that computes its statistic */
    int *asec = malloc(((size_t)s->p->n_assign + 1) * sizeof *asec);
    ir_assert(asec);
    for (int k = 0; k < s->p->n_assign; k++) {
        const struct Assign *as = &s->p->assign[k];
        asec[k] = stat_section(g, in, as->stat);
        if (asec[k] < 0) asec[k] = SEC_GSTEP;
        if (as->sec >= 0 && asec[k] != SEC_GFWD) asec[k] = as->sec;
        char *tmp = calloc(n, 1);
        ir_assert(tmp);
        ancestors(g, &as->src, 1, tmp);
        for (size_t id = 0; id < n; id++)
            if (tmp[id] && (asec[k] == SEC_GFWD || !in[SEC_GFWD][id])) in[asec[k]][id] = 1;
        free(tmp);
        root[as->src] = 1;
    }
    mark(g, in[SEC_SAMPLE], &s->sample, 1, NULL);
    int rl[] = {s->fake, s->sample, s->d_loss, s->g_loss, s->d_real, s->d_fake};
    for (int k = 0; k < 6; k++)
        if (rl[k] >= 0) root[rl[k]] = 1;
    for (int net = 0; net < 2; net++)
        for (int k = 0; k < s->n_params[net]; k++) root[s->grads[net][k]] = 1;

    int *users = user_counts(g);
    s->adds_to = malloc((n + 1) * sizeof *s->adds_to);
    ir_assert(s->adds_to);
    for (size_t id = 0; id < n; id++) s->adds_to[id] = -1;
    /* persistent part of the arena */
    int64_t top = 0;
    s->scalars = top; top += align_up(GANRT_S_COUNT);
    for (size_t id = 0; id < n; id++)
        if (g->n[id].op == OP_INPUT) { s->off[id] = top; top += align_up(ir_numel(g->n[id].shape)); }
    for (int net = 0; net < 2; net++) {
        int64_t len = 0;
        for (int k = 0; k < s->n_params[net]; k++) len += align_up(ir_numel(g->n[s->params[net][k]].shape));
        s->p_len[net] = len;
        s->p_off[net] = top; s->g_off[net] = -1; s->m_off[net] = top + len; s->v_off[net] = top + 2 * len;
        top += 3 * len;
        int64_t rel = 0;
        for (int k = 0; k < s->n_params[net]; k++) {
            int pid = s->params[net][k], gid = owner(g, s->grads[net][k]);   /* a view: its owner */
            s->off[pid] = s->p_off[net] + rel;
            int sec = net == NET_D ? SEC_DSTEP : SEC_GSTEP;
            const Node *gn = &g->n[gid];
            if (in[sec][gid] && !pinned[gid] && gn->op != OP_CONST && ir_ops[gn->op].kind != K_SOURCE) {
                pinned[gid] = 1;   /* computed into the gradient region, placed by plan() */
                gnet[gid] = (char)(net + 1);
                grel[gid] = rel;
                int p1, p2;
                if (sum_of_products(g, users, root, gid, &p1, &p2) && in[sec][p1] && in[sec][p2] &&
                    !getenv("GANC_SEPARATE_SUMS")) {   /* tests: the sum of two products in memory */
                    s->adds_to[p1] = s->adds_to[p2] = s->adds_to[gid] = gid;   /* all three in the sum's place */
                    for (int q = 0; q < 2; q++) {
                        int pq = q ? p2 : p1;
                        pinned[pq] = 1;
                        gnet[pq] = (char)(net + 1);
                        grel[pq] = rel;
                    }
                }
            }
            rel += align_up(ir_numel(g->n[pid].shape));
        }
    }
    s->e_off = -1;
    if (s->p && s->p->ema > 0) { s->e_off = top; top += s->p_len[NET_G]; }
    s->b_off = top;
    for (int k = 0; k < s->n_bufs; k++) {
        s->off[s->bufs[k]] = top;
        top += align_up(ir_numel(g->n[s->bufs[k]].shape));
    }
    /* kernels */
    s->folded = find_folded(g, root);
    s->remat = find_remat(g, in, SEC_COUNT, root);
    for (int k = 0; k < SEC_COUNT; k++) build_section(s, &s->sec[k], in[k], root, users);
    if (s->sample != s->fake) {   /* both G forwards leave their output in one place (gout_offset) */
        Kernel *kn = push(&s->sec[SEC_SAMPLE], KN_GRADCOPY);
        kn->node = s->sample;
        kn->dst = -1;   /* fake's offset, known after planning */
        kn->len = ir_numel(g->n[s->sample].shape);
    }
    for (int k = 0; k < s->p->n_assign; k++) {   /* after everything that reads the old value */
        Kernel *kn = push(&s->sec[asec[k]], KN_GRADCOPY);
        kn->node = s->p->assign[k].src;
        kn->dst = s->off[s->p->assign[k].dst];
        kn->len = ir_numel(g->n[s->p->assign[k].dst].shape);
    }
    free(asec);
    for (int net = 0; net < 2; net++) {
        Section *sec = &s->sec[net == NET_D ? SEC_DSTEP : SEC_GSTEP];
        int64_t rel = 0;
        for (int k = 0; k < s->n_params[net]; k++) {
            int gid = s->grads[net][k];
            int64_t len = ir_numel(g->n[s->params[net][k]].shape);
            int o = owner(g, gid);
            if (gnet[o] != net + 1 || grel[o] != rel) {
                Kernel *kn = push(sec, KN_GRADCOPY);
                kn->node = gid; kn->dst = rel; kn->len = len; kn->net = net; kn->to_grad = 1;
            }
            rel += align_up(len);
        }
    }
    struct { int sec, node, slot; } st[] = {
        {SEC_DSTEP, s->d_loss, GANRT_S_D_LOSS}, {SEC_DSTEP, s->d_real, GANRT_S_D_REAL},
        {SEC_DSTEP, s->d_fake, GANRT_S_D_FAKE}, {SEC_GSTEP, s->g_loss, GANRT_S_G_LOSS}};
    for (int k = 0; k < 4; k++) {
        Kernel *kn = push(&s->sec[st[k].sec], KN_STORE);
        kn->node = st[k].node;
        kn->dst = s->scalars + st[k].slot;
    }
    for (int net = 0; net < 2; net++) {
        Section *sec = &s->sec[net == NET_D ? SEC_DSTEP : SEC_GSTEP];
        push(sec, s->p->opt[net].kind == OPT_ADAM ? KN_ADAM : KN_SGD)->net = net;
    }
    /* transient part: the training timeline, then sampling in the same
     * memory (nothing transient lives from one call to the next, but the
     * generated batch, which both leave in fake's buffer) */
    int train[3] = {SEC_GFWD, SEC_DSTEP, SEC_GSTEP}, samp[1] = {SEC_SAMPLE};
    int64_t ttop = align_up(plan(s, train, 3, top, pinned, root, 0, gnet, grel));
    for (size_t id = 0; id < n; id++)
        if (gnet[id]) s->off[id] = s->g_off[gnet[id] - 1] + grel[id];
    for (int q = 0; q < SEC_COUNT; q++)
        for (int k = 0; k < s->sec[q].n; k++)
            if (s->sec[q].k[k].to_grad) s->sec[q].k[k].dst += s->g_off[s->sec[q].k[k].net];
    int64_t stop = align_up(plan(s, samp, 1, getenv("GANC_NO_REUSE") ? ttop : top, pinned, root, 1, NULL, NULL));
    top = stop > ttop ? stop : ttop;
    /* views share their owner's buffer */
    for (size_t id = 0; id < n; id++)
        if (g->n[id].op == OP_RESHAPE) s->off[id] = s->off[owner(g, (int)id)];
    for (int k = 0; k < s->sec[SEC_SAMPLE].n; k++)
        if (s->sec[SEC_SAMPLE].k[k].dst < 0) s->sec[SEC_SAMPLE].k[k].dst = s->off[s->fake];
    s->arena = top;
    for (int sec = 0; sec < 3; sec++)
        for (int k = 0; k < s->sec[sec].n; k++)
            if (s->sec[sec].k[k].kind == KN_MATMUL || s->sec[sec].k[k].kind == KN_COPY)
                s->flops += node_flops(s, s->sec[sec].k[k].node) * (sec == SEC_GSTEP ? 1 : s->p->n_critic);
    for (int k = 0; k < SEC_COUNT; k++) free(in[k]);
    free(root); free(pinned); free(gnet); free(grel); free(users);
}

/* Renumbers the graph (and roots[]) so that nodes that depend on the fake
 * batch but not on the real one come after every node that does not, and
 * nodes that depend on both come last.  Ids are the order kernels run in,
 * so the D step then runs D on the real batch forward and backward before D
 * on the fake batch: the real batch's activations are free before the fake
 * batch's are made, instead of both being live through the backward pass.
 * Any such order is topological: a node's inputs depend on no more than it.
 * A sum is placed as soon as its inputs are: its input is usually big and
 * its result small (a batchnorm's parameter gradients); so is the sum of
 * two products (a weight's gradients from the two batches), which frees
 * both. */
/* The users of every node of g, as lists: those of node id are
 * (*user)[(*first)[id] .. (*first)[id + 1] - 1], in ascending order. */
static void user_lists(const Graph *g, int **first, int **user)
{
    size_t len = (size_t)g->len;
    int *f = calloc(len + 2, sizeof *f);
    ir_assert(f);
    for (int id = 0; id < g->len; id++)
        for (int k = 0; k < g->n[id].n_in; k++) f[g->n[id].in[k] + 1]++;
    for (size_t id = 0; id < len; id++) f[id + 1] += f[id];
    int *u = malloc(((size_t)f[len] + 1) * sizeof *u), *fill = malloc((len + 1) * sizeof *fill);
    ir_assert(u && fill);
    memcpy(fill, f, len * sizeof *fill);
    for (int id = 0; id < g->len; id++)
        for (int k = 0; k < g->n[id].n_in; k++) u[fill[g->n[id].in[k]]++] = id;
    free(fill);
    *first = f;
    *user = u;
}

static int hoisted(const Graph *g, int id)
{
    const Node *nd = &g->n[id];
    if (nd->op == OP_REDUCE) return 1;
    return nd->op == OP_ADD && !fusible(&g->n[nd->in[0]]) && !fusible(&g->n[nd->in[1]]);
}

/* A copy of g in which the sum of a value that adds a real-batch term and
 * a fake-batch term (the gradient of a parameter broadcast over both
 * batches, as batchnorm's scale and shift are) is the sum of the two terms'
 * sums, so each is taken as soon as its term exists.  Only across the two
 * batches: within one, terms that cancel (a bias before batchnorm) are
 * added element by element first.  dep[] (room for 3 g->len) gets each
 * node's dependence: 1 on the real batch x, 2 on the fake batch, 3 on both;
 * roots are renumbered. */
static Graph *split_branch_sums(Graph *g, char *dep, int *roots, int n_roots, int x, int fake)
{
    Graph *ng = ir_new();
    int *map = malloc(((size_t)g->len + 1) * sizeof *map);
    char *nd_dep = calloc(3 * (size_t)g->len + 8, 1);   /* each split adds two nodes */
    ir_assert(map && nd_dep);
    for (int id = 0; id < g->len; id++) {
        Node nd = g->n[id];
        int d = (id == x ? 1 : 0) | (id == fake ? 2 : 0);
        for (int k = 0; k < nd.n_in; k++) d |= nd_dep[map[nd.in[k]]];
        const Node *a = nd.op == OP_REDUCE ? &g->n[nd.in[0]] : NULL;
        if (a && a->op == OP_ADD) {
            int t0 = map[a->in[0]], t1 = map[a->in[1]];
            if ((nd_dep[t0] == 1 && nd_dep[t1] == 2) || (nd_dep[t0] == 2 && nd_dep[t1] == 1)) {
                int r0 = ir_reduce(ng, t0, (MapMode)nd.i[0], nd.loc), r1 = ir_reduce(ng, t1, (MapMode)nd.i[0], nd.loc);
                nd_dep[r0] = nd_dep[t0];
                nd_dep[r1] = nd_dep[t1];
                map[id] = ir_bin(ng, OP_ADD, r0, r1, nd.loc);
                nd_dep[map[id]] = 3;
                continue;
            }
        }
        for (int k = 0; k < nd.n_in; k++) nd.in[k] = map[nd.in[k]];
        map[id] = ir_add_like(ng, &nd);
        ir_assert(map[id] >= 0);
        nd_dep[map[id]] = (char)d;
    }
    for (int r = 0; r < n_roots; r++)
        if (roots[r] >= 0) roots[r] = map[roots[r]];
    memcpy(dep, nd_dep, (size_t)ng->len);
    free(map); free(nd_dep);
    return ng;
}

static void order_branches(Graph **gp, int *roots, int n_roots, int x, int fake)
{
    char *dep = calloc(3 * (size_t)(*gp)->len + 8, 1);
    ir_assert(dep);
    Graph *old = split_branch_sums(*gp, dep, roots, n_roots, x, fake);
    ir_free(*gp);
    *gp = old;
    size_t len = (size_t)old->len;
    int *map = malloc((len + 1) * sizeof *map);
    ir_assert(map);
    for (int id = 0; id < old->len; id++)   /* the pass of each node: neither or real only, fake only, both */
        dep[id] = (char)(!(dep[id] & 2) ? 0 : !(dep[id] & 1) ? 1 : 2);
    int *first, *user, *stack = malloc((len + 1) * sizeof *stack);
    ir_assert(stack);
    user_lists(old, &first, &user);
    for (size_t id = 0; id < len; id++) map[id] = -1;
    Graph *g = ir_new();
    for (int pass = 0; pass < 3; pass++)
        for (int id0 = 0; id0 < old->len; id0++) {
            if (dep[id0] != pass || map[id0] >= 0) continue;
            int n = 0;
            stack[n++] = id0;
            while (n) {   /* places a node, then each sum of it whose inputs are all placed */
                int id = stack[--n];
                Node nd = old->n[id];
                for (int k = 0; k < nd.n_in; k++) nd.in[k] = map[nd.in[k]];
                map[id] = ir_add_like(g, &nd);
                ir_assert(map[id] >= 0);
                for (int q = first[id]; q < first[id + 1]; q++) {
                    int u = user[q], ready = map[u] < 0 && hoisted(old, u) && dep[u] >= pass;
                    for (int k = 0; k < old->n[u].n_in && ready; k++) ready = map[old->n[u].in[k]] >= 0;
                    for (int j = 0; j < n && ready; j++) ready = stack[j] != u;
                    if (ready) stack[n++] = u;
                }
            }
        }
    for (int r = 0; r < n_roots; r++)
        if (roots[r] >= 0) roots[r] = map[roots[r]];
    free(dep); free(map); free(first); free(user); free(stack);
    ir_free(old);
    *gp = g;
}

/* ---------- values recomputed for their late users ----------
 * An activation of a hidden layer (relu(bn(x)), leaky_relu(bn(x))) is read
 * twice: by the next layer's forward product at once, and in the backward
 * pass (that layer's weight gradient, its own derivative) much later; kept
 * in between, every activation of both networks is live at the peak.  When
 * the values it is computed from stay live until the backward pass anyway
 * (x - mean, which batchnorm's gradient reads; per-channel scales), a copy
 * of the activation is computed for the late readers right before the
 * first of them, and the first one is freed after the forward pass: an
 * elementwise pass more, the activation's memory less. */
enum { CLONE_MIN = 1 << 20 };   /* floats (4 MB): smaller activations are not worth a pass */

/* Views and gathers a product folds in: read the value in place. */
static int view_like(Op op)
{
    return op == OP_SWAP01 || op == OP_RESHAPE || op == OP_IM2COL;
}

/* Whether node id's value can be computed again at time t (a node id)
 * without keeping anything alive longer: each stored value it is computed
 * from is read at t or later anyway, or is persistent, constant or small.
 * The cheap elementwise nodes on the way, read by nothing at t or later,
 * are appended to chain[] (at most 16) to be computed again too. */
static int live_at(const Graph *g, const int *first, const int *user, int id, int t, int *chain, int *n_chain)
{
    const Node *nd = &g->n[id];
    if (ir_ops[nd->op].kind == K_SOURCE || nd->op == OP_BCAST) return 1;
    for (int q = first[id]; q < first[id + 1]; q++)
        if (user[q] >= t) return 1;
    if (!cheap(nd->op) || *n_chain == 16) return 0;
    for (int k = 0; k < *n_chain; k++)
        if (chain[k] == id) return 1;
    chain[(*n_chain)++] = id;
    for (int k = 0; k < nd->n_in; k++)
        if (!live_at(g, first, user, nd->in[k], t, chain, n_chain)) return 0;
    return 1;
}

static void clone_late(Graph **gp, int *roots, int n_roots)
{
    Graph *old = *gp;
    size_t len = (size_t)old->len;
    int *first, *user, *prod = calloc(len + 2, sizeof *prod);
    int *late = malloc((len + 1) * sizeof *late);   /* per activation y: its first late user, or -1 */
    int *group = malloc((len + 1) * sizeof *group);  /* per view of y (and y): y, or -1 */
    char *root = calloc(len + 1, 1), *need = calloc(len + 1, 1);
    ir_assert(prod && late && group && root && need);
    for (int r = 0; r < n_roots; r++)
        if (roots[r] >= 0) root[roots[r]] = 1;
    user_lists(old, &first, &user);
    for (int id = 0; id < old->len; id++) {   /* products before id */
        Op op = old->n[id].op;
        prod[id + 1] = prod[id] + (op == OP_MATMUL || op == OP_BMATMUL || op == OP_COL2IM);
    }
    for (size_t id = 0; id < len; id++) late[id] = group[id] = -1;
    int n_clones = 0;
    for (int y = 0; y < old->len; y++) {
        const Node *nd = &old->n[y];
        if ((nd->op != OP_RELU && nd->op != OP_LRELU) || root[y] || ir_numel(nd->shape) < CLONE_MIN || group[y] >= 0)
            continue;
        /* y's readers other than its views, in order: the late ones are
         * those after the first gap of two or more products */
        int fam[16], nf = 0, rd[64], nr = 0, ok = 1;
        fam[nf++] = y;
        for (int f = 0; f < nf && ok; f++)
            for (int q = first[fam[f]]; q < first[fam[f] + 1]; q++) {
                int u = user[q];
                if (view_like(old->n[u].op) && !root[u] && group[u] < 0 && nf < 16) fam[nf++] = u;
                else if (view_like(old->n[u].op) || nr == 64) ok = 0;
                else rd[nr++] = u;
            }
        if (!ok || nr < 2) continue;
        for (int i = 1; i < nr; i++)   /* insertion sort: a handful */
            for (int j = i; j > 0 && rd[j - 1] > rd[j]; j--) { int t = rd[j]; rd[j] = rd[j - 1]; rd[j - 1] = t; }
        int cut = -1;
        for (int i = 1; i < nr && cut < 0; i++)
            if (prod[rd[i]] - prod[rd[i - 1] + 1] >= 2) cut = rd[i];
        if (cut < 0) continue;
        int chain[16], nc = 0;
        for (int k = 0; k < nd->n_in && ok; k++) ok = live_at(old, first, user, nd->in[k], cut, chain, &nc);
        for (int k = 0; k < nc && ok; k++) ok = group[chain[k]] < 0;
        if (!ok) continue;
        late[y] = cut;
        for (int f = 0; f < nf; f++) group[fam[f]] = y;
        for (int f = nf - 1; f > 0; f--)   /* the views on a path to a late reader are copied too */
            for (int q = first[fam[f]]; q < first[fam[f] + 1]; q++) {
                int u = user[q];
                need[fam[f]] |= group[u] == y ? need[u] : u >= cut;
            }
        need[y] = 1;
        for (int k = 0; k < nc; k++) group[chain[k]] = y, need[chain[k]] = 1;
        n_clones++;
    }
    if (!n_clones) {
        free(first); free(prod); free(late); free(group); free(root); free(need); free(user);
        return;
    }
    /* the new graph: each late copy right before its first late reader */
    int *map = malloc((len + 1) * sizeof *map), *copy = malloc((len + 1) * sizeof *copy);
    int *at = malloc((len + 1) * sizeof *at), *next = malloc((len + 1) * sizeof *next);   /* lists: y by late[y] */
    ir_assert(map && copy && at && next);
    for (size_t id = 0; id < len; id++) copy[id] = at[id] = -1;
    for (int y = old->len - 1; y >= 0; y--)
        if (late[y] >= 0) { next[y] = at[late[y]]; at[late[y]] = y; }
    Graph *g = ir_new();
    for (int id = 0; id < old->len; id++) {
        for (int y = at[id]; y >= 0; y = next[y]) {
            for (int f = 0; f < id; f++) {   /* what y is computed from, y, its views, in order */
                if (group[f] != y || !need[f]) continue;
                Node nd = old->n[f];
                for (int k = 0; k < nd.n_in; k++) nd.in[k] = group[nd.in[k]] == y && copy[nd.in[k]] >= 0 ? copy[nd.in[k]] : map[nd.in[k]];
                copy[f] = ir_add_like(g, &nd);
                ir_assert(copy[f] >= 0);
            }
        }
        Node nd = old->n[id];
        for (int k = 0; k < nd.n_in; k++) {
            int x = nd.in[k], y = group[x];
            int use_copy = y >= 0 && id >= late[y] && copy[x] >= 0 && group[id] != y;
            nd.in[k] = use_copy ? copy[x] : map[x];
        }
        map[id] = ir_add_like(g, &nd);
        ir_assert(map[id] >= 0);
    }
    for (int r = 0; r < n_roots; r++)
        if (roots[r] >= 0) roots[r] = map[roots[r]];
    free(first); free(prod); free(late); free(group); free(root); free(need); free(user);
    free(map); free(copy); free(at); free(next);
    ir_free(old);
    *gp = g;
}

/* An activation's derivative tests the sign of the activation, the same as
 * its input's (grad.c): it reads the input instead when the input can be
 * computed at the derivative from values live there anyway (batchnorm's
 * x - mean and per-channel factors), so the activation dies at its last
 * other reader (the next layer's weight gradient) rather than at its
 * derivative, which comes after that layer's input gradient.  Not below
 * CLONE_MIN: when the input is not recomputed after all (find_remat: a
 * section apart from its own), it is stored, and that costs more than the
 * memory a small activation frees. */
static void sign_from_input(Graph *g)
{
    int *first, *user;
    user_lists(g, &first, &user);
    for (int u = 0; u < g->len; u++) {
        Node *nd = &g->n[u];
        if (nd->op != OP_RELU_GRAD && nd->op != OP_LRELU_GRAD) continue;
        const Node *y = &g->n[nd->in[0]];
        if (!(y->op == OP_RELU || (y->op == OP_LRELU && y->f[0] >= 0)) || ir_numel(y->shape) < CLONE_MIN) continue;
        int chain[16], nc = 0, x = y->in[0];
        if (live_at(g, first, user, x, u, chain, &nc)) nd->in[0] = x;
    }
    free(first); free(user);
}

/* ---------- G's forward pass computed again for its backward pass ----------
 * What G's backward pass reads of its forward pass (each batchnorm's x -
 * mean, the activations its weight gradients read) would be live from the
 * G forward section through the whole D step and through D's forward and
 * backward passes in the G step: at every peak of both.  When that is big,
 * the G step computes G's forward pass again, from z and G's weights (not
 * updated before G's optimizer), right before the backward pass, and the
 * first pass keeps only the generated batch.  The copy is the same nodes,
 * so the same values bit for bit; it costs one more G forward pass (about
 * 8% of bench/dcgan64.gan's step) and is not made below RECOMPUTE_MIN.
 * GANC_RECOMPUTE=0 / 1: never / always (tests). */
enum { RECOMPUTE_MIN = 1 << 22 };   /* floats (16 MB) */

static void recompute_g(Graph **gp, int *roots, int n_roots, int fake, int z, const int *ggrad, int n_ggrad)
{
    Graph *old = *gp;
    size_t len = (size_t)old->len;
    const char *env = getenv("GANC_RECOMPUTE");
    if (fake < 0 || z < 0 || (env && !strcmp(env, "0"))) return;
    char *cand = calloc(len + 1, 1), *back = calloc(len + 1, 1), *need = calloc(len + 1, 1);
    char *dz = calloc(len + 1, 1), *df = calloc(len + 1, 1), *late = calloc(len + 1, 1);
    int *map = malloc((len + 1) * sizeof *map), *copy = malloc((len + 1) * sizeof *copy);
    ir_assert(cand && back && need && dz && df && late && map && copy);
    /* cand: G's forward values computed from z but the generated batch (and
     * what it views), which stays live anyway; dz, df: depends on z, fake */
    ancestors(old, &fake, 1, cand);
    for (int id = 0; id < old->len; id++) {
        dz[id] = id == z;
        df[id] = id == fake;
        for (int k = 0; k < old->n[id].n_in; k++) dz[id] |= dz[old->n[id].in[k]], df[id] |= df[old->n[id].in[k]];
    }
    for (int f = fake;; f = old->n[f].in[0]) {
        cand[f] = 0;
        if (old->n[f].op != OP_RESHAPE) break;
    }
    /* back: G's backward pass (what G's gradients depend on, outside the
     * forward pass); the copy goes right before the first of its nodes that
     * reads a candidate and depends on D's verdict on the batch (cut).
     * Those before it that read candidates (per-channel factors of
     * batchnorm's derivative) move after the copy (late). */
    ancestors(old, ggrad, n_ggrad, back);
    for (int id = 0; id < old->len; id++) back[id] &= !cand[id] && id != fake;
    for (int id = 0; id < old->len; id++) cand[id] &= dz[id] && ir_ops[old->n[id].op].kind != K_SOURCE;
    int cut = -1;
    for (int id = 0; id < old->len && cut < 0; id++)
        for (int k = 0; back[id] && k < old->n[id].n_in; k++) {
            int x = old->n[id].in[k];
            if (cand[x] && df[id]) cut = id;
            if ((cand[x] || late[x]) && !df[id]) late[id] = 1;
        }
    int ok = cut >= 0;
    for (int id = 0; id < old->len; id++) {   /* only G's backward pass reads what moves */
        for (int k = 0; k < old->n[id].n_in; k++) ok &= !late[old->n[id].in[k]] || (back[id] && (late[id] || id > cut));
        for (int k = 0; back[id] && (id >= cut || late[id]) && k < old->n[id].n_in; k++)
            if (cand[old->n[id].in[k]]) need[old->n[id].in[k]] = 1;
    }
    int64_t kept = 0;
    for (int id = 0; id < old->len; id++)
        if (need[id] && old->n[id].op != OP_RESHAPE) kept += ir_numel(old->n[id].shape);
    if (ok && (kept >= RECOMPUTE_MIN || (env && !strcmp(env, "1")))) {
        for (int id = old->len - 1; id >= 0; id--)   /* and what they are computed from */
            for (int k = 0; need[id] && k < old->n[id].n_in; k++)
                if (cand[old->n[id].in[k]]) need[old->n[id].in[k]] = 1;
        Graph *g = ir_new();
        for (int id = 0; id < old->len; id++) {
            for (int f = 0; id == cut && f < cut; f++) {   /* the copy, then what moves */
                if (!need[f] && !late[f]) continue;
                Node nd = old->n[f];
                for (int k = 0; k < nd.n_in; k++) nd.in[k] = need[nd.in[k]] ? copy[nd.in[k]] : map[nd.in[k]];
                int c = ir_add_like(g, &nd);
                ir_assert(c >= 0);
                if (late[f]) map[f] = c;
                else copy[f] = c;
            }
            if (late[id]) continue;
            Node nd = old->n[id];
            for (int k = 0; k < nd.n_in; k++) nd.in[k] = back[id] && id >= cut && need[nd.in[k]] ? copy[nd.in[k]] : map[nd.in[k]];
            map[id] = ir_add_like(g, &nd);
            ir_assert(map[id] >= 0);
        }
        for (int r = 0; r < n_roots; r++)
            if (roots[r] >= 0) roots[r] = map[roots[r]];
        ir_free(old);
        *gp = g;
    }
    free(cand); free(back); free(need); free(dz); free(df); free(late); free(map); free(copy);
}

Schedule *sched_build(Program *p)
{
    Schedule *s = calloc(1, sizeof *s);
    ir_assert(s);
    s->p = p;
    /* Roots that every pass keeps and renumbers: the six outputs, then the
     * state updates (dst, src, stat), then each parameter with its gradient. */
    int na = p->n_assign, nfix = 6 + 3 * na;
    int *roots = malloc(((size_t)nfix + 2 * (size_t)p->g->len) * sizeof *roots);
    ir_assert(roots);
    int fr[6] = {p->fake, p->sample, p->d_loss, p->g_loss, p->d_real, p->d_fake};
    memcpy(roots, fr, sizeof fr);
    for (int k = 0; k < na; k++) {
        roots[6 + 3 * k] = p->assign[k].dst;
        roots[7 + 3 * k] = p->assign[k].src;
        roots[8 + 3 * k] = p->assign[k].stat;
    }
    /* 1. forward simplification, then gradients of the stable forms */
    simplify(&p->g, roots, nfix);
    s->g = p->g;
    collect_params(s);
    for (int net = 0; net < 2; net++) s->grads[net] = malloc(((size_t)s->n_params[net] + 1) * sizeof(int));
    grad_build(s->g, roots[2], s->params[NET_D], s->n_params[NET_D], s->grads[NET_D], NULL);
    grad_build(s->g, roots[3], s->params[NET_G], s->n_params[NET_G], s->grads[NET_G], NULL);
    /* 2. lower and simplify again, everything that is needed as a root */
    int q = nfix;
    for (int net = 0; net < 2; net++)
        for (int k = 0; k < s->n_params[net]; k++) {
            roots[q++] = s->params[net][k];
            roots[q++] = s->grads[net][k];
        }
    for (int k = 0; k < s->n_bufs; k++) roots[q++] = s->bufs[k];
    simplify_lower(&p->g, roots, q);
    int xin = -1, zin = -1;
    for (int id = 0; id < p->g->len; id++)
        if (p->g->n[id].op == OP_INPUT && p->g->n[id].i[0] == IN_X) xin = id;
    order_branches(&p->g, roots, q, xin, roots[0]);
    for (int id = 0; id < p->g->len; id++)   /* order_branches renumbered the graph */
        if (p->g->n[id].op == OP_INPUT && p->g->n[id].i[0] == IN_Z) zin = id;
    int *ggrad = malloc(((size_t)s->n_params[NET_G] + 1) * sizeof *ggrad);
    ir_assert(ggrad);
    for (int k = 0; k < s->n_params[NET_G]; k++) ggrad[k] = roots[nfix + 2 * k + 1];
    recompute_g(&p->g, roots, q, roots[0], zin, ggrad, s->n_params[NET_G]);
    free(ggrad);
    clone_late(&p->g, roots, q);
    sign_from_input(p->g);
    s->g = p->g;
    q = nfix;
    for (int net = 0; net < 2; net++)
        for (int k = 0; k < s->n_params[net]; k++) {
            s->params[net][k] = roots[q++];
            s->grads[net][k] = roots[q++];
        }
    for (int k = 0; k < s->n_bufs; k++) s->bufs[k] = roots[q++];
    for (int k = 0; k < na; k++) {
        p->assign[k].dst = roots[6 + 3 * k];
        p->assign[k].src = roots[7 + 3 * k];
        p->assign[k].stat = roots[8 + 3 * k];
    }
    s->fake = roots[0]; s->sample = roots[1]; s->d_loss = roots[2]; s->g_loss = roots[3];
    s->d_real = roots[4]; s->d_fake = roots[5];
    s->x = s->z = -1;
    for (int id = 0; id < s->g->len; id++)
        if (s->g->n[id].op == OP_INPUT) {
            if (s->g->n[id].i[0] == IN_X) s->x = id;
            if (s->g->n[id].i[0] == IN_Z) s->z = id;
        }
    free(roots);
    layout(s);
    return s;
}

static const char *sec_names[SEC_COUNT] = {"g_forward", "d_step", "g_step", "g_sample"};

void sched_print_grad(FILE *f, const Schedule *s)
{
    for (int net = 0; net < 2; net++) {
        fprintf(f, "# gradients of %s\n", net == NET_D ? "d_loss" : "g_loss");
        ir_print(f, s->g, s->grads[net], s->n_params[net]);
        for (int k = 0; k < s->n_params[net]; k++)
            fprintf(f, "  d %s = %%%d\n", s->g->n[s->params[net][k]].name, s->grads[net][k]);
    }
}

/* The folded inputs of node id (seen through views), computed by its kernel. */
static void print_folded(FILE *f, const Schedule *s, int id)
{
    const Graph *g = s->g;
    for (int k = 0; k < g->n[id].n_in; k++) {
        int in = owner(g, g->n[id].in[k]);
        if (!s->folded[in]) continue;
        Op op = g->n[in].op;
        fprintf(f, "       %s ", op == OP_IM2COL ? "packs b from" : op == OP_SWAP01 ? "reads in place" :
                                 g->n[id].op == OP_COL2IM ? "sums product" : "stores product");
        ir_print_node(f, g, in);
        print_folded(f, s, in);
    }
}

void sched_print(FILE *f, const Schedule *s)
{
    static const char *kn[] = {"elem", "matmul", "reduce", "copy", "adam", "sgd", "gradcopy", "store"};
    const Graph *g = s->g;
    fprintf(f, "# arena %lld floats (%.2f MB)\n", (long long)s->arena, (double)s->arena * 4 / 1e6);
    if (s->peak > 0) {   /* where on the timeline: section and kernel, as plan() counts */
        int t = 0, q = 0, kk = 0, found = 0;
        for (q = 0; q < SEC_SAMPLE && !found; q++)
            for (kk = 0; kk < s->sec[q].n; kk++, t++) {
                if (s->sec[q].k[kk].absorbed) t--;
                if (t == s->peak_t) { found = 1; break; }
            }
        fprintf(f, "# peak: %.2f MB of the training step's values at %s kernel %d, the biggest:", (double)s->peak * 4 / 1e6,
                found ? sec_names[q - 1] : "?", kk);
        for (int k = 0; k < s->n_peak; k++) {
            fprintf(f, " %%%d %s", s->peak_id[k], ir_ops[g->n[s->peak_id[k]].op].name);
            fprintf(f, " %.2f MB%s", (double)s->peak_size[k] * 4 / 1e6, k + 1 < s->n_peak ? "," : "\n");
        }
    }
    for (int q = 0; q < SEC_COUNT; q++) {
        fprintf(f, "section %s:\n", sec_names[q]);
        for (int k = 0; k < s->sec[q].n; k++) {
            const Kernel *kk = &s->sec[q].k[k];
            fprintf(f, " kernel %d %s", k, kn[kk->kind]);
            if (kk->absorbed) fprintf(f, ", epilogue of kernel %d", k - 1);
            if (kk->kind == KN_ADAM || kk->kind == KN_SGD) fprintf(f, " %s, %lld floats", kk->net ? "D" : "G", (long long)s->p_len[kk->net]);
            if (kk->kind == KN_GRADCOPY || kk->kind == KN_STORE) fprintf(f, " %%%d -> @%lld", kk->node, (long long)kk->dst);
            fprintf(f, "\n");
            if (kk->kind == KN_ELEM)
                for (int m = 0; m < kk->n_members; m++) {
                    fprintf(f, "  %s", kk->out[m] ? "store" : s->remat[kk->members[m]] ? "remat" : "     ");
                    ir_print_node(f, g, kk->members[m]);
                }
            else if (kk->node >= 0 && kk->kind != KN_GRADCOPY && kk->kind != KN_STORE) {
                fprintf(f, "       ");
                ir_print_node(f, g, kk->node);
                print_folded(f, s, kk->node);
                if (s->adds_to[kk->node] >= 0) {
                    fprintf(f, "       %s", sched_adds(s, kk->node) ? "adds into  " : "writes into");
                    ir_print_node(f, g, s->adds_to[kk->node]);
                }
            }
        }
    }
}

/* A schedule of one section computing outs[] from the graph's sources, for
 * tests that compare compiled kernels with the interpreter.  Every source
 * gets its own buffer; outs stay in memory. */
Schedule *sched_graph(Graph *g, const int *outs, int n)
{
    Schedule *s = calloc(1, sizeof *s);
    ir_assert(s);
    s->g = g;
    s->d_loss = s->g_loss = s->d_real = s->d_fake = s->fake = s->sample = s->x = s->z = -1;
    size_t len = (size_t)g->len;
    char *in = calloc(len, 1), *root = calloc(len, 1), *pinned = calloc(len, 1);
    s->off = malloc(len * sizeof *s->off);
    s->adds_to = malloc((len + 1) * sizeof *s->adds_to);
    ir_assert(in && root && pinned && s->off && s->adds_to);
    for (size_t id = 0; id < len; id++) s->adds_to[id] = -1;
    ancestors(g, outs, n, in);
    for (int k = 0; k < n; k++) root[outs[k]] = 1;
    int64_t top = align_up(GANRT_S_COUNT);
    s->scalars = 0;
    for (size_t id = 0; id < len; id++) {
        s->off[id] = -1;
        if (g->n[id].op == OP_INPUT || g->n[id].op == OP_PARAM) {
            s->off[id] = top;
            top += align_up(ir_numel(g->n[id].shape) ? ir_numel(g->n[id].shape) : 1);
        }
    }
    s->folded = find_folded(g, root);
    s->remat = find_remat(g, &in, 1, root);
    int *users = user_counts(g);
    build_section(s, &s->sec[SEC_GFWD], in, root, users);
    free(users);
    int one[1] = {SEC_GFWD};
    top = plan(s, one, 1, top, pinned, root, 0, NULL, NULL);   /* outs are read after the section */
    for (size_t id = 0; id < len; id++)
        if (g->n[id].op == OP_RESHAPE) s->off[id] = s->off[owner(g, (int)id)];
    s->arena = align_up(top);
    free(in); free(root); free(pinned);
    return s;
}

void sched_free(Schedule *s)
{
    if (!s) return;
    for (int q = 0; q < SEC_COUNT; q++) {
        for (int k = 0; k < s->sec[q].n; k++) {
            free(s->sec[q].k[k].members);
            free(s->sec[q].k[k].out);
        }
        free(s->sec[q].k);
    }
    for (int net = 0; net < 2; net++) {
        free(s->params[net]);
        free(s->grads[net]);
    }
    free(s->bufs);
    free(s->folded);
    free(s->remat);
    free(s->adds_to);
    free(s->off);
    free(s);
}
