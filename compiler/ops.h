/* ops.h: the op table, the single place that says what each graph op is.
 *
 * One row per op:  X(NAME, "name", arity, kind, grad)
 *   arity  number of inputs (-1: variadic)
 *   kind   K_SOURCE  no inputs, value given (input, param, const, random)
 *          K_ELEM    elementwise over equal shapes: fusible into a loop
 *          K_BCAST   reads its input broadcast over the output: fusible as a load
 *          K_REDUCE  sums its input down to a smaller shape
 *          K_MATMUL  matrix product (batch_matmul: a product per index of axis 0)
 *          K_VIEW    no computation, same buffer (reshape)
 *          K_COPY    data movement and spatial rearrangement (concat, slice,
 *                    transpose, im2col, col2im, pooling, padding, Winograd
 *                    transforms): a kernel each
 *   grad   the gradient rule in grad.c (grad_NAME), or 0 when the op is only
 *          produced by differentiation and has no rule yet.
 * The *_GRAD ops take (forward value, dy); relu and leaky_relu's take the
 * input or the output, whose signs agree.
 * Shape rules live in ir.c (ir_infer), evaluation in interp.c, code in cg.c:
 * each is one switch over this enum, and tests/opcheck walks every row.
 */
/*  op          name           arity kind      grad */
#define GANC_OPS(X) \
  X(INPUT,      "input",        0, K_SOURCE, 0) \
  X(PARAM,      "param",        0, K_SOURCE, 0) \
  X(CONST,      "const",        0, K_SOURCE, 0) \
  X(DROPMASK,   "dropmask",     0, K_SOURCE, 0) \
  X(ADD,        "add",          2, K_ELEM,   1) \
  X(SUB,        "sub",          2, K_ELEM,   1) \
  X(MUL,        "mul",          2, K_ELEM,   1) \
  X(DIV,        "div",          2, K_ELEM,   1) \
  X(AFFINE,     "affine",       1, K_ELEM,   1) \
  X(NEG,        "neg",          1, K_ELEM,   1) \
  X(RELU,       "relu",         1, K_ELEM,   1) \
  X(LRELU,      "leaky_relu",   1, K_ELEM,   1) \
  X(TANH,       "tanh",         1, K_ELEM,   1) \
  X(SIGMOID,    "sigmoid",      1, K_ELEM,   1) \
  X(LOG,        "log",          1, K_ELEM,   1) \
  X(EXP,        "exp",          1, K_ELEM,   1) \
  X(SOFTPLUS,   "softplus",     1, K_ELEM,   1) \
  X(ABS,        "abs",          1, K_ELEM,   1) \
  X(SQUARE,     "square",       1, K_ELEM,   1) \
  X(RSQRT,      "rsqrt",        1, K_ELEM,   1) \
  X(RELU_GRAD,  "relu_grad",    2, K_ELEM,   0) \
  X(LRELU_GRAD, "leaky_relu_grad", 2, K_ELEM, 0) \
  X(TANH_GRAD,  "tanh_grad",    2, K_ELEM,   0) \
  X(SIGM_GRAD,  "sigmoid_grad", 2, K_ELEM,   0) \
  X(SIGN,       "sign",         1, K_ELEM,   0) \
  X(BCAST,      "broadcast",    1, K_BCAST,  1) \
  X(REDUCE,     "reduce_sum",   1, K_REDUCE, 1) \
  X(MATMUL,     "matmul",       2, K_MATMUL, 1) \
  X(BMATMUL,    "batch_matmul", 2, K_MATMUL, 1) \
  X(RESHAPE,    "reshape",      1, K_VIEW,   1) \
  X(CONCAT,     "concat",       2, K_COPY,   1) \
  X(SLICE,      "slice",        1, K_COPY,   1) \
  X(TRANSPOSE,  "transpose",    1, K_COPY,   1) \
  X(SWAP01,     "swap01",       1, K_COPY,   1) \
  X(IM2COL,     "im2col",       1, K_COPY,   1) \
  X(COL2IM,     "col2im",       1, K_COPY,   1) \
  X(AVGPOOL,    "avgpool",      1, K_COPY,   1) \
  X(UPSAMPLE,   "upsample",     1, K_COPY,   1) \
  X(PAD,        "pad",          1, K_COPY,   1) \
  X(WINO_IN,    "wino_in",      1, K_COPY,   1) \
  X(WINO_OUT,   "wino_out",     1, K_COPY,   1) \
  X(WINO_W,     "wino_w",       1, K_COPY,   1)
