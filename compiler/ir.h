/* ir.h: the graph IR shared by every stage of ganc.
 *
 * A Graph is a list of Nodes in SSA form: each node is one tensor op whose
 * inputs are earlier nodes (so the list is always in topological order).
 * Shapes are static and include the batch dimension.  Nodes are created only
 * through ir_add(), which checks arity and infers the shape with the op's
 * rule; on a shape error it returns -1 and leaves a message in g->err for the
 * caller to report at the user's location.
 */
#ifndef GANC_IR_H
#define GANC_IR_H
#include <stdint.h>
#include <stdio.h>
#include "ops.h"

typedef enum {
#define X(op, name, arity, kind, grad) OP_##op,
    GANC_OPS(X)
#undef X
    OP_COUNT
} Op;

typedef enum { K_SOURCE, K_ELEM, K_BCAST, K_REDUCE, K_MATMUL, K_VIEW, K_COPY } OpKind;

typedef struct {
    const char *name;
    int arity;
    OpKind kind;
    int has_grad;
} OpInfo;
extern const OpInfo ir_ops[OP_COUNT];

/* A source location: file, 1-based line and column, and the length of the
 * span for the caret run. */
typedef struct {
    const char *file;
    int line, col, len;
} Loc;

#define IR_MAXRANK 5
typedef struct {
    int rank;
    int64_t d[IR_MAXRANK];
} Shape;

/* How a K_BCAST / K_REDUCE maps between the small and the big shape.
 * The big shape is [B, C, rest...]; the small one is: */
typedef enum {
    MAP_SCALAR,   /* []          : every element */
    MAP_BATCH,    /* [C, rest...]: the same for every batch row (params) */
    MAP_CHANNEL,  /* [C]         : per channel, axis 1 (bias, batchnorm) */
    MAP_ROW,      /* [B]         : per batch row */
} MapMode;

/* Roles of INPUT nodes. */
typedef enum { IN_X, IN_Z, IN_Y, IN_OTHER } InputRole;

/* Which network a parameter belongs to. */
typedef enum { NET_G, NET_D } Net;

/* Parameter initialisation, mirrors GanrtInit in runtime/ganrt.h. */
typedef enum { INIT_ZERO, INIT_ONE, INIT_UNIFORM, INIT_NORMAL } Init;

typedef struct {
    Op op;
    int n_in;
    int in[4];
    Shape shape;
    /* attributes, meaning per op:
     *   CONST      f[0] value
     *   AFFINE     y = f[0] * x + f[1]
     *   LRELU(_GRAD) f[0] negative slope
     *   DROPMASK   f[0] drop probability; mask values are 0 or 1/(1-p)
     *   BCAST/REDUCE i[0] MapMode
     *   MATMUL     i[0] transpose a, i[1] transpose b (2-D operands)
     *   CONCAT/SLICE i[0] axis, SLICE i[1] start
     *   INPUT      i[0] InputRole
     *   PARAM      i[0] Net, i[1] Init, f[0] init bound/std (f[1] the mean
     *              for INIT_NORMAL), i[2] 1 for a buffer (not trained), name
     *   IM2COL     cv = {kh, kw, stride, pad, dilation}: [B,C,H,W] ->
     *              [C*kh*kw, B*Y*X], row (c,ky,kx), column (b,y,x)
     *   COL2IM     the adjoint of IM2COL, to the given [B,C,H,W] (sums overlaps)
     *   SWAP01     swaps the first two axes
     *   AVGPOOL/UPSAMPLE i[0] factor k (window k, stride k / nearest, k times)
     *   PAD        i[0] zeros added on each side of H and W (negative: cropped)
     */
    double f[2];
    int i[3];
    int cv[5];
    const char *name;   /* PARAM: PyTorch-style name "G.0.weight"; others: optional label */
    Loc loc;            /* the user code that caused this node */
} Node;

typedef struct {
    Node *n;
    int len, cap;
    char err[256];      /* message of the last failed ir_add */
} Graph;

Graph *ir_new(void);
void ir_free(Graph *g);
/* Adds a node; returns its id, or -1 with g->err set on a shape error. */
int ir_add(Graph *g, Op op, const int *in, int n_in, const double *f, const int *i, Loc loc);
/* Sources need their shape given. */
int ir_source(Graph *g, Op op, Shape s, const double *f, const int *i, const char *name, Loc loc);
/* Convenience builders (abort on shape errors: for compiler-made nodes only). */
int ir_un(Graph *g, Op op, int a, Loc loc);
int ir_bin(Graph *g, Op op, int a, int b, Loc loc);
int ir_affine(Graph *g, int a, double scale, double shift, Loc loc);
int ir_const(Graph *g, double v, Shape s, Loc loc);
int ir_reshape(Graph *g, int a, Shape s, Loc loc);
int ir_bcast(Graph *g, int a, Shape big, MapMode m, Loc loc);
int ir_reduce(Graph *g, int a, MapMode m, Loc loc);
/* a·b with optional transposes; -1 with g->err on a size mismatch. */
int ir_matmul(Graph *g, int a, int b, int ta, int tb, Loc loc);
/* BCAST, RESHAPE and SLICE take their result shape s (SLICE: the slice's
 * length along the axis is s.d[axis]); -1 with g->err on a bad shape. */
