/* ganc.h: the compiler's stages and what passes between them.
 *
 *   parse   (grammar/gan.y, parse.c)  source  -> Ast        ast.h
 *   sema    (sema.c)                  Ast     -> Program    names, shapes, the graph
 *   simplify(simplify.c)              Program -> Program    stable forms, CSE, DCE
 *   sched   (sched.c)                 Program -> Schedule   autodiff, sections, fusion, memory plan
 *   cg      (cg.c)                    Schedule-> LLVM module -> object file
 *   link    (link.c)                  object + libganrt.a -> executable
 * Diagnostics (diag.c) are shared by all stages.
 */
#ifndef GANC_H
#define GANC_H
#include "ir.h"

/* ---- diagnostics (diag.c) ---- */
/* Registers a source text so diagnostics can quote its lines. */
void diag_source(const char *file, const char *text);
/* file:line:col: error: msg, the source line and a caret run under loc. */
void diag_error(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_warning(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_note(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int diag_errors(void);          /* errors reported so far */
void diag_reset(void);          /* forget the count (one process, many inputs: the fuzzer) */
void diag_set_stream(FILE *f);  /* default stderr */

/* ---- what sema produces ---- */
typedef enum { DATA_RING, DATA_GRID, DATA_IDX, DATA_FOLDER } DataKind;   /* = GanrtData */
typedef enum { NOISE_NORMAL, NOISE_UNIFORM } NoiseKind;        /* = GanrtNoise */
typedef enum { OPT_ADAM, OPT_SGD } OptKind;

typedef struct {
    OptKind kind;
    double lr, beta1, beta2, eps, momentum;
} OptSpec;

typedef struct {
    const char *name;          /* base name of the .gan file, e.g. "ring" */
    const char *path;          /* the .gan file */
    char source_hash[17];      /* FNV-1a 64 of the source, hex */

    DataKind data;
    const char *data_path;     /* IDX file or image folder, resolved relative to the .gan file's folder
                                  if it does not exist relative to the cwd */
    int data_modes;
    double data_radius, data_std;
    Shape data_shape;          /* per sample, without batch: [2] or [1,28,28] */

    NoiseKind noise;
    int64_t noise_dim;
    double noise_lo, noise_hi;

    int batch;
    int64_t steps;
    int n_critic;
    int64_t sample_every, checkpoint_every;
    OptSpec opt[2];            /* indexed by Net */
    double ema;                /* `ema G 0.999`: decay of G's weight average; 0: none */

    /* The graph: one graph holds everything; node ids below index it.
     * PARAM nodes carry name, net, init.  D and G are instantiated per call
     * with shared PARAM nodes.  G(z) in training mode is one node `fake`
     * shared by both objectives. */
    Graph *g;
    int x, z;                  /* INPUT nodes: real batch [B,...], noise [B,noise_dim] */
    int fake;                  /* G(z), training mode */
    int sample;                /* G(z), evaluation mode (dropout off) */
    int d_loss, g_loss;        /* scalars to MINIMISE (sema negates a `max D:`) */
    int d_real, d_fake;        /* scalar metrics: mean D(x), mean D(G(z)) as probabilities, or -1 */

    /* State updates made by a training step (batchnorm running statistics):
     * after the section that computes `stat`, buffer `dst` (a PARAM node with
     * i[2] = 1) takes the value of `src`. */
    /* state updates: dst := src after the section that computes stat, or
     * (sec >= 0) after section sec: a D instance's batchnorm updates belong
     * to the step whose objective statement made the instance, even when
     * simplify merges it with an instance of the other step */
    struct Assign { int dst, src, stat, sec; } *assign;
    int n_assign;
} Program;

/* sema.c: builds the Program from a parsed file.  Returns NULL after
 * reporting errors with diag_error. */
struct Ast;
Program *sema_program(struct Ast *ast, const char *path, const char *source);

/* ---- autodiff (grad.c) ---- */
/* Appends to g the gradient of scalar `loss` with respect to each of
 * wrt[0..n-1]; grads[k] receives the node id of d loss / d wrt[k] (a CONST 0
 * node when loss does not depend on it).  Nodes in `stop` (sorted bool array
 * of g->len, or NULL) are treated as constants. */
void grad_build(Graph *g, int loss, const int *wrt, int n, int *grads, const char *stop);

/* ---- simplify.c ---- */
/* Rewrites g in place into a new graph: stable forms of log(sigmoid(.)),
 * log(1-sigmoid(.)), constant folding, common subexpressions.  roots[] are
 * updated to their new ids; nodes unreachable from roots are dropped. */
void simplify(Graph **g, int *roots, int n_roots);
/* The same, and products with b transposed become transpose + product,
 * except those simplify_keeps_bt() accepts: cg.c computes them as dot
 * products along k without moving b when k is long enough for vectors
 * (measured on the benchmark models: also for long k with big a), or with
 * 128 rows of a or more (64 when k is under 128) in panels gathered from
 * b's rows, and packs
 * panels of bᵀ straight from the image when b is an IM2COL (a convolution's
 * weight gradient), which a transpose would have to materialise. */
void simplify_lower(Graph **g, int *roots, int n_roots);
static inline int simplify_keeps_bt(const Graph *g, const Node *mm)
{
    const Node *b = &g->n[mm->in[1]];
    return b->op == OP_IM2COL || (!mm->i[0] && b->shape.d[1] >= 32);
}

/* ---- interp.c: the reference interpreter, double precision ---- */
/* vals[k] must be preset (length numel) for INPUT, PARAM and DROPMASK
 * nodes; every other node's value is computed and stored (malloc'd). */
void interp_run(const Graph *g, double **vals);
void interp_free(const Graph *g, double **vals);


/* ---- sched.c: from Program to a Schedule of kernels over one arena ---- */
typedef enum { KN_ELEM, KN_MATMUL, KN_REDUCE, KN_COPY, KN_ADAM, KN_SGD, KN_GRADCOPY, KN_STORE } KernelKind;

typedef struct {
    KernelKind kind;
    int node;          /* MATMUL/REDUCE/COPY: the node; GRADCOPY: source node; STORE: scalar node */
    int *members;      /* ELEM: the fused nodes, in order */
    char *out;         /* ELEM: member k is written to memory */
    int n_members;
    int net;           /* ADAM/SGD: which network */
    int64_t dst;       /* GRADCOPY/STORE: destination offset */
    int64_t len;       /* GRADCOPY: floats */
    int epi;           /* MATMUL/COPY of a panel product: 1 + index of the ELEM kernel
                          it runs as its epilogue, on each block of its result as the
                          block is finished; 0: none */
    char absorbed;     /* ELEM: run as the epilogue of the kernel before it */
    char to_grad;      /* GRADCOPY: dst is relative to net's gradient region until planned */
} Kernel;

enum { SEC_GFWD, SEC_DSTEP, SEC_GSTEP, SEC_SAMPLE, SEC_COUNT };

typedef struct {
    Kernel *k;
    int n, cap;
} Section;

typedef struct {
    Program *p;
    Graph *g;                 /* the final graph: forward, gradients, lowered */
    Section sec[SEC_COUNT];
    int64_t *off;             /* arena offset of each node's value, -1 if never in memory */
    int64_t arena;            /* floats */
    int64_t scalars;          /* offset of the GANRT_S_* slots */
    int *params[2], n_params[2], *grads[2];
    int *bufs, n_bufs;        /* buffers (PARAM nodes with i[2] = 1), both nets */
    int64_t b_off;            /* their region: persistent, not trained */
    int64_t p_off[2], g_off[2], m_off[2], v_off[2], p_len[2];   /* g_off: transient, from a
                                 network's first gradient to its optimizer kernel */
    int64_t e_off;            /* G's weight average (p->ema), laid out as G's parameters; -1: none */
    char *folded;             /* nodes computed inside the kernel that reads them, never in
                                 memory: IM2COLs whose products gather from the image,
                                 products that their COL2IM sums straight into its image or
                                 their SWAP01 stores in its layout, and SWAP01s whose
                                 products read their input in place */
    char *remat;              /* cheap elementwise nodes never stored: each consumer (an
                                 elementwise kernel or a sum) recomputes them from their
                                 inputs, which stay live for it */
    int *adds_to;             /* a weight's gradient that sums the products of the real and
                                 the fake batch is computed in its place in the gradient
                                 region: the first product writes it, the second adds to it
                                 (adds_to[either] = the sum), and the sum has no kernel
                                 (adds_to[sum] = itself); else -1 */
    int d_loss, g_loss, d_real, d_fake, fake, sample, x, z;   /* node ids in g */
    int64_t flops;            /* per training iteration */
    int64_t peak;             /* floats of the training step's transient values live at once, at most */
    int peak_t, n_peak;       /* when (a kernel's place on the timeline), and the n_peak biggest */
    int peak_id[8];           /* values then (a node and those that take its buffer over, or a */
    int64_t peak_size[8];     /* gradient), largest first */
} Schedule;

/* Whether product id is the second of a gradient summed in place (adds into
 * what the first wrote), not the first (writes it). */
static inline int sched_adds(const Schedule *s, int id)
{
    int a = s->adds_to[id];
    if (a < 0 || a == id) return 0;
    const Node *sum = &s->g->n[a];
    return id == (sum->in[0] > sum->in[1] ? sum->in[0] : sum->in[1]);
}

/* Differentiates, lowers, simplifies and plans the program.  Consumes p->g. */
Schedule *sched_build(Program *p);
/* The node whose buffer node id uses: id itself, or what its reshapes view. */
int sched_owner(const Graph *g, int id);
/* Frees the schedule (not its graph, which the Program owns). */
void sched_free(Schedule *s);
/* One section (SEC_GFWD) computing outs[] from g's INPUT/PARAM nodes, for
 * tests; s->p is NULL and no optimizer or descriptor is generated. */
Schedule *sched_graph(Graph *g, const int *outs, int n);
/* --emit=grad / --emit=fused listings. */
void sched_print_grad(FILE *f, const Schedule *s);
void sched_print(FILE *f, const Schedule *s);

#endif