int ir_add_shaped(Graph *g, Op op, int a, Shape s, const int *i, Loc loc);
/* The element of a broadcast's small tensor that element e of `big` reads. */
int64_t ir_map_index(Shape big, MapMode m, int64_t e);
/* A node like nd (op, inputs, attributes; the shape for sources and for
 * ops whose shape is given) added to g: for passes that rebuild graphs. */
int ir_add_like(Graph *g, const Node *nd);
/* IM2COL of x, and COL2IM of cols to shape `out`; cv = {kh, kw, stride,
 * pad, dilation}.  -1 with g->err on a bad geometry. */
int ir_im2col(Graph *g, int x, const int cv[5], Loc loc);
int ir_col2im(Graph *g, int cols, Shape out, const int cv[5], Loc loc);
/* The output size of a convolution along one axis, or <= 0 when none. */
int64_t ir_conv_out(int64_t in, int k, int stride, int pad, int dil);

/* A k x k convolution of stride s (k a multiple of s, no dilation) is s*s
 * stride-1 r x r correlations (r = k/s), one per polyphase component of the
 * padded image: component (a, b) of channel c is xpad[s*i + a][s*j + b], and
 * kernel tap (u, v) of it is w[s*u + a][s*v + b].  Each is computed in
 * tiles of m x m outputs from A x A inputs (A = m + r - 1) as
 *     Y = AT [(G g Gᵀ) ⊙ (BT d BTᵀ)] ATᵀ        (Winograd's F(m x m, r x r))
 * and the sum over input channels and components becomes, per point xi of
 * the A x A transform domain, one product (BMATMUL, Uᵀ V):
 *   WINO_W   w [Co,C,k,k]  -> U [A*A, C*s*s, Co]     U = G g Gᵀ (transposed:
 *                                                 output channels contiguous)
 *   WINO_IN  x [B,C,H,W]   -> V [A*A, C*s*s, T*B]    V = BT d BTᵀ
 *   WINO_OUT M [A*A,Co,T*B] -> y [B,Co,Y,X]          y = AT M ATᵀ, cropped
 * T = ty*tx tiles per image; column t*B + b is tile t of image b.  The
 * matrices come from Toom-Cook interpolation at A-1 points and infinity. */
typedef struct {
    int k, s, p, m, r, A;
    int64_t Y, X, ty, tx;   /* the convolution's output size and tiles */
} Wino;
/* The geometry of WINO_* node nd (its image: the input of WINO_IN / W,
 * the output of WINO_OUT, the other way round for adjoints). */
Wino ir_wino(const Node *nd, Shape img);
/* AT [m*A], G [A*r], BT [A*A], row-major. */
void ir_wino_mats(int m, int r, double *AT, double *G, double *BT);
/* The WINO_* op for image (or transform) x; out: the result shape when the
 * result is an image (WINO_OUT, the adjoints of WINO_IN and WINO_W; ignored
 * otherwise).  k must be a multiple of s, at least 2s.  -1 with g->err on a
 * bad geometry. */
int ir_wino_op(Graph *g, Op op, int x, const int cv[5], Shape out, Loc loc);
int ir_bmatmul(Graph *g, int a, int b, int ta, int tb, Loc loc);

/* ir_shape(rank, d0, d1, ...): ir_shape(2, 64, 100) is [64,100]. */
#define ir_shape(...) ir_shape_a((const int64_t[]){__VA_ARGS__})
Shape ir_shape_a(const int64_t *rank_then_dims);
int64_t ir_numel(Shape s);
int ir_shape_eq(Shape a, Shape b);
char *ir_shape_str(Shape s, char *buf, size_t n);   /* "[64,100]" */
void ir_print(FILE *f, const Graph *g, const int *roots, int n_roots);
void ir_print_node(FILE *f, const Graph *g, int id);

/* Internal errors: the compiler's own bugs, never shown as user errors. */
#define ir_assert(c) ((c) ? (void)0 : ir_die(__FILE__, __LINE__, #c))
_Noreturn void ir_die(const char *file, int line, const char *msg);

#endif
