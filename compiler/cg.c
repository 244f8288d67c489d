/* cg.c: code generation through the LLVM C API.
 *
 * Turns a Schedule into an LLVM module: one function per kernel,
 *     void k<N>_<what>(float *arena, i64 lo, i64 hi)
 * processing items [lo, hi) of its iteration space by calling the kernel's
 * body with the arena offsets of its buffers (kernels equal but for those
 * offsets share one body, see CG_SLOTS), one step function per
 * section that runs its kernels in order (through ganrt_parallel when a
 * kernel is big enough to split), and the `ganc_model` descriptor of
 * runtime/ganrt.h.  Target-specific choices (vector width, register tile)
 * are made once, in cg_target(), from the host CPU unless told otherwise.
 * Kernels are explicit loop nests over arena offsets fixed by the memory
 * plan; elementwise loops are left to LLVM's vectoriser, the matrix product
 * is written with explicit vectors and a register-blocked tile, and
 * convolutions never materialise their columns (implicit im2col and col2im
 * below).
 * Requires a Schedule from sched_build().
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <llvm-c/Core.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include "ganc.h"
#include "cg.h"
#include "ganrt.h"

/* A kernel body reads the arena offsets of its first CG_SLOTS buffers from
 * parameters: kernels that differ only in where their buffers lie (the same
 * layer's forward pass on real and on generated data, the same gradient copy
 * for every parameter) then have the same body, emitted and optimised once. */
#define CG_SLOTS 8

/* A kernel body emitted so far: its code as text (what makes two equal),
 * and the first kernel that calls it. */
typedef struct {
    uint64_t hash;
    char *text;
    LLVMValueRef fn, kernel;
} Body;

typedef struct {
    const Schedule *s;
    const Section *sec;    /* the section being emitted */
    LLVMContextRef cx;
    LLVMModuleRef m;
    LLVMBuilderRef b;
    LLVMTypeRef f32, f64, i1, i8, i32, i64, pf, kfn_t, kbody_t, stepfn_t, par_t, vec;
    LLVMValueRef fn, arena, par;
    LLVMValueRef f_exp[2], f_log[2], f_tanh[2];   /* [0] f32, [1] a vector of vw */
    int vw, mr;            /* vector width in floats, rows of the product tile */
    int nk;                /* kernels emitted */
    char kname[64];        /* the kernel being emitted */
    /* arena offsets the body being emitted takes as parameters, in order of
     * first use; n_slot = -1 outside kernel bodies (offsets are constants) */
    int64_t slot[CG_SLOTS];
    LLVMValueRef slot_fn[CG_SLOTS];   /* a function's address instead of an offset (fn_slot) */
    char slot_val[CG_SLOTS];          /* a number instead of an offset (val_slot) */
    int n_slot, n_epi;
    int last_n_slot;       /* n_slot of the body kernel_end finished last */
    LLVMTypeRef epi_t;     /* void (float *arena, i64, i64, i64, i64): epilogue functions */
    LLVMValueRef no_epi;   /* the empty one, for products without an epilogue */
    Body *bodies;
    int n_bodies, cap_bodies;
    /* memory accesses of the kernel being emitted, by buffer (arena offset),
     * for alias scopes: distinct buffers of one kernel never overlap */
    LLVMValueRef *acc_inst;
    int64_t *acc_off;
    int n_acc, cap_acc;
} Cg;

/* ---------- small builders ---------- */

static LLVMValueRef cf(Cg *c, double v) { return LLVMConstReal(c->f32, v); }
static LLVMValueRef ci(Cg *c, int64_t v) { return LLVMConstInt(c->i64, (unsigned long long)v, 1); }
static LLVMValueRef ci32(Cg *c, int64_t v) { return LLVMConstInt(c->i32, (unsigned long long)v, 1); }

static LLVMValueRef intrinsic(Cg *c, const char *name, LLVMTypeRef ret, LLVMTypeRef *args, int n)
{
    LLVMValueRef f = LLVMGetNamedFunction(c->m, name);
    if (!f) f = LLVMAddFunction(c->m, name, LLVMFunctionType(ret, args, (unsigned)n, 0));
    return f;
}

static LLVMValueRef call1(Cg *c, const char *name, LLVMTypeRef t, LLVMValueRef a, const char *nm)
{
    LLVMValueRef f = intrinsic(c, name, t, &t, 1);
    return LLVMBuildCall2(c->b, LLVMFunctionType(t, &t, 1, 0), f, &a, 1, nm);
}

static LLVMValueRef fma3(Cg *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d)
{
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMTypeRef ts[3] = {t, t, t};
    char name[40];
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind)
        snprintf(name, sizeof name, "llvm.fma.v%uf32", LLVMGetVectorSize(t));
    else
        snprintf(name, sizeof name, "llvm.fma.f32");
    LLVMValueRef f = intrinsic(c, name, t, ts, 3), args[3] = {a, b, d};
    return LLVMBuildCall2(c->b, LLVMFunctionType(t, ts, 3, 0), f, args, 3, "fma");
}

/* Arena offset off as a value: in a kernel body, the parameter that holds
 * it (see CG_SLOTS); elsewhere, or past CG_SLOTS buffers, a constant. */
static LLVMValueRef offset(Cg *c, int64_t off)
{
    for (int j = 0; j < c->n_slot; j++)
        if (c->slot[j] == off && !c->slot_val[j]) return LLVMGetParam(c->fn, 3 + (unsigned)j);
    if (c->n_slot < 0 || c->n_slot == CG_SLOTS) return ci(c, off);
    c->slot[c->n_slot] = off;
    return LLVMGetParam(c->fn, 3 + (unsigned)c->n_slot++);
}

/* The address of function f as an i64: in a kernel body, a parameter (the
 * kernel passes it), so bodies that differ only in the function they call
 * (a product's epilogue) are one body; elsewhere, or past CG_SLOTS, a
 * constant. */
static LLVMValueRef fn_slot(Cg *c, LLVMValueRef f)
{
    if (c->n_slot < 0 || c->n_slot == CG_SLOTS) return LLVMConstPtrToInt(f, c->i64);
    c->slot[c->n_slot] = INT64_MIN + c->n_slot;   /* never an offset */
    c->slot_fn[c->n_slot] = f;
    return LLVMGetParam(c->fn, 3 + (unsigned)c->n_slot++);
}

/* The number v as an i64: in a kernel body, a parameter (the kernel passes
 * it), so bodies that differ only in v are one body; elsewhere, or past
 * CG_SLOTS, a constant. */
static LLVMValueRef val_slot(Cg *c, int64_t v)
{
    if (c->n_slot < 0 || c->n_slot == CG_SLOTS) return ci(c, v);
    c->slot[c->n_slot] = v;
    c->slot_val[c->n_slot] = 1;
    return LLVMGetParam(c->fn, 3 + (unsigned)c->n_slot++);
}

/* Pointer to arena[off + idx] (idx may be NULL). */
static LLVMValueRef at(Cg *c, int64_t off, LLVMValueRef idx)
{
    LLVMValueRef o = offset(c, off);
    LLVMValueRef i = idx ? LLVMBuildAdd(c->b, idx, o, "") : o;
    return LLVMBuildInBoundsGEP2(c->b, c->f32, c->arena, &i, 1, "p");
}

/* Records that memory instruction i accesses the buffer at arena offset off. */
static LLVMValueRef tag(Cg *c, LLVMValueRef i, int64_t off)
{
    if (c->n_acc == c->cap_acc) {
        c->cap_acc = c->cap_acc ? 2 * c->cap_acc : 256;
        c->acc_inst = realloc(c->acc_inst, (size_t)c->cap_acc * sizeof *c->acc_inst);
        c->acc_off = realloc(c->acc_off, (size_t)c->cap_acc * sizeof *c->acc_off);
        ir_assert(c->acc_inst && c->acc_off);
    }
    c->acc_inst[c->n_acc] = i;
    c->acc_off[c->n_acc++] = off;
    return i;
}

static LLVMValueRef load(Cg *c, int64_t off, LLVMValueRef idx)
{
    return tag(c, LLVMBuildLoad2(c->b, c->f32, at(c, off, idx), "v"), off);
}

static void store(Cg *c, LLVMValueRef v, int64_t off, LLVMValueRef idx)
{
    tag(c, LLVMBuildStore(c->b, v, at(c, off, idx)), off);
}

/* Gives every tagged access of the finished kernel its buffer's alias scope
 * and declares it disjoint from the kernel's other buffers, so LLVM needs no
 * run-time overlap checks before vectorising. */
static void alias_scopes(Cg *c)
{
    int64_t offs[256];
    int n = 0;
    for (int k = 0; k < c->n_acc && n < 256; k++) {
        int seen = 0;
        for (int j = 0; j < n; j++) seen |= offs[j] == c->acc_off[k];
        if (!seen) offs[n++] = c->acc_off[k];
    }
    if (n < 2 || n == 256) { c->n_acc = 0; return; }
    LLVMMetadataRef dom_name = LLVMMDStringInContext2(c->cx, "ganc.arena", 10);
    LLVMMetadataRef dom = LLVMMDNodeInContext2(c->cx, &dom_name, 1), scopes[256];
    for (int j = 0; j < n; j++) {
        /* scopes of their own for each body: kernels inlined side by side into
         * a step function must not claim their buffers disjoint; named by
         * order, since a shared body serves buffers at many offsets */
        char name[96];
        int len = snprintf(name, sizeof name, "%s.buf.%d", c->kname, j);
        LLVMMetadataRef ops[2] = {LLVMMDStringInContext2(c->cx, name, (size_t)len), dom};
        scopes[j] = LLVMMDNodeInContext2(c->cx, ops, 2);
    }
    unsigned k_scope = LLVMGetMDKindIDInContext(c->cx, "alias.scope", 11);
    unsigned k_noalias = LLVMGetMDKindIDInContext(c->cx, "noalias", 7);
    LLVMValueRef own[256], others[256];
    for (int j = 0; j < n; j++) {
        own[j] = LLVMMetadataAsValue(c->cx, LLVMMDNodeInContext2(c->cx, &scopes[j], 1));
        LLVMMetadataRef rest[256];
        int m = 0;
        for (int q = 0; q < n; q++) if (q != j) rest[m++] = scopes[q];
        others[j] = LLVMMetadataAsValue(c->cx, LLVMMDNodeInContext2(c->cx, rest, (size_t)m));
    }
    for (int k = 0; k < c->n_acc; k++) {
        int j = 0;
        while (offs[j] != c->acc_off[k]) j++;
        LLVMSetMetadata(c->acc_inst[k], k_scope, own[j]);
        LLVMSetMetadata(c->acc_inst[k], k_noalias, others[j]);
    }
    c->n_acc = 0;
}

/* ---------- loops: for (iv = lo; iv < hi; iv++) ---------- */
typedef struct {
    LLVMBasicBlockRef head, body, exit;
    LLVMValueRef iv;
} Loop;

static LLVMValueRef loop_begin(Cg *c, Loop *l, LLVMValueRef lo, LLVMValueRef hi, const char *name)
{
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(c->b);
    l->head = LLVMAppendBasicBlockInContext(c->cx, c->fn, name);
    l->body = LLVMAppendBasicBlockInContext(c->cx, c->fn, "body");
    l->exit = LLVMAppendBasicBlockInContext(c->cx, c->fn, "exit");
    LLVMBuildBr(c->b, l->head);
    LLVMPositionBuilderAtEnd(c->b, l->head);
    l->iv = LLVMBuildPhi(c->b, c->i64, name);
    LLVMAddIncoming(l->iv, &lo, &pre, 1);
    LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, l->iv, hi, "more"), l->body, l->exit);
    LLVMPositionBuilderAtEnd(c->b, l->body);
    return l->iv;
}

static void loop_end(Cg *c, Loop *l)
{
    LLVMValueRef next = LLVMBuildAdd(c->b, l->iv, ci(c, 1), "next");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
    LLVMAddIncoming(l->iv, &next, &latch, 1);
    LLVMBuildBr(c->b, l->head);
    LLVMPositionBuilderAtEnd(c->b, l->exit);
}

/* Starts the body of kernel k<N>_<what>; returns its lo, hi.  The body is
 * void (float *arena, i64 lo, i64 hi, i64 o0, ..., i64 o<CG_SLOTS-1>). */
static void kernel_begin(Cg *c, const char *what, LLVMValueRef *lo, LLVMValueRef *hi)
{
    snprintf(c->kname, sizeof c->kname, "k%d_%s", c->nk++, what);
    char name[80];
    snprintf(name, sizeof name, "%s_body", c->kname);
    c->n_acc = 0;
    c->n_slot = 0;
    for (int j = 0; j < CG_SLOTS; j++) c->slot_fn[j] = NULL, c->slot_val[j] = 0;
    c->fn = LLVMAddFunction(c->m, name, c->kbody_t);
    LLVMSetLinkage(c->fn, LLVMInternalLinkage);
    c->arena = LLVMGetParam(c->fn, 0);
    LLVMSetValueName2(c->arena, "arena", 5);
    *lo = LLVMGetParam(c->fn, 1);
    *hi = LLVMGetParam(c->fn, 2);
    LLVMSetValueName2(*lo, "lo", 2);
    LLVMSetValueName2(*hi, "hi", 2);
    for (int j = 0; j < CG_SLOTS; j++) {
        char o[8];
        int len = snprintf(o, sizeof o, "o%d", j);
        LLVMSetValueName2(LLVMGetParam(c->fn, 3 + (unsigned)j), o, (size_t)len);
    }
    unsigned kind = LLVMGetEnumAttributeKindForName("noalias", 7);
    LLVMAddAttributeAtIndex(c->fn, 1, LLVMCreateEnumAttribute(c->cx, kind, 0));
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->cx, c->fn, "entry"));
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* A growing string. */
typedef struct {
    char *s;
    size_t len, cap;
} Buf;

static void put(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n >= b->cap) {
        b->cap = 2 * (b->len + (size_t)n) + 256;
        b->s = realloc(b->s, b->cap);
        ir_assert(b->s);
        va_start(ap, fmt);
        vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* Numbers of a body's parameters, blocks and instructions: an open
 * addressing table from value to number. */
typedef struct {
    LLVMValueRef *key;
    int *num, cap;
} Numbers;

static int *number_slot(Numbers *t, LLVMValueRef v)
{
    size_t h = ((uintptr_t)v >> 4) * 0x9E3779B97F4A7C15u;
    for (int k = (int)(h % (size_t)t->cap);; k = (k + 1) % t->cap)
        if (!t->key[k] || t->key[k] == v) {
            t->key[k] = v;
            return &t->num[k];
        }
}

/* Types and constants are unique in their context: equal if and only if
 * the same object, so the text names them by address (printing them was
 * most of the time this text took). */
static void put_type(Buf *b, LLVMTypeRef t)
{
    put(b, " t%p", (void *)t);
}

static void put_operand(Buf *b, Numbers *t, LLVMValueRef v)
{
    if (LLVMIsAInstruction(v) || LLVMIsAArgument(v) || LLVMValueIsBasicBlock(v)) {
        put(b, " %%%d", *number_slot(t, v));
    } else if (LLVMIsAFunction(v)) {
        size_t len;
        const char *name = LLVMGetValueName2(v, &len);
        put(b, " @%.*s", (int)len, name);
    } else if (LLVMIsAConstantInt(v)) {
        put(b, " i%u:%lld", LLVMGetIntTypeWidth(LLVMTypeOf(v)), LLVMConstIntGetSExtValue(v));
    } else if (LLVMIsAConstantFP(v)) {
        LLVMBool lost;
        put(b, " f:%a", LLVMConstRealGetDouble(v, &lost));
    } else {   /* vectors, undef, null: unique in the context too */
        put(b, " c%p", (void *)v);
    }
}

/* The code of the finished body as text, for comparing bodies: for every
 * instruction its opcode, type and operands (parameters, blocks and
 * instructions by number, constants by value, functions by name) and what
 * else of it cg.c's builders can vary: predicates, alignment, inbounds,
 * shuffle masks, allocated types and phis' blocks.  (LLVM's printer would
 * do, but walks the whole module for every function it prints.)  Only for
 * comparing bodies of one module. */
static char *body_text(LLVMValueRef fn)
{
    int n = (int)LLVMCountParams(fn);
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
        n++;
        for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i)) n++;
    }
    Numbers t = {calloc(2 * (size_t)n, sizeof *t.key), malloc(2 * (size_t)n * sizeof *t.num), 2 * n};
    ir_assert(t.key && t.num);
    int k = 0;   /* numbered before use: phis refer to later instructions */
    for (unsigned j = 0; j < LLVMCountParams(fn); j++) *number_slot(&t, LLVMGetParam(fn, j)) = k++;
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
        *number_slot(&t, LLVMBasicBlockAsValue(bb)) = k++;
        for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i)) *number_slot(&t, i) = k++;
    }
    Buf b = {malloc(4096), 0, 4096};
    ir_assert(b.s);
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb)) {
        put(&b, "%%%d:\n", *number_slot(&t, LLVMBasicBlockAsValue(bb)));
        for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i)) {
            LLVMOpcode op = LLVMGetInstructionOpcode(i);
            put(&b, "%%%d = %d", *number_slot(&t, i), (int)op);
            put_type(&b, LLVMTypeOf(i));
            if (op == LLVMICmp) put(&b, " p%d", (int)LLVMGetICmpPredicate(i));
            if (op == LLVMFCmp) put(&b, " p%d", (int)LLVMGetFCmpPredicate(i));
            if (op == LLVMLoad || op == LLVMStore || op == LLVMAlloca) put(&b, " a%u", LLVMGetAlignment(i));
            if (op == LLVMAlloca) put_type(&b, LLVMGetAllocatedType(i));
            if (op == LLVMGetElementPtr) put(&b, " ib%d", LLVMIsInBounds(i));
            if (op == LLVMShuffleVector)
                for (unsigned m = 0; m < LLVMGetNumMaskElements(i); m++) put(&b, " m%d", LLVMGetMaskValue(i, m));
            for (int o = 0; o < LLVMGetNumOperands(i); o++) put_operand(&b, &t, LLVMGetOperand(i, (unsigned)o));
            if (op == LLVMPHI)
                for (unsigned q = 0; q < LLVMCountIncoming(i); q++)
                    put_operand(&b, &t, LLVMBasicBlockAsValue(LLVMGetIncomingBlock(i, q)));
            put(&b, "\n");
        }
    }
    free(t.key);
    free(t.num);
    return b.s;
}

static void add_attr(Cg *c, LLVMValueRef fn, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c->cx, kind, 0));
}

/* Marks a body and the kernels calling it: the body is not inlined (a
 * shared one would be copied back into every caller; one called once would
 * be optimised twice, alone and again inlined in its kernel, which cost a
 * quarter of the optimiser's time; LLVM still propagates the offsets of a
 * body called once into it), and the kernels, which only pass their offsets
 * on, are not optimised: LLVM's fixed cost per optimised function was 2.5%
 * of the instructions ganc ran for bench/dcgan64.gan. */
static void share(Cg *c, const Body *bd, LLVMValueRef kernel)
{
    add_attr(c, bd->fn, "noinline");
    LLVMValueRef k[2] = {bd->kernel, kernel};
    for (int j = 0; j < 2; j++) {
        add_attr(c, k[j], "noinline");
        add_attr(c, k[j], "optnone");
    }
}

/* The body equal to the finished one (c->fn) emitted earlier, or the
 * finished one, now remembered (*fresh = 1).  Compares the code before
 * alias scopes are attached. */
static Body *shared_body(Cg *c, int *fresh)
{
    char *text = body_text(c->fn);
    uint64_t h = fnv1a(text);
    *fresh = 0;
    for (int k = 0; k < c->n_bodies; k++)
        if (c->bodies[k].hash == h && !strcmp(c->bodies[k].text, text)) {
            free(text);
            return &c->bodies[k];
        }
    if (c->n_bodies == c->cap_bodies) {
        c->cap_bodies = c->cap_bodies ? 2 * c->cap_bodies : 64;
        c->bodies = realloc(c->bodies, (size_t)c->cap_bodies * sizeof *c->bodies);
        ir_assert(c->bodies);
    }
    *fresh = 1;
    c->bodies[c->n_bodies] = (Body){h, text, c->fn, NULL};
    return &c->bodies[c->n_bodies++];
}

/* Finishes the kernel: its body (or an equal earlier one) is called by the
 * kernel proper, void k<N>_<what>(float *arena, i64 lo, i64 hi), with this
 * kernel's offsets; c->fn is then the kernel. */
static void kernel_end(Cg *c)
{
    LLVMBuildRetVoid(c->b);
    int fresh;
    Body *bd = shared_body(c, &fresh);
    if (fresh) {
        alias_scopes(c);
    } else {
        LLVMDeleteFunction(c->fn);
        c->n_acc = 0;
    }
    LLVMValueRef args[3 + CG_SLOTS];
    c->last_n_slot = c->n_slot;
    c->fn = LLVMAddFunction(c->m, c->kname, c->kfn_t);
    LLVMSetLinkage(c->fn, LLVMInternalLinkage);
    for (int j = 0; j < 3; j++) args[j] = LLVMGetParam(c->fn, (unsigned)j);
    for (int j = 0; j < CG_SLOTS; j++)
        args[3 + j] = j < c->n_slot && c->slot_fn[j] ? LLVMConstPtrToInt(c->slot_fn[j], c->i64)
                                                      : ci(c, j < c->n_slot ? c->slot[j] : 0);
    c->n_slot = -1;
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->cx, c->fn, "entry"));
    LLVMBuildCall2(c->b, c->kbody_t, bd->fn, args, 3 + CG_SLOTS, "");
    LLVMBuildRetVoid(c->b);
    if (fresh) bd->kernel = c->fn;
    share(c, bd, c->fn);
}

/* ---------- math: inlined, in a scalar and a vector version ---------- */

static LLVMValueRef kconst(Cg *c, LLVMTypeRef t, int64_t v);

/* The float type (f32, or a vector of vw when vec) and its i32 twin. */
static LLVMTypeRef ftype(Cg *c, int vec) { return vec ? c->vec : c->f32; }
static LLVMTypeRef itype(Cg *c, int vec) { return vec ? LLVMVectorType(c->i32, (unsigned)c->vw) : c->i32; }
static int is_vec(LLVMValueRef x) { return LLVMGetTypeKind(LLVMTypeOf(x)) == LLVMVectorTypeKind; }

static LLVMValueRef math_begin(Cg *c, const char *name, int vec, LLVMValueRef *x)
{
    LLVMTypeRef t = ftype(c, vec);
    LLVMTypeRef ft = LLVMFunctionType(t, &t, 1, 0);
    char full[48];
    snprintf(full, sizeof full, "%s%s", name, vec ? "_v" : "");
    LLVMValueRef f = LLVMAddFunction(c->m, full, ft);
    LLVMSetLinkage(f, LLVMInternalLinkage);
    unsigned kind = LLVMGetEnumAttributeKindForName("alwaysinline", 12);
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c->cx, kind, 0));
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->cx, f, "entry"));
    *x = LLVMGetParam(f, 0);
    return f;
}

static LLVMValueRef kf(Cg *c, LLVMValueRef like, double v);

static LLVMValueRef poly(Cg *c, LLVMValueRef x, const double *k, int n)
{
    LLVMValueRef y = kf(c, x, k[0]);
    for (int i = 1; i < n; i++) y = fma3(c, y, x, kf(c, x, k[i]));
    return y;
}

static LLVMValueRef fsel(Cg *c, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b, LLVMValueRef t, LLVMValueRef f)
{
    return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, p, a, b, "cmp"), t, f, "sel");
}

/* Scalar x (of any type) in every lane of a vector of vw. */
static LLVMValueRef vsplat(Cg *c, LLVMValueRef x)
{
    LLVMValueRef zeros[64];
    for (int l = 0; l < c->vw; l++) zeros[l] = ci32(c, 0);
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)c->vw);
    LLVMValueRef v = LLVMBuildInsertElement(c->b, LLVMGetUndef(vt), x, ci32(c, 0), "");
    return LLVMBuildShuffleVector(c->b, v, LLVMGetUndef(vt), LLVMConstVector(zeros, (unsigned)c->vw), "splat");
}

/* The constant v, a vector when `like` is one. */
static LLVMValueRef kf(Cg *c, LLVMValueRef like, double v)
{
    if (!like || LLVMGetTypeKind(LLVMTypeOf(like)) != LLVMVectorTypeKind) return cf(c, v);
    LLVMValueRef k[64];
    for (int l = 0; l < c->vw; l++) k[l] = cf(c, v);
    return LLVMConstVector(k, (unsigned)c->vw);
}

/* The float intrinsic base ("llvm.sqrt") of a, for a's type (f32 or a vector). */
static LLVMValueRef call_f(Cg *c, const char *base, LLVMValueRef a)
{
    LLVMTypeRef t = LLVMTypeOf(a);
    char name[48];
    if (LLVMGetTypeKind(t) == LLVMVectorTypeKind) snprintf(name, sizeof name, "%s.v%uf32", base, LLVMGetVectorSize(t));
    else snprintf(name, sizeof name, "%s.f32", base);
    return call1(c, name, t, a, "");
}

/* exp: range reduction by ln 2, Cephes polynomial, scale by 2^n. */
static void emit_exp(Cg *c, int vec)
{
    LLVMValueRef x;
    c->f_exp[vec] = math_begin(c, "ganc_exp", vec, &x);
    LLVMTypeRef it = itype(c, vec);
    x = fsel(c, LLVMRealOGT, x, kf(c, x, 88.7), kf(c, x, 88.7), x);
    x = fsel(c, LLVMRealOLT, x, kf(c, x, -87.3), kf(c, x, -87.3), x);   /* also maps NaN? no: NaN stays */
    LLVMValueRef n = call_f(c, "llvm.floor", LLVMBuildFAdd(c->b, LLVMBuildFMul(c->b, x, kf(c, x, 1.44269504088896341), ""), kf(c, x, 0.5), ""));
    LLVMValueRef r = fma3(c, n, kf(c, x, -0.693359375), x);
    r = fma3(c, n, kf(c, x, 2.12194440e-4), r);
    static const double k[] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3, 4.1665795894E-2,
                               1.6666665459E-1, 5.0000001201E-1};
    LLVMValueRef p = poly(c, r, k, 6);
    LLVMValueRef y = fma3(c, p, LLVMBuildFMul(c->b, r, r, ""), LLVMBuildFAdd(c->b, r, kf(c, x, 1), ""));
    LLVMValueRef e = LLVMBuildShl(c->b, LLVMBuildAdd(c->b, LLVMBuildFPToSI(c->b, n, it, ""), kconst(c, it, 127), ""), kconst(c, it, 23), "");
    LLVMBuildRet(c->b, LLVMBuildFMul(c->b, y, LLVMBuildBitCast(c->b, e, ftype(c, vec), ""), "exp"));
}

/* log: split mantissa and exponent, Cephes polynomial. */
static void emit_log(Cg *c, int vec)
{
    LLVMValueRef x;
    c->f_log[vec] = math_begin(c, "ganc_log", vec, &x);
    LLVMTypeRef it = itype(c, vec), ft = ftype(c, vec);
    LLVMValueRef bits = LLVMBuildBitCast(c->b, x, it, "");
    LLVMValueRef e = LLVMBuildSIToFP(c->b, LLVMBuildSub(c->b, LLVMBuildLShr(c->b, bits, kconst(c, it, 23), ""), kconst(c, it, 126), ""), ft, "e");
    LLVMValueRef m = LLVMBuildBitCast(c->b, LLVMBuildOr(c->b, LLVMBuildAnd(c->b, bits, kconst(c, it, 0x007fffff), ""), kconst(c, it, 0x3f000000), ""), ft, "m");
    LLVMValueRef small = LLVMBuildFCmp(c->b, LLVMRealOLT, m, kf(c, x, 0.707106781186547524), "small");
    e = LLVMBuildSelect(c->b, small, LLVMBuildFSub(c->b, e, kf(c, x, 1), ""), e, "");
    m = LLVMBuildSelect(c->b, small, LLVMBuildFSub(c->b, LLVMBuildFAdd(c->b, m, m, ""), kf(c, x, 1), ""),
                        LLVMBuildFSub(c->b, m, kf(c, x, 1), ""), "");
    LLVMValueRef z = LLVMBuildFMul(c->b, m, m, "z");
    static const double k[] = {7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
                               1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
                               3.3333331174E-1};
    LLVMValueRef y = LLVMBuildFMul(c->b, LLVMBuildFMul(c->b, poly(c, m, k, 9), m, ""), z, "");
    y = fma3(c, e, kf(c, x, -2.12194440e-4), y);
    y = fma3(c, z, kf(c, x, -0.5), y);
    LLVMValueRef r = fma3(c, e, kf(c, x, 0.693359375), LLVMBuildFAdd(c->b, m, y, ""));
    /* x = 0 -> -inf; x < 0 or NaN -> NaN; +inf -> +inf; denormals -> as 0 */
    r = fsel(c, LLVMRealOLT, x, kf(c, x, 1.17549435e-38), kf(c, x, -INFINITY), r);
    r = fsel(c, LLVMRealULT, x, kf(c, x, 0), kf(c, x, NAN), r);
    r = fsel(c, LLVMRealOEQ, x, kf(c, x, INFINITY), kf(c, x, INFINITY), r);
    LLVMBuildRet(c->b, r);
}

/* A call of math function f[] (its version for x's type). */
static LLVMValueRef c_math(Cg *c, LLVMValueRef *f, LLVMValueRef x, const char *name)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    return LLVMBuildCall2(c->b, LLVMFunctionType(t, &t, 1, 0), f[is_vec(x)], &x, 1, name);
}

static LLVMValueRef c_exp(Cg *c, LLVMValueRef x) { return c_math(c, c->f_exp, x, "exp"); }
static LLVMValueRef c_log(Cg *c, LLVMValueRef x) { return c_math(c, c->f_log, x, "log"); }

/* tanh: odd polynomial near 0, 1 - 2/(e^2|x| + 1) elsewhere. */
static void emit_tanh(Cg *c, int vec)
{
    LLVMValueRef x;
    c->f_tanh[vec] = math_begin(c, "ganc_tanh", vec, &x);
    LLVMValueRef a = call_f(c, "llvm.fabs", x);
    LLVMValueRef z = LLVMBuildFMul(c->b, x, x, "z");
    static const double k[] = {-5.70498872745E-3, 2.06390887954E-2, -5.37397155531E-2, 1.33314422036E-1,
                               -3.33332819422E-1};
    LLVMValueRef small = fma3(c, LLVMBuildFMul(c->b, poly(c, z, k, 5), z, ""), x, x);
    LLVMValueRef t = c_exp(c, LLVMBuildFMul(c->b, a, kf(c, x, 2), ""));
    LLVMValueRef big = LLVMBuildFSub(c->b, kf(c, x, 1), LLVMBuildFDiv(c->b, kf(c, x, 2), LLVMBuildFAdd(c->b, t, kf(c, x, 1), ""), ""), "");
    LLVMTypeRef ft = ftype(c, vec), t2[2] = {ft, ft};
    LLVMValueRef args[2] = {big, x};
    char name[40];
    snprintf(name, sizeof name, vec ? "llvm.copysign.v%df32" : "llvm.copysign.f32", c->vw);
    big = LLVMBuildCall2(c->b, LLVMFunctionType(ft, t2, 2, 0), intrinsic(c, name, ft, t2, 2), args, 2, "");
    LLVMBuildRet(c->b, fsel(c, LLVMRealOLT, a, kf(c, x, 0.625), small, big));
}

static LLVMValueRef csigmoid(Cg *c, LLVMValueRef x)
{
    return LLVMBuildFDiv(c->b, kf(c, x, 1), LLVMBuildFAdd(c->b, kf(c, x, 1), c_exp(c, LLVMBuildFNeg(c->b, x, "")), ""), "sigmoid");
}

/* ---------- elementwise groups ---------- */

/* Where an elementwise loop is in the tensor [B, C, ...] it runs over: the
 * flat index e and, when the loop knows them without dividing e (which
 * would keep LLVM from vectorising it), the batch row b, the channel ch and
 * the index q within the batch row; NULL: computed from e.  With vec set,
 * the loop computes vw elements at once, e to e + vw - 1 (lanes off in
 * mask, if any, are neither read nor written): e and q step by one per
 * lane, b is the same for all lanes, ch too unless ch_lanes. */
typedef struct { LLVMValueRef e, b, ch, q, mask; char vec, ch_lanes; } ElemAt;

static LLVMValueRef dropmask(Cg *c, const Node *nd, int id, LLVMValueRef e)
{
    LLVMValueRef seedf = load(c, c->s->scalars + GANRT_S_SEED, NULL);
    LLVMValueRef seed = LLVMBuildBitCast(c->b, seedf, c->i32, "seed");
    LLVMValueRef h = LLVMBuildMul(c->b, LLVMBuildTrunc(c->b, e, c->i32, ""), ci32(c, (int32_t)0x9E3779B1u), "");
    h = LLVMBuildXor(c->b, h, LLVMBuildXor(c->b, seed, ci32(c, (int64_t)id * 0x632BE5AB), ""), "");
    h = LLVMBuildXor(c->b, h, LLVMBuildLShr(c->b, h, ci32(c, 16), ""), "");
    h = LLVMBuildMul(c->b, h, ci32(c, (int32_t)0x85EBCA6Bu), "");
    h = LLVMBuildXor(c->b, h, LLVMBuildLShr(c->b, h, ci32(c, 13), ""), "");
    h = LLVMBuildMul(c->b, h, ci32(c, (int32_t)0xC2B2AE35u), "");
    h = LLVMBuildXor(c->b, h, LLVMBuildLShr(c->b, h, ci32(c, 16), ""), "");
    LLVMValueRef u = LLVMBuildFMul(c->b, LLVMBuildUIToFP(c->b, LLVMBuildLShr(c->b, h, ci32(c, 8), ""), c->f32, ""), cf(c, 1.0 / 16777216.0), "u");
    return fsel(c, LLVMRealOLT, u, cf(c, nd->f[0]), cf(c, 0), cf(c, 1 / (1 - nd->f[0])));
}

static LLVMValueRef bcast_index(Cg *c, Shape big, MapMode m, const ElemAt *at);
static int bcast_lanes(Shape big, MapMode m, const ElemAt *at);
static LLVMValueRef vload(Cg *c, int64_t off, LLVMValueRef idx, LLVMValueRef mask);
static void vstore(Cg *c, LLVMValueRef v, int64_t off, LLVMValueRef idx, LLVMValueRef mask);

static LLVMValueRef elem_value(Cg *c, const Node *nd, int id, LLVMValueRef a, LLVMValueRef b, const ElemAt *at);

/* Value of node `id`, read from outside the group, at `at`. */
static LLVMValueRef input(Cg *c, int id, const ElemAt *at)
{
    const Graph *g = c->s->g;
    const Node *nd = &g->n[id];
    LLVMValueRef like = at->vec ? LLVMGetUndef(c->vec) : NULL;
    if (nd->op == OP_CONST) return kf(c, like, nd->f[0]);
    if (nd->op == OP_BCAST) {   /* recomputed from its source, see sched.c inlined() */
        const Node *src = &g->n[nd->in[0]];
        if (src->op == OP_CONST) return kf(c, like, src->f[0]);
        int64_t o = c->s->off[nd->in[0]];
        LLVMValueRef i = bcast_index(c, nd->shape, (MapMode)nd->i[0], at);
        if (!at->vec) return load(c, o, i);
        return bcast_lanes(nd->shape, (MapMode)nd->i[0], at) ? vload(c, o, i, at->mask) : vsplat(c, load(c, o, i));
    }
    if (c->s->remat[id]) {   /* recomputed here, see sched.c find_remat */
        LLVMValueRef a = nd->n_in > 0 ? input(c, nd->in[0], at) : NULL, b = nd->n_in > 1 ? input(c, nd->in[1], at) : NULL;
        return elem_value(c, nd, id, a, b, at);
    }
    ir_assert(c->s->off[id] >= 0);
    if (at->vec) return vload(c, c->s->off[id], at->e, at->mask);
    return load(c, c->s->off[id], at->e);
}

static LLVMValueRef elem_value(Cg *c, const Node *nd, int id, LLVMValueRef a, LLVMValueRef b, const ElemAt *at)
{
    LLVMBuilderRef B = c->b;
    switch (nd->op) {
    case OP_CONST: return kf(c, a ? a : at && at->vec ? LLVMGetUndef(c->vec) : NULL, nd->f[0]);
    case OP_DROPMASK: return dropmask(c, nd, id, at->e);
    case OP_ADD: return LLVMBuildFAdd(B, a, b, "add");
    case OP_SUB: return LLVMBuildFSub(B, a, b, "sub");
    case OP_MUL: return LLVMBuildFMul(B, a, b, "mul");
    case OP_DIV: return LLVMBuildFDiv(B, a, b, "div");
    case OP_AFFINE: return fma3(c, a, kf(c, a, nd->f[0]), kf(c, a, nd->f[1]));
    case OP_NEG: return LLVMBuildFNeg(B, a, "neg");
    case OP_RELU: return fsel(c, LLVMRealOGT, a, kf(c, a, 0), a, kf(c, a, 0));
    case OP_LRELU: return fsel(c, LLVMRealOGT, a, kf(c, a, 0), a, LLVMBuildFMul(B, a, kf(c, a, nd->f[0]), ""));
    case OP_TANH: return c_math(c, c->f_tanh, a, "tanh");
    case OP_SIGMOID: return csigmoid(c, a);
    case OP_LOG: return c_log(c, a);
    case OP_EXP: return c_exp(c, a);
    case OP_SOFTPLUS: {
        LLVMValueRef pos = fsel(c, LLVMRealOGT, a, kf(c, a, 0), a, kf(c, a, 0));
        LLVMValueRef na = LLVMBuildFNeg(B, call_f(c, "llvm.fabs", a), "");
        return LLVMBuildFAdd(B, pos, c_log(c, LLVMBuildFAdd(B, kf(c, a, 1), c_exp(c, na), "")), "softplus");
    }
    case OP_ABS: return call_f(c, "llvm.fabs", a);
    case OP_SQUARE: return LLVMBuildFMul(B, a, a, "sq");
    case OP_RSQRT: return LLVMBuildFDiv(B, kf(c, a, 1), call_f(c, "llvm.sqrt", a), "rsqrt");
    case OP_RELU_GRAD: return fsel(c, LLVMRealOGT, a, kf(c, a, 0), b, kf(c, a, 0));
    case OP_LRELU_GRAD: return fsel(c, LLVMRealOGT, a, kf(c, a, 0), b, LLVMBuildFMul(B, b, kf(c, a, nd->f[0]), ""));
    case OP_TANH_GRAD: return LLVMBuildFMul(B, b, fma3(c, LLVMBuildFNeg(B, a, ""), a, kf(c, a, 1)), "dtanh");
    case OP_SIGM_GRAD:
        return LLVMBuildFMul(B, LLVMBuildFMul(B, b, a, ""), LLVMBuildFSub(B, kf(c, a, 1), a, ""), "dsigmoid");
    case OP_SIGN:
        return fsel(c, LLVMRealOGT, a, kf(c, a, 0), kf(c, a, 1), fsel(c, LLVMRealOLT, a, kf(c, a, 0), kf(c, a, -1), kf(c, a, 0)));
    default: ir_die(__FILE__, __LINE__, "not an elementwise op");
    }
}

/* Index into the small tensor of a broadcast, at `at` in big. */
static LLVMValueRef bcast_index(Cg *c, Shape big, MapMode m, const ElemAt *at)
{
    int64_t n = ir_numel(big), per_row = big.rank ? n / big.d[0] : 1, sp = 1;
    LLVMValueRef e = at->e;
    switch (m) {
    case MAP_SCALAR: return ci(c, 0);
    case MAP_BATCH: return per_row == 1 ? ci(c, 0) : at->q ? at->q : LLVMBuildURem(c->b, e, ci(c, per_row), "col");
    case MAP_ROW: return at->b ? at->b : LLVMBuildUDiv(c->b, e, ci(c, per_row), "row");
    case MAP_CHANNEL:
        if (big.rank < 2) return ci(c, 0);
        if (at->ch) return at->ch;
        for (int k = 2; k < big.rank; k++) sp *= big.d[k];
        return LLVMBuildURem(c->b, LLVMBuildUDiv(c->b, e, ci(c, sp), ""), ci(c, big.d[1]), "ch");
    }
    return ci(c, 0);
}


/* Whether, in a vector loop at `at`, the index bcast_index gives varies by
 * lane (one per lane, from the first lane's) rather than being the same for
 * every lane. */
static int bcast_lanes(Shape big, MapMode m, const ElemAt *at)
{
    int64_t n = ir_numel(big), per_row = big.rank ? n / big.d[0] : 1;
    switch (m) {
    case MAP_BATCH: return per_row > 1;
    case MAP_CHANNEL: return big.rank >= 2 && at->ch_lanes;
    default: return 0;
    }
}

/* Whether node id can be computed vw lanes at a time in a loop that knows
 * the batch row (b), and the channel when ch_known: its op and those it is
 * recomputed from have vector forms here, and its broadcasts need no
 * division of the index. */
static int vec_node(Cg *c, int id, int ch_known, int member)
{
    const Node *nd = &c->s->g->n[id];
    if (nd->op == OP_DROPMASK) return 0;
    if (nd->op == OP_BCAST)
        return nd->i[0] != MAP_CHANNEL || c->s->g->n[nd->in[0]].op == OP_CONST || nd->shape.rank < 2 || ch_known;
    if (!member && !c->s->remat[id]) return 1;   /* loaded */
    for (int k = 0; k < nd->n_in; k++)
        if (!vec_node(c, nd->in[k], ch_known, 0)) return 0;
    return 1;
}

static int vec_kernel(Cg *c, const Kernel *k, int ch_known)
{
    for (int m = 0; m < k->n_members; m++)
        if (!vec_node(c, k->members[m], ch_known, 1)) return 0;
    return 1;
}

/* The members of elementwise kernel k at `at`, storing those it writes to
 * memory. */
static void elem_members(Cg *c, const Kernel *k, const ElemAt *at)
{
    const Graph *g = c->s->g;
    LLVMValueRef *val = calloc((size_t)g->len, sizeof *val);
    char *member = calloc((size_t)g->len, 1);
    ir_assert(val && member);
    /* every input first: an output may take the buffer of an input that
     * dies here (sched.c plan), so no load may follow a store */
    for (int m = 0; m < k->n_members; m++) member[k->members[m]] = 1;
    for (int m = 0; m < k->n_members; m++) {
        const Node *nd = &g->n[k->members[m]];
        for (int j = 0; j < nd->n_in && nd->op != OP_BCAST; j++)
            if (!member[nd->in[j]] && !val[nd->in[j]]) val[nd->in[j]] = input(c, nd->in[j], at);
    }
    free(member);
    for (int m = 0; m < k->n_members; m++) {
        int id = k->members[m];
        const Node *nd = &g->n[id];
        LLVMValueRef a = NULL, b = NULL;
        if (nd->op == OP_BCAST) {
            val[id] = input(c, id, at);
        } else {
            if (nd->n_in > 0) a = val[nd->in[0]] ? val[nd->in[0]] : input(c, nd->in[0], at);
            if (nd->n_in > 1) b = val[nd->in[1]] ? val[nd->in[1]] : input(c, nd->in[1], at);
            val[id] = elem_value(c, nd, id, a, b, at);
        }
        if (!k->out[m]) continue;
        if (at->vec) vstore(c, val[id], c->s->off[id], at->e, at->mask);
        else store(c, val[id], c->s->off[id], at->e);
    }
    free(val);
}

/* Whether node id is a per-channel broadcast or (`top`: a member; else a
 * value recomputed) is computed from one. */
static int chan_bcast(Cg *c, int id, int top)
{
    const Node *nd = &c->s->g->n[id];
    if (nd->op == OP_BCAST) return nd->i[0] == MAP_CHANNEL;
    if (!top && !c->s->remat[id]) return 0;
    for (int k = 0; k < nd->n_in; k++)
        if (chan_bcast(c, nd->in[k], 0)) return 1;
    return 0;
}

static LLVMValueRef below_mask(Cg *c, LLVMValueRef first, LLVMValueRef limit);

/* A loop over lo .. hi-1 a vector at a time: returns the first index of
 * the vector, with *mask its lanes below hi (NULL when len, the loop's
 * length if known (else -1), is a multiple of the vector). */
static LLVMValueRef vloop_begin(Cg *c, Loop *l, LLVMValueRef lo, LLVMValueRef hi, int64_t len, LLVMValueRef *mask,
                                const char *name)
{
    LLVMValueRef n = LLVMBuildSDiv(c->b, LLVMBuildAdd(c->b, LLVMBuildSub(c->b, hi, lo, ""), ci(c, c->vw - 1), ""), ci(c, c->vw), "nv");
    LLVMValueRef v = loop_begin(c, l, ci(c, 0), n, name);
    LLVMValueRef p = LLVMBuildAdd(c->b, lo, LLVMBuildMul(c->b, v, ci(c, c->vw), ""), "");
    *mask = len >= 0 && len % c->vw == 0 ? NULL : below_mask(c, p, hi);
    return p;
}

/* An elementwise loop over rows of the batch, or over (batch, channel)
 * planes when a member broadcasts per channel over planes of at least a
 * vector: then what it loads per channel stays put in the inner loop.
 * The inner loop computes a vector at a time when every member can
 * (vec_kernel) and a row holds a vector: the last one masked, LLVM's
 * vectoriser has nothing left to do (and no scalar remainder to build). */
static LLVMValueRef emit_elem(Cg *c, const Kernel *k, int64_t *items, int64_t *grain)
{
    const Graph *g = c->s->g;
    Shape sh = g->n[k->members[0]].shape;
    int any = 0, chan = 0;
    int64_t sp = 1;
    for (int d = 2; d < sh.rank; d++) sp *= sh.d[d];
    for (int m = 0; m < k->n_members; m++) {
        any |= k->out[m];
        chan |= chan_bcast(c, k->members[m], 1) && sh.rank >= 3 && sp >= c->vw;
    }
    if (!any) return NULL;
    int64_t rows = sh.rank < 2 ? 1 : chan ? sh.d[0] * sh.d[1] : sh.d[0], inner = ir_numel(sh) / rows;
    LLVMValueRef lo, hi;
    kernel_begin(c, ir_ops[g->n[k->members[k->n_members - 1]].op].name, &lo, &hi);
    Loop lr, li;
    LLVMValueRef r = loop_begin(c, &lr, lo, hi, "row");
    ElemAt at = {0};
    if (chan) {
        at.b = LLVMBuildUDiv(c->b, r, ci(c, sh.d[1]), "b");
        at.ch = LLVMBuildURem(c->b, r, ci(c, sh.d[1]), "ch");
    } else if (sh.rank >= 2) {
        at.b = r;
    }
    at.vec = sh.rank >= 2 && inner >= c->vw && vec_kernel(c, k, chan || sh.rank == 2);
    LLVMValueRef q = at.vec ? vloop_begin(c, &li, ci(c, 0), ci(c, inner), inner, &at.mask, "iv")
                            : loop_begin(c, &li, ci(c, 0), ci(c, inner), "i");
    at.e = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, r, ci(c, inner), ""), q, "e");
    if (chan) at.q = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, at.ch, ci(c, sp), ""), q, "");
    else if (sh.rank >= 2) at.q = q;
    if (sh.rank == 2) { at.ch = q; at.ch_lanes = 1; }
    elem_members(c, k, &at);
    loop_end(c, &li);
    loop_end(c, &lr);
    kernel_end(c);
    *items = rows;
    *grain = inner >= 4096 ? 1 : (4096 + inner - 1) / inner;
    return c->fn;
}

static LLVMValueRef imax(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, a, b, ""), a, b, "max");
}

static LLVMValueRef imin(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, a, b, ""), a, b, "min");
}

/* ---------- matrix product C[M,N] = op(A)[M,K] B[K,N] ---------- */

/* A vector of vw floats at ptr, lanes off in `mask` (NULL: all on) read as 0. */
static LLVMValueRef vec_load_m(Cg *c, int64_t off, LLVMValueRef ptr, LLVMValueRef mask)
{
    LLVMTypeRef pv = LLVMPointerType(c->vec, 0);
    ptr = LLVMBuildBitCast(c->b, ptr, pv, "");
    if (!mask) {
        LLVMValueRef v = LLVMBuildLoad2(c->b, c->vec, ptr, "b");
        LLVMSetAlignment(v, 4);
        return tag(c, v, off);
    }
    LLVMTypeRef ts[4] = {pv, c->i32, LLVMVectorType(c->i1, (unsigned)c->vw), c->vec};
    char name[64];
    snprintf(name, sizeof name, "llvm.masked.load.v%df32.p0v%df32", c->vw, c->vw);
    LLVMValueRef f = intrinsic(c, name, c->vec, ts, 4);
    LLVMValueRef args[4] = {ptr, ci32(c, 4), mask, LLVMConstNull(c->vec)};
    return tag(c, LLVMBuildCall2(c->b, LLVMFunctionType(c->vec, ts, 4, 0), f, args, 4, "bm"), off);
}

static void vec_store_m(Cg *c, int64_t off, LLVMValueRef v, LLVMValueRef ptr, LLVMValueRef mask)
{
    LLVMTypeRef pv = LLVMPointerType(c->vec, 0);
    ptr = LLVMBuildBitCast(c->b, ptr, pv, "");
    if (!mask) {
        LLVMValueRef st = LLVMBuildStore(c->b, v, ptr);
        LLVMSetAlignment(st, 4);
        tag(c, st, off);
        return;
    }
    LLVMTypeRef vt = LLVMVoidTypeInContext(c->cx);
    LLVMTypeRef ts[4] = {c->vec, pv, c->i32, LLVMVectorType(c->i1, (unsigned)c->vw)};
    char name[64];
    snprintf(name, sizeof name, "llvm.masked.store.v%df32.p0v%df32", c->vw, c->vw);
    LLVMValueRef f = intrinsic(c, name, vt, ts, 4);
    LLVMValueRef args[4] = {v, ptr, ci32(c, 4), mask};
    tag(c, LLVMBuildCall2(c->b, LLVMFunctionType(vt, ts, 4, 0), f, args, 4, ""), off);
}

/* load() and store() a vector at a time: arena[off + idx ...], lanes off in
 * mask (NULL: all on) not accessed. */
static LLVMValueRef vload(Cg *c, int64_t off, LLVMValueRef idx, LLVMValueRef mask)
{
    return vec_load_m(c, off, at(c, off, idx), mask);
}

static void vstore(Cg *c, LLVMValueRef v, int64_t off, LLVMValueRef idx, LLVMValueRef mask)
{
    vec_store_m(c, off, v, at(c, off, idx), mask);
}

/* The mask of the first `lanes` lanes (a constant), NULL when all. */
static LLVMValueRef lanes_mask(Cg *c, int lanes)
{
    if (lanes >= c->vw) return NULL;
    LLVMValueRef m[64];
    for (int l = 0; l < c->vw; l++) m[l] = LLVMConstInt(c->i1, l < lanes, 0);
    return LLVMConstVector(m, (unsigned)c->vw);
}

static LLVMValueRef vec_load(Cg *c, int64_t off, LLVMValueRef ptr, int lanes)
{
    return vec_load_m(c, off, ptr, lanes_mask(c, lanes));
}

/* Lanes l with first + l < limit (run-time values), as a mask. */
static LLVMValueRef below_mask(Cg *c, LLVMValueRef first, LLVMValueRef limit)
{
    LLVMValueRef iota[64];
    for (int l = 0; l < c->vw; l++) iota[l] = ci32(c, l);
    LLVMValueRef room = LLVMBuildTrunc(c->b, LLVMBuildSub(c->b, limit, first, ""), c->i32, "room");
    return LLVMBuildICmp(c->b, LLVMIntSLT, LLVMConstVector(iota, (unsigned)c->vw), vsplat(c, room), "lanes");
}

/* The product C = op(A)·B is computed panel by panel: a panel is 2vw
 * columns of B, packed MM_KC rows at a time into a buffer on the stack
 * (contiguous, zero past N, so it stays in L1 and reads need no mask), then
 * every register tile of mr rows of C in the item's row range multiplies it.
 * With K > MM_KC, tiles add into C after the first block.  An item covers
 * up to MM_MC rows: each packed panel (for an implicit im2col, gathered
 * from the image, as dear as a quarter of the products it feeds at 64
 * rows) serves that many; 256 rows take 10% less time than 64 on dcgan64
 * (measured side by side, one thread each), and A's block of them (256 KB)
 * stays in L2. */
#define MM_KC 256
#define MM_MC 256
#define MM_BT_ROWS 128
#define MM_BT_SHORT_K 128

/* A vector at ptr, a multiple of vw floats into a 64-byte aligned buffer on
 * the stack (the packed panel, tile buffers): aligned to its own size. */
static LLVMValueRef stack_load(Cg *c, LLVMValueRef ptr)
{
    LLVMValueRef v = LLVMBuildLoad2(c->b, c->vec, LLVMBuildBitCast(c->b, ptr, LLVMPointerType(c->vec, 0), ""), "s");
    LLVMSetAlignment(v, (unsigned)(4 * c->vw));
    return v;
}

static void stack_store(Cg *c, LLVMValueRef v, LLVMValueRef ptr)
{
    LLVMSetAlignment(LLVMBuildStore(c->b, v, LLVMBuildBitCast(c->b, ptr, LLVMPointerType(c->vec, 0), "")), (unsigned)(4 * c->vw));
}

/* ---------- matrices in the layout of a folded SWAP01 ----------
 * A product reads and writes each matrix [R, N] through a Mat: element
 * (r, n) is at off + r*P + n + (n/P)*(R-1)*P.  A plain matrix has P = N, so
 * n/P is 0.  A matrix whose SWAP01 is folded (a conv's output [Cout,
 * B*OH*OW] stored as NCHW [B, Cout, OH*OW]; an NCHW gradient or deconv
 * input read as [C, B*H*W]) has P = the pixels of one image: column
 * n = b*P + p of row r is pixel p of channel r of image b.  The column part
 * of a vector of columns is computed once per panel; the vector is
 * contiguous unless it straddles images, which it cannot when P is a
 * multiple of the vector width (panels' vectors start at multiples of it:
 * at multiples of 2vw, or in a col2im's product at multiples of P).  A
 * vector that may straddle two images (P >= vw) is read and written as two
 * masked vectors, one per image; with P < vw its lanes are gathered and
 * scattered where they lie. */
typedef struct { int64_t off, R, N, P; } Mat;

/* The column part of vector j0 .. j0+vw-1.  When P is at least vw the
 * vector spans at most two images: at is the part of lane 0, the lanes in
 * `lo` follow it, the others follow at + (R-1)*P (lo NULL: all follow at).
 * When P < vw, lanes holds one i32 offset per lane (at is NULL). */
typedef struct { LLVMValueRef at, lo, lanes; } MatCols;

static LLVMValueRef lane_indices(Cg *c, LLVMValueRef j0);
static LLVMValueRef kconst(Cg *c, LLVMTypeRef t, int64_t v);
static LLVMValueRef gather(Cg *c, int64_t off, LLVMValueRef ptrs, LLVMValueRef mask);
static void scatter(Cg *c, int64_t off, LLVMValueRef v, LLVMValueRef ptrs, LLVMValueRef mask);

/* The SWAP01 folded under product operand id (seen through reshapes), or -1. */
static int folded_swap(Cg *c, int id)
{
    int o = sched_owner(c->s->g, id);
    return c->s->g->n[o].op == OP_SWAP01 && c->s->folded[o] ? o : -1;
}

/* Product operand id, [R, N], as stored: itself or its folded SWAP01's input
 * [B, R, P...]. */
static Mat mat_operand(Cg *c, int id)
{
    const Graph *g = c->s->g;
    Shape s = g->n[id].shape;
    int sw = folded_swap(c, id);
    if (sw < 0) return (Mat){c->s->off[id], s.d[0], s.d[1], s.d[1]};
    int x = g->n[sw].in[0];
    Shape xs = g->n[x].shape;
    return (Mat){c->s->off[x], s.d[0], s.d[1], ir_numel(xs) / (xs.d[0] * xs.d[1])};
}

/* Where product id writes its result: itself, or when sw >= 0 the output
 * [B, M, P...] of the SWAP01 that stores it. */
static Mat mat_result(Cg *c, int id, int sw)
{
    const Graph *g = c->s->g;
    int64_t M = g->n[id].shape.d[0], N = g->n[id].shape.d[1];
    if (sw < 0) return (Mat){c->s->off[id], M, N, N};
    Shape ys = g->n[sw].shape;
    return (Mat){c->s->off[sw], M, N, ir_numel(ys) / (ys.d[0] * ys.d[1])};
}

/* n + (n/P)*(R-1)*P for the i64 scalar or i32 vector n. */
static LLVMValueRef mat_col(Cg *c, Mat m, LLVMValueRef n)
{
    LLVMTypeRef t = LLVMTypeOf(n);
    int vec = LLVMGetTypeKind(t) == LLVMVectorTypeKind;
    LLVMValueRef P = vec ? kconst(c, t, m.P) : ci(c, m.P), skip = vec ? kconst(c, t, (m.R - 1) * m.P) : ci(c, (m.R - 1) * m.P);
    return LLVMBuildAdd(c->b, n, LLVMBuildMul(c->b, LLVMBuildUDiv(c->b, n, P, "img"), skip, ""), "mcol");
}

static MatCols mat_cols(Cg *c, Mat m, LLVMValueRef j0)
{
    if (m.P == m.N) return (MatCols){j0, NULL, NULL};
    if (m.P % c->vw == 0) return (MatCols){mat_col(c, m, j0), NULL, NULL};
    if (m.P >= c->vw)
        return (MatCols){mat_col(c, m, j0), below_mask(c, LLVMBuildURem(c->b, j0, ci(c, m.P), ""), ci(c, m.P)), NULL};
    ir_assert(m.R * m.N < INT32_MAX);   /* i32 lane offsets */
    return (MatCols){NULL, NULL, mat_col(c, m, lane_indices(c, j0))};
}

/* The lanes of vector col of row r of m as pointers (for a gather or scatter). */
static LLVMValueRef mat_ptrs(Cg *c, Mat m, LLVMValueRef r, MatCols col)
{
    LLVMValueRef lanes = col.lanes;
    return LLVMBuildInBoundsGEP2(c->b, c->f32, at(c, m.off, LLVMBuildMul(c->b, r, ci(c, m.P), "")), &lanes, 1, "mp");
}

static LLVMValueRef on_mask(Cg *c, LLVMValueRef mask)
{
    return mask ? mask : LLVMConstAllOnes(LLVMVectorType(c->i1, (unsigned)c->vw));
}

/* Pointer to the vector of row r of m from col.at, or with hi from
 * col.at + (R-1)*P (the next image: not inbounds, as with no lane on it may
 * lie past the arena). */
static LLVMValueRef mat_at(Cg *c, Mat m, LLVMValueRef r, MatCols col, int hi)
{
    LLVMValueRef idx = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, r, ci(c, m.P), ""), col.at, "");
    if (!hi) return at(c, m.off, idx);
    idx = LLVMBuildAdd(c->b, LLVMBuildAdd(c->b, idx, ci(c, (m.R - 1) * m.P), ""), offset(c, m.off), "");
    return LLVMBuildGEP2(c->b, c->f32, c->arena, &idx, 1, "phi");
}

/* The lanes of mask (NULL: all) in col's first image (hi: in the second). */
static LLVMValueRef part_mask(Cg *c, LLVMValueRef mask, MatCols col, int hi)
{
    LLVMValueRef part = hi ? LLVMBuildNot(c->b, col.lo, "") : col.lo;
    return mask ? LLVMBuildAnd(c->b, mask, part, "") : part;
}

/* Vector col of row r of m; lanes off in mask (NULL: all on) read 0. */
static LLVMValueRef mat_load(Cg *c, Mat m, LLVMValueRef r, MatCols col, LLVMValueRef mask)
{
    if (col.lanes) return gather(c, m.off, mat_ptrs(c, m, r, col), on_mask(c, mask));
    if (!col.lo) return vec_load_m(c, m.off, mat_at(c, m, r, col, 0), mask);
    LLVMValueRef v0 = vec_load_m(c, m.off, mat_at(c, m, r, col, 0), part_mask(c, mask, col, 0));
    LLVMValueRef v1 = vec_load_m(c, m.off, mat_at(c, m, r, col, 1), part_mask(c, mask, col, 1));
    return LLVMBuildSelect(c->b, col.lo, v0, v1, "");
}

static void mat_store(Cg *c, Mat m, LLVMValueRef r, MatCols col, LLVMValueRef v, LLVMValueRef mask)
{
    if (col.lanes) {
        scatter(c, m.off, v, mat_ptrs(c, m, r, col), on_mask(c, mask));
        return;
    }
    vec_store_m(c, m.off, v, mat_at(c, m, r, col, 0), col.lo ? part_mask(c, mask, col, 0) : mask);
    if (col.lo) vec_store_m(c, m.off, v, mat_at(c, m, r, col, 1), part_mask(c, mask, col, 1));
}

/* Where a register tile of C goes: C in the arena as m (cols: the column
 * parts of the panel's vectors), or when buf is set a buffer on the stack
 * whose row r - row0 holds row r of C's panel (nr floats, no masks: its
 * user reads only what it needs). */
typedef struct { LLVMValueRef buf, row0, apack; Mat m; MatCols cols[2]; } TileDst;

/* One register tile of C: rows i0..i0+mr-1 (rows past M recompute row M-1
 * and are not stored), the panel's columns (masked past N by cmask).  The
 * accumulators are phis of the k loop; A is read by broadcasts, so its
 * transposition costs nothing.  first: whether this is the first k block
 * (NULL: the only one). */
static void mm_tile(Cg *c, const Node *nd, LLVMValueRef i0, LLVMValueRef bp, LLVMValueRef kc0,
                    LLVMValueRef kcl, LLVMValueRef first, LLVMValueRef *cmask, int nv, TileDst dst)
{
    const Schedule *s = c->s;
    const Graph *g = s->g;
    int64_t M = nd->shape.d[0];
    Shape as = g->n[nd->in[0]].shape;
    int ta = nd->i[0], mr = c->mr, nr = 2 * c->vw;
    int64_t K = ta ? as.d[0] : as.d[1];
    Mat ma = mat_operand(c, nd->in[0]);   /* [M, K] unless ta, which is never folded */
    LLVMValueRef rows[16], rowok[16];
    for (int i = 0; i < mr; i++) {
        LLVMValueRef r = LLVMBuildAdd(c->b, i0, ci(c, i), "");
        rows[i] = M % mr ? LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, r, ci(c, M), ""), r, ci(c, M - 1), "row") : r;
        rowok[i] = NULL;
        if (M % mr) {   /* the whole row off when it is past M */
            rowok[i] = vsplat(c, LLVMBuildICmp(c->b, LLVMIntSLT, r, ci(c, M), "rowok"));
        }
    }
    LLVMValueRef cptr[16][2], cm[16][2], init[16][2];
    for (int i = 0; i < mr; i++) {
        for (int v = 0; v < nv; v++) {
            cptr[i][v] = NULL;
            if (dst.buf) {
                LLVMValueRef r = LLVMBuildSub(c->b, LLVMBuildAdd(c->b, i0, ci(c, i), ""), dst.row0, "");
                LLVMValueRef idx = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, r, ci(c, nr), ""), ci(c, v * c->vw), "");
                cptr[i][v] = LLVMBuildInBoundsGEP2(c->b, c->f32, dst.buf, &idx, 1, "");
            }
            cm[i][v] = cmask[v] && rowok[i] ? LLVMBuildAnd(c->b, cmask[v], rowok[i], "") : cmask[v] ? cmask[v] : rowok[i];
            if (dst.buf) cm[i][v] = NULL;
            init[i][v] = LLVMConstNull(c->vec);
        }
    }
    if (first) {   /* later k blocks add to what the earlier ones stored: loaded unless first */
        LLVMBasicBlockRef from = LLVMGetInsertBlock(c->b);
        LLVMBasicBlockRef ld = LLVMAppendBasicBlockInContext(c->cx, c->fn, "cload");
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->cx, c->fn, "cinit");
        LLVMBuildCondBr(c->b, first, done, ld);
        LLVMPositionBuilderAtEnd(c->b, ld);
        LLVMValueRef got[16][2];
        for (int i = 0; i < mr; i++)
            for (int v = 0; v < nv; v++)
                got[i][v] = dst.buf ? stack_load(c, cptr[i][v]) : mat_load(c, dst.m, rows[i], dst.cols[v], cmask[v]);
        LLVMBuildBr(c->b, done);
        LLVMPositionBuilderAtEnd(c->b, done);
        for (int i = 0; i < mr; i++)
            for (int v = 0; v < nv; v++) {
                LLVMValueRef phi = LLVMBuildPhi(c->b, c->vec, "cin");
                LLVMAddIncoming(phi, &init[i][v], &from, 1);
                LLVMAddIncoming(phi, &got[i][v], &ld, 1);
                init[i][v] = phi;
            }
    }
    LLVMValueRef acc[16][2], nxt[16][2], outer[16][2];
    LLVMBasicBlockRef entry = LLVMGetInsertBlock(c->b);
    /* A stored as the images of a folded SWAP01 (a weight gradient's dY):
     * the k loop runs inside a loop over the images that the k block
     * covers, so that column k of A is k plus the image's constant offset,
     * not a division per k */
    int by_image = !dst.apack && !ta && ma.P != K;
    Loop li, lk;
    LLVMValueRef kfrom = ci(c, 0), kto = kcl, shift = NULL;
    if (by_image) {
        LLVMValueRef kend = LLVMBuildAdd(c->b, kc0, kcl, "kend");
        LLVMValueRef img0 = LLVMBuildUDiv(c->b, kc0, ci(c, ma.P), "img0");
        LLVMValueRef img1 = LLVMBuildUDiv(c->b, LLVMBuildSub(c->b, kend, ci(c, 1), ""), ci(c, ma.P), "img1");
        LLVMValueRef img = loop_begin(c, &li, img0, LLVMBuildAdd(c->b, img1, ci(c, 1), ""), "img");
        LLVMPositionBuilderBefore(c->b, LLVMGetFirstInstruction(li.head));
        for (int i = 0; i < mr; i++)
            for (int v = 0; v < nv; v++) {
                outer[i][v] = LLVMBuildPhi(c->b, c->vec, "acci");
                LLVMAddIncoming(outer[i][v], &init[i][v], &entry, 1);
                init[i][v] = outer[i][v];
            }
        LLVMPositionBuilderAtEnd(c->b, li.body);
        entry = li.body;
        LLVMValueRef i0k = LLVMBuildMul(c->b, img, ci(c, ma.P), "");
        kfrom = LLVMBuildSub(c->b, imax(c, kc0, i0k), kc0, "");
        kto = LLVMBuildSub(c->b, imin(c, kend, LLVMBuildAdd(c->b, i0k, ci(c, ma.P), "")), kc0, "");
        shift = LLVMBuildMul(c->b, img, ci(c, (ma.R - 1) * ma.P), "");
    }
    /* the panel's row and the packed A's k as pointers stepped by the loop
     * (nr and mr floats a step: no scaled index for the back end to turn
     * into pointers, which ganc tells it not to, see main.c) */
    LLVMValueRef bfrom = LLVMBuildInBoundsGEP2(c->b, c->f32, bp, (LLVMValueRef[]){LLVMBuildMul(c->b, kfrom, ci(c, nr), "")}, 1, "");
    LLVMValueRef afrom = NULL;
    /* A unpacked, rows a constant apart (none clamped): row 0 of A's
     * column k as a pointer stepped by the loop, row i at i*arow past it */
    int64_t astep = dst.apack ? mr : ta ? M : 1, arow = ta ? 1 : ma.P;
    int aptr_rows = !dst.apack && M % mr == 0 && (ta || ma.P == K || by_image);
    if (dst.apack) {
        LLVMValueRef o = LLVMBuildMul(c->b, LLVMBuildAdd(c->b, kc0, kfrom, ""), ci(c, mr), "");
        afrom = LLVMBuildInBoundsGEP2(c->b, c->f32, dst.apack, &o, 1, "");
    } else if (aptr_rows) {
        LLVMValueRef k0 = LLVMBuildAdd(c->b, kc0, kfrom, "");
        if (by_image) k0 = LLVMBuildAdd(c->b, k0, shift, "");
        afrom = at(c, ma.off, ta ? LLVMBuildAdd(c->b, LLVMBuildMul(c->b, k0, ci(c, M), ""), rows[0], "")
                                 : LLVMBuildAdd(c->b, LLVMBuildMul(c->b, rows[0], ci(c, ma.P), ""), k0, ""));
    }
    LLVMValueRef kk = loop_begin(c, &lk, kfrom, kto, "k");
    LLVMPositionBuilderBefore(c->b, LLVMGetFirstInstruction(lk.head));
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < nv; v++) {
            acc[i][v] = LLVMBuildPhi(c->b, c->vec, "acc");
            LLVMAddIncoming(acc[i][v], &init[i][v], &entry, 1);
        }
    LLVMValueRef bptr = LLVMBuildPhi(c->b, LLVMTypeOf(bfrom), "bptr"), aptr = NULL;
    LLVMAddIncoming(bptr, &bfrom, &entry, 1);
    if (afrom) {
        aptr = LLVMBuildPhi(c->b, LLVMTypeOf(afrom), "aptr");
        LLVMAddIncoming(aptr, &afrom, &entry, 1);
    }
    LLVMPositionBuilderAtEnd(c->b, lk.body);
    LLVMValueRef bv[2];
    for (int v = 0; v < nv; v++)
        bv[v] = stack_load(c, LLVMBuildInBoundsGEP2(c->b, c->f32, bptr, (LLVMValueRef[]){ci(c, v * c->vw)}, 1, ""));
    LLVMValueRef k = LLVMBuildAdd(c->b, kc0, kk, "kabs");
    LLVMValueRef acol = aptr ? NULL : ta || ma.P == K ? k : by_image ? LLVMBuildAdd(c->b, k, shift, "") : mat_col(c, ma, k);
    for (int i = 0; i < mr; i++) {
        LLVMValueRef av;
        if (dst.apack) {   /* the tile's rows of A, packed: mr floats per k */
            av = LLVMBuildLoad2(c->b, c->f32, LLVMBuildInBoundsGEP2(c->b, c->f32, aptr, (LLVMValueRef[]){ci(c, i)}, 1, ""), "ap");
        } else if (aptr) {
            av = tag(c, LLVMBuildLoad2(c->b, c->f32, LLVMBuildInBoundsGEP2(c->b, c->f32, aptr, (LLVMValueRef[]){ci(c, i * arow)}, 1, ""), "a"),
                     ma.off);
        } else {
            LLVMValueRef ai = ta ? LLVMBuildAdd(c->b, LLVMBuildMul(c->b, k, ci(c, M), ""), rows[i], "")
                                 : LLVMBuildAdd(c->b, LLVMBuildMul(c->b, rows[i], ci(c, ma.P), ""), acol, "");
            av = load(c, ma.off, ai);
        }
        LLVMValueRef splat = vsplat(c, av);
        for (int v = 0; v < nv; v++) nxt[i][v] = fma3(c, splat, bv[v], acc[i][v]);
    }
    LLVMValueRef bnext = LLVMBuildInBoundsGEP2(c->b, c->f32, bptr, (LLVMValueRef[]){ci(c, nr)}, 1, "");
    LLVMValueRef anext = aptr ? LLVMBuildInBoundsGEP2(c->b, c->f32, aptr, (LLVMValueRef[]){ci(c, astep)}, 1, "") : NULL;
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < nv; v++) LLVMAddIncoming(acc[i][v], &nxt[i][v], &latch, 1);
    LLVMAddIncoming(bptr, &bnext, &latch, 1);
    if (aptr) LLVMAddIncoming(aptr, &anext, &latch, 1);
    loop_end(c, &lk);
    if (by_image) {
        LLVMBasicBlockRef done = LLVMGetInsertBlock(c->b);
        for (int i = 0; i < mr; i++)
            for (int v = 0; v < nv; v++) LLVMAddIncoming(outer[i][v], &acc[i][v], &done, 1);
        loop_end(c, &li);
        for (int i = 0; i < mr; i++)
            for (int v = 0; v < nv; v++) acc[i][v] = outer[i][v];
    }
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < nv; v++)
            if (dst.buf) stack_store(c, acc[i][v], cptr[i][v]);
            else mat_store(c, dst.m, rows[i], dst.cols[v], acc[i][v], cm[i][v]);
}

/* Sums each of n = vw accumulator vectors; returns one vector whose lane q
 * is the sum of acc[q].  A tree of shuffles: at each level two vectors of G
 * groups of width W become one of 2G groups of width W/2. */
static LLVMValueRef hsum_all(Cg *c, LLVMValueRef *acc)
{
    int n = c->vw;
    LLVMValueRef v[64];
    memcpy(v, acc, (size_t)n * sizeof *v);
    for (int groups = 1, w = c->vw; n > 1; groups *= 2, w /= 2, n /= 2) {
        for (int p = 0; p < n / 2; p++) {
            LLVMValueRef lo[64], hi[64];
            for (int g2 = 0; g2 < 2 * groups; g2++)
                for (int l = 0; l < w / 2; l++) {
                    int src = g2 < groups ? 0 : c->vw, g = g2 % groups;
                    lo[g2 * (w / 2) + l] = ci32(c, src + g * w + l);
                    hi[g2 * (w / 2) + l] = ci32(c, src + g * w + w / 2 + l);
                }
            LLVMValueRef a = LLVMBuildShuffleVector(c->b, v[2 * p], v[2 * p + 1], LLVMConstVector(lo, (unsigned)c->vw), "");
            LLVMValueRef b = LLVMBuildShuffleVector(c->b, v[2 * p], v[2 * p + 1], LLVMConstVector(hi, (unsigned)c->vw), "");
            v[p] = LLVMBuildFAdd(c->b, a, b, "hsum");
        }
    }
    return v[0];
}

/* C[M,N] = A[M,K]·B[N,K]ᵀ as dot products along k: a tile of mr×nr outputs
 * keeps mr*nr = vw vector accumulators; masked loads finish k. */
static LLVMValueRef emit_matmul_nt(Cg *c, const Kernel *k, int64_t *items, int64_t *grain)
{
    const Schedule *s = c->s;
    const Node *nd = &s->g->n[k->node];
    int64_t M = nd->shape.d[0], N = nd->shape.d[1], K = s->g->n[nd->in[0]].shape.d[1];
    int64_t oa = s->off[nd->in[0]], ob = s->off[nd->in[1]], oc = s->off[k->node];
    int mr = c->vw >= 16 ? 4 : 2, nr = c->vw / mr;
    int64_t nmb = (M + mr - 1) / mr, nnb = (N + nr - 1) / nr, kfull = K / c->vw;
    int krem = (int)(K % c->vw);
    LLVMValueRef lo, hi;
    kernel_begin(c, "matmul_nt", &lo, &hi);
    Loop lt, lk;
    LLVMValueRef t = loop_begin(c, &lt, lo, hi, "tile");
    LLVMValueRef nb = LLVMBuildSDiv(c->b, t, ci(c, nmb), "nb"), mb = LLVMBuildSRem(c->b, t, ci(c, nmb), "mb");
    LLVMValueRef i0 = LLVMBuildMul(c->b, mb, ci(c, mr), "i0"), j0 = LLVMBuildMul(c->b, nb, ci(c, nr), "j0");
    /* rows past the end re-read the last row (clamped) and are not stored */
    LLVMValueRef arow[8], brow[8];
    for (int i = 0; i < mr; i++) {
        LLVMValueRef r = LLVMBuildAdd(c->b, i0, ci(c, i), "");
        r = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, r, ci(c, M), ""), r, ci(c, M - 1), "");
        arow[i] = LLVMBuildMul(c->b, r, ci(c, K), "arow");
    }
    for (int j = 0; j < nr; j++) {
        LLVMValueRef r = LLVMBuildAdd(c->b, j0, ci(c, j), "");
        r = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, r, ci(c, N), ""), r, ci(c, N - 1), "");
        brow[j] = LLVMBuildMul(c->b, r, ci(c, K), "brow");
    }
    LLVMValueRef acc[64], nxt[64];
    LLVMBasicBlockRef entry = LLVMGetInsertBlock(c->b);
    LLVMValueRef kk = loop_begin(c, &lk, ci(c, 0), ci(c, kfull), "k");
    LLVMPositionBuilderBefore(c->b, LLVMGetFirstInstruction(lk.head));
    for (int q = 0; q < mr * nr; q++) {
        acc[q] = LLVMBuildPhi(c->b, c->vec, "acc");
        LLVMValueRef z = LLVMConstNull(c->vec);
        LLVMAddIncoming(acc[q], &z, &entry, 1);
    }
    LLVMPositionBuilderAtEnd(c->b, lk.body);
    LLVMValueRef koff = LLVMBuildMul(c->b, kk, ci(c, c->vw), "koff");
    for (int pass = 0; pass < 2; pass++) {   /* pass 0: the loop body; pass 1: the masked rest */
        if (pass == 1) {
            LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
            for (int q = 0; q < mr * nr; q++) LLVMAddIncoming(acc[q], &nxt[q], &latch, 1);
            loop_end(c, &lk);
            if (!krem) break;
            koff = ci(c, kfull * c->vw);
        }
        int lanes = pass ? krem : c->vw;
        LLVMValueRef av[8], bv[8];
        for (int i = 0; i < mr; i++) av[i] = vec_load(c, oa, at(c, oa, LLVMBuildAdd(c->b, arow[i], koff, "")), lanes);
        for (int j = 0; j < nr; j++) bv[j] = vec_load(c, ob, at(c, ob, LLVMBuildAdd(c->b, brow[j], koff, "")), lanes);
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++) nxt[i * nr + j] = fma3(c, av[i], bv[j], acc[i * nr + j]);
        if (pass == 1) memcpy(acc, nxt, sizeof acc);
    }
    LLVMValueRef sum = hsum_all(c, acc);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            LLVMValueRef r = LLVMBuildAdd(c->b, i0, ci(c, i), ""), col = LLVMBuildAdd(c->b, j0, ci(c, j), "");
            LLVMValueRef ok = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, r, ci(c, M), ""),
                                           LLVMBuildICmp(c->b, LLVMIntSLT, col, ci(c, N), ""), "inside");
            LLVMBasicBlockRef yes = LLVMAppendBasicBlockInContext(c->cx, c->fn, "store"),
                              no = LLVMAppendBasicBlockInContext(c->cx, c->fn, "next");
            LLVMBuildCondBr(c->b, ok, yes, no);
            LLVMPositionBuilderAtEnd(c->b, yes);
            store(c, LLVMBuildExtractElement(c->b, sum, ci32(c, i * nr + j), ""), oc,
                  LLVMBuildAdd(c->b, LLVMBuildMul(c->b, r, ci(c, N), ""), col, ""));
            LLVMBuildBr(c->b, no);
            LLVMPositionBuilderAtEnd(c->b, no);
        }
    loop_end(c, &lt);
    kernel_end(c);
    *items = nmb * nnb;
    *grain = 1;
    return c->fn;
}

/* ---------- implicit im2col: panels of b gathered from the image ----------
 * When b is IM2COL(x), element (r, j) of the columns, row r = (c, ky, kx) and
 * column j = (n, oy, ox), is x[n, c, iy, ix] with iy = oy*s + ky*d - p and
 * ix = ox*s + kx*d - p, or 0 outside the image.  Its offset in x is
 * base + iy*W + ix, and each of base, iy and ix is the sum of a part that
 * depends only on r and a part that depends only on j.  So a product whose b
 * is an IM2COL packs its panels straight from x: the parts of the panel's
 * 2vw columns are vectors computed once per panel, the parts of a packed row
 * scalars computed once per row, and a masked gather reads the row (lanes
 * outside the image or past N are off and read 0).  The columns matrix, as
 * big as the image times kh*kw, is never written.  With tb (a·colsᵀ, the
 * conv's weight gradient) the panel's rows are columns of cols and its
 * columns rows of cols: the same parts, the other way round. */
typedef struct { LLVMValueRef base, y, x; } ConvPart;

/* The i32 constant v, splat when t is a vector type. */
static LLVMValueRef kconst(Cg *c, LLVMTypeRef t, int64_t v)
{
    LLVMValueRef k = ci32(c, v), lanes[64];
    if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return k;
    for (int l = 0; l < c->vw; l++) lanes[l] = k;
    return LLVMConstVector(lanes, (unsigned)c->vw);
}

/* A vector of vw lanes all equal to the i32 scalar v. */
static LLVMValueRef splat_i32(Cg *c, LLVMValueRef v)
{
    LLVMTypeRef vi = LLVMVectorType(c->i32, (unsigned)c->vw);
    LLVMValueRef one = LLVMBuildInsertElement(c->b, LLVMGetUndef(vi), v, ci32(c, 0), "");
    return LLVMBuildShuffleVector(c->b, one, LLVMGetUndef(vi), LLVMConstNull(vi), "splat");
}

/* The parts of row r = (c, ky, kx) of the columns of image shape img,
 * geometry cv (r: i32 or a vector of them). */
static ConvPart cols_row_part(Cg *c, Shape img, const int *cv, LLVMValueRef r)
{
    LLVMTypeRef t = LLVMTypeOf(r);
    LLVMValueRef ch = LLVMBuildUDiv(c->b, r, kconst(c, t, cv[0] * cv[1]), "c");
    LLVMValueRef kyx = LLVMBuildURem(c->b, r, kconst(c, t, cv[0] * cv[1]), "");
    LLVMValueRef ky = LLVMBuildUDiv(c->b, kyx, kconst(c, t, cv[1]), "ky"), kx = LLVMBuildURem(c->b, kyx, kconst(c, t, cv[1]), "kx");
    return (ConvPart){LLVMBuildMul(c->b, ch, kconst(c, t, img.d[2] * img.d[3]), "cbase"),
                      LLVMBuildSub(c->b, LLVMBuildMul(c->b, ky, kconst(c, t, cv[4]), ""), kconst(c, t, cv[3]), "kyo"),
                      LLVMBuildSub(c->b, LLVMBuildMul(c->b, kx, kconst(c, t, cv[4]), ""), kconst(c, t, cv[3]), "kxo")};
}

/* The parts of column j = (n, oy, ox) of the columns. */
static ConvPart cols_col_part(Cg *c, Shape img, const int *cv, LLVMValueRef j)
{
    int64_t Y = ir_conv_out(img.d[2], cv[0], cv[2], cv[3], cv[4]), X = ir_conv_out(img.d[3], cv[1], cv[2], cv[3], cv[4]);
    LLVMTypeRef t = LLVMTypeOf(j);
    LLVMValueRef n = LLVMBuildUDiv(c->b, j, kconst(c, t, Y * X), "n"), q = LLVMBuildURem(c->b, j, kconst(c, t, Y * X), "");
    LLVMValueRef oy = LLVMBuildUDiv(c->b, q, kconst(c, t, X), "oy"), ox = LLVMBuildURem(c->b, q, kconst(c, t, X), "ox");
    return (ConvPart){LLVMBuildMul(c->b, n, kconst(c, t, img.d[1] * img.d[2] * img.d[3]), "nbase"),
                      LLVMBuildMul(c->b, oy, kconst(c, t, cv[2]), "oys"), LLVMBuildMul(c->b, ox, kconst(c, t, cv[2]), "oxs")};
}

/* The vector j0 + l (l < vw) of i32 column indices. */
static LLVMValueRef lane_indices(Cg *c, LLVMValueRef j0)
{
    LLVMValueRef iota[64];
    for (int l = 0; l < c->vw; l++) iota[l] = ci32(c, l);
    return LLVMBuildAdd(c->b, splat_i32(c, LLVMBuildTrunc(c->b, j0, c->i32, "")), LLVMConstVector(iota, (unsigned)c->vw), "j");
}

/* Pointers into the image at arena offset off (shape img) of the pixels of
 * the elements whose parts are row (scalars) and col (vectors); *inside
 * receives the mask of those inside the image and on in `lanes` (or NULL). */
static LLVMValueRef conv_pixels(Cg *c, Shape img, int64_t off, ConvPart row, ConvPart col, LLVMValueRef lanes,
                                LLVMValueRef *inside)
{
    ir_assert(ir_numel(img) < INT32_MAX);   /* i32 offsets into the image */
    LLVMTypeRef vi = LLVMTypeOf(col.y);
    LLVMValueRef y = LLVMBuildAdd(c->b, splat_i32(c, row.y), col.y, "iy");
    LLVMValueRef x = LLVMBuildAdd(c->b, splat_i32(c, row.x), col.x, "ix");
    /* 0 <= iy < H and 0 <= ix < W, as unsigned compares */
    LLVMValueRef ok = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntULT, y, kconst(c, vi, img.d[2]), ""),
                                   LLVMBuildICmp(c->b, LLVMIntULT, x, kconst(c, vi, img.d[3]), ""), "inside");
    *inside = lanes ? LLVMBuildAnd(c->b, ok, lanes, "") : ok;
    LLVMValueRef idx = LLVMBuildAdd(c->b, LLVMBuildAdd(c->b, splat_i32(c, row.base), col.base, ""),
                                    LLVMBuildAdd(c->b, LLVMBuildMul(c->b, y, kconst(c, vi, img.d[3]), ""), x, ""), "pix");
    /* not inbounds: lanes that are off may point anywhere, they are not accessed */
    return LLVMBuildGEP2(c->b, c->f32, at(c, off, NULL), &idx, 1, "px");
}

/* A masked gather of the buffer at arena offset off: lanes off read 0. */
static LLVMValueRef gather(Cg *c, int64_t off, LLVMValueRef ptrs, LLVMValueRef mask)
{
    LLVMTypeRef ts[4] = {LLVMTypeOf(ptrs), c->i32, LLVMVectorType(c->i1, (unsigned)c->vw), c->vec};
    char name[64];
    snprintf(name, sizeof name, "llvm.masked.gather.v%df32.v%dp0f32", c->vw, c->vw);
    LLVMValueRef args[4] = {ptrs, ci32(c, 4), mask, LLVMConstNull(c->vec)};
    return tag(c, LLVMBuildCall2(c->b, LLVMFunctionType(c->vec, ts, 4, 0), intrinsic(c, name, c->vec, ts, 4), args, 4, "g"), off);
}

static void scatter(Cg *c, int64_t off, LLVMValueRef v, LLVMValueRef ptrs, LLVMValueRef mask)
{
    LLVMTypeRef vt = LLVMVoidTypeInContext(c->cx);
    LLVMTypeRef ts[4] = {c->vec, LLVMTypeOf(ptrs), c->i32, LLVMVectorType(c->i1, (unsigned)c->vw)};
    char name[64];
    snprintf(name, sizeof name, "llvm.masked.scatter.v%df32.v%dp0f32", c->vw, c->vw);
    LLVMValueRef args[4] = {v, ptrs, ci32(c, 4), mask};
    tag(c, LLVMBuildCall2(c->b, LLVMFunctionType(vt, ts, 4, 0), intrinsic(c, name, vt, ts, 4), args, 4, ""), off);
}

/* Product nd's b when it is an IM2COL, else NULL. */
static const Node *gathered_b(Cg *c, const Node *nd)
{
    const Node *b = &c->s->g->n[nd->in[1]];
    return b->op == OP_IM2COL ? b : NULL;
}

/* The parts of the panel's columns j0 + l (l < vw) of product nd, whose b
 * is the IM2COL im: columns of cols, or with tb rows of cols. */
static ConvPart gather_cols(Cg *c, const Node *nd, const Node *im, LLVMValueRef j0)
{
    Shape img = c->s->g->n[im->in[0]].shape;
    LLVMValueRef j = lane_indices(c, j0);
    return nd->i[1] ? cols_row_part(c, img, im->cv, j) : cols_col_part(c, img, im->cv, j);
}

/* Packs rows kc0 .. kc0+kcl-1 of the panel of product nd's b at columns n0
 * .. n0+2vw-1 into bp: nv vectors of a row are loaded from b stored as mb
 * (bcols: their column parts; lanes off in pmask read 0), or gathered when
 * b is the IM2COL im (cols: gather_cols), the others are 0. */
static void mm_pack(Cg *c, const Node *nd, const Node *im, LLVMValueRef bp, LLVMValueRef kc0, LLVMValueRef kcl,
                    const ConvPart *cols, Mat mb, const MatCols *bcols, LLVMValueRef *pmask, int nv)
{
    int nr = 2 * c->vw;
    Loop lp;
    LLVMValueRef kk = loop_begin(c, &lp, ci(c, 0), kcl, "pk");
    LLVMValueRef r = LLVMBuildAdd(c->b, kc0, kk, "");
    ConvPart row;
    if (im) {
        Shape img = c->s->g->n[im->in[0]].shape;
        LLVMValueRef r32 = LLVMBuildTrunc(c->b, r, c->i32, "r");
        row = nd->i[1] ? cols_col_part(c, img, im->cv, r32) : cols_row_part(c, img, im->cv, r32);
    }
    for (int v = 0; v < 2; v++) {
        LLVMValueRef val = LLVMConstNull(c->vec), inside;
        if (v < nv && im) {
            LLVMValueRef px = conv_pixels(c, c->s->g->n[im->in[0]].shape, c->s->off[im->in[0]], row, cols[v], pmask[v], &inside);
            val = gather(c, c->s->off[im->in[0]], px, inside);
        } else if (v < nv) {
            val = mat_load(c, mb, r, bcols[v], pmask[v]);
        }
        LLVMValueRef idx = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, kk, ci(c, nr), ""), ci(c, v * c->vw), "");
        stack_store(c, val, LLVMBuildInBoundsGEP2(c->b, c->f32, bp, &idx, 1, ""));
    }
    loop_end(c, &lp);
}

/* Kernel k's epilogue (see sched.c absorb_epilogues) over rows r0..r1-1 and
 * columns n0..n1-1 of its product's result, stored as m (sw: a SWAP01's
 * [B, M, P...], whose channels are the product's rows): a loop over each
 * image's contiguous part of a row, which LLVM vectorises. */
static void epilogue_block(Cg *c, const Kernel *k, Mat m, int sw, LLVMValueRef r0, LLVMValueRef r1, LLVMValueRef n0,
                           LLVMValueRef n1)
{
    const Kernel *ek = &c->sec->k[k->epi - 1];
    Loop lr, lb, lp;
    LLVMValueRef r = loop_begin(c, &lr, r0, r1, "er");
    ElemAt at = {.b = r, .vec = vec_kernel(c, ek, 1)};
    if (!sw) {   /* [M, N]: rows are the batch */
        LLVMValueRef p = at.vec ? vloop_begin(c, &lp, n0, n1, -1, &at.mask, "epv") : loop_begin(c, &lp, n0, n1, "ep");
        at.e = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, r, ci(c, m.N), ""), p, "e");
        at.ch = at.q = p;
        at.ch_lanes = 1;
        elem_members(c, ek, &at);
        loop_end(c, &lp);
    } else {   /* [B, M, P...]: column j is image j / P */
        LLVMValueRef b0 = LLVMBuildUDiv(c->b, n0, ci(c, m.P), "");
        LLVMValueRef b1 = LLVMBuildAdd(c->b, LLVMBuildUDiv(c->b, LLVMBuildSub(c->b, n1, ci(c, 1), ""), ci(c, m.P), ""), ci(c, 1), "");
        LLVMValueRef b = loop_begin(c, &lb, b0, b1, "eb");
        LLVMValueRef j0 = LLVMBuildMul(c->b, b, ci(c, m.P), "");
        LLVMValueRef p0 = imax(c, LLVMBuildSub(c->b, n0, j0, ""), ci(c, 0)), p1 = imin(c, LLVMBuildSub(c->b, n1, j0, ""), ci(c, m.P));
        LLVMValueRef row = LLVMBuildMul(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, b, ci(c, m.R), ""), r, ""), ci(c, m.P), "");
        LLVMValueRef p = at.vec ? vloop_begin(c, &lp, p0, p1, -1, &at.mask, "epv") : loop_begin(c, &lp, p0, p1, "ep");
        at.e = LLVMBuildAdd(c->b, row, p, "e");
        at.b = b;
        at.ch = r;
        at.q = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, r, ci(c, m.P), ""), p, "");
        elem_members(c, ek, &at);
        loop_end(c, &lp);
        loop_end(c, &lb);
    }
    loop_end(c, &lr);
}

/* The epilogue of product kernel k as a function of its own, void
 * (float *arena, i64 a0, i64 a1, i64 a2, i64 a3): on rows a0..a1-1 and
 * columns a2..a3-1 of the result m (stored NCHW when sw), or for a col2im
 * product (img: its image) on the planes of batch rows a0..a1-1, channels
 * a2..a3-1.  Emitted before the product's body, which calls it through a
 * slot (fn_slot): products that differ only in their epilogue share a body. */
static LLVMValueRef epilogue_fn(Cg *c, const Kernel *k, Mat m, int sw, const Shape *img)
{
    char name[64];
    snprintf(name, sizeof name, "e%d_epilogue", c->n_epi++);
    snprintf(c->kname, sizeof c->kname, "%s", name);   /* alias scopes are named after it */
    LLVMValueRef f = LLVMAddFunction(c->m, name, c->epi_t);
    LLVMSetLinkage(f, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(f, 1, LLVMCreateEnumAttribute(c->cx, LLVMGetEnumAttributeKindForName("noalias", 7), 0));
    c->fn = f;
    c->arena = LLVMGetParam(f, 0);
    c->n_slot = -1;
    c->n_acc = 0;
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->cx, f, "entry"));
    LLVMValueRef a[4];
    for (int j = 0; j < 4; j++) a[j] = LLVMGetParam(f, 1 + (unsigned)j);
    if (img) {   /* the planes of batch rows a0.., channels a2.. are final */
        int64_t C = img->d[1], HW = img->d[2] * img->d[3];
        Loop lb, lc, lq;
        ElemAt at = {0};
        at.b = loop_begin(c, &lb, a[0], a[1], "eb");
        at.ch = loop_begin(c, &lc, a[2], a[3], "ec");
        at.vec = HW >= c->vw && vec_kernel(c, &c->sec->k[k->epi - 1], 1);
        LLVMValueRef base = LLVMBuildMul(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, at.b, ci(c, C), ""), at.ch, ""), ci(c, HW), "");
        LLVMValueRef eq = at.vec ? vloop_begin(c, &lq, ci(c, 0), ci(c, HW), HW, &at.mask, "eqv")
                                 : loop_begin(c, &lq, ci(c, 0), ci(c, HW), "eq");
        at.e = LLVMBuildAdd(c->b, base, eq, "e");
        at.q = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, at.ch, ci(c, HW), ""), eq, "");
        elem_members(c, &c->sec->k[k->epi - 1], &at);
        loop_end(c, &lq);
        loop_end(c, &lc);
        loop_end(c, &lb);
    } else {
        epilogue_block(c, k, m, sw, a[0], a[1], a[2], a[3]);
    }
    LLVMBuildRetVoid(c->b);
    alias_scopes(c);
    return f;
}

/* The epilogue function of product kernel k (epilogue_fn), or an empty one
 * when it has none: every panel product calls one, so a product with an
 * epilogue and one without share a body. */
static LLVMValueRef product_epilogue(Cg *c, const Kernel *k, Mat m, int sw, const Shape *img)
{
    if (k->epi) return epilogue_fn(c, k, m, sw, img);
    if (!c->no_epi) {
        LLVMBasicBlockRef at = LLVMGetInsertBlock(c->b);
        c->no_epi = LLVMAddFunction(c->m, "e_none", c->epi_t);
        LLVMSetLinkage(c->no_epi, LLVMInternalLinkage);
        LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->cx, c->no_epi, "entry"));
        LLVMBuildRetVoid(c->b);
        if (at) LLVMPositionBuilderAtEnd(c->b, at);
    }
    return c->no_epi;
}

/* Calls epilogue function f (epilogue_fn) from the body being emitted. */
static void call_epilogue(Cg *c, LLVMValueRef f, LLVMValueRef a0, LLVMValueRef a1, LLVMValueRef a2, LLVMValueRef a3)
{
    LLVMValueRef fp = LLVMBuildIntToPtr(c->b, fn_slot(c, f), LLVMPointerType(c->epi_t, 0), "epi");
    LLVMValueRef args[5] = {c->arena, a0, a1, a2, a3};
    LLVMBuildCall2(c->b, c->epi_t, fp, args, 5, "");
}

/* NN products, and a·colsᵀ when cols is an IM2COL (packed from its image).
 * The kernel is the product's, or that of the SWAP01 that stores it. */
/* Packs nt tiles of rows of A from row0 on into apack, mr floats per k per
 * tile: apack[(t*K + k)*mr + i] = A[min(row0 + t*mr + i, M-1)][k], A being
 * [M, K] at offset oa, or [K, M] when ta (read along rows either way);
 * unless *packed already says key, the rows' block, is there. */
static void pack_a(Cg *c, LLVMValueRef apack, LLVMValueRef packed, LLVMValueRef key, LLVMValueRef nt, LLVMValueRef row0,
                   int64_t oa, int64_t M, int64_t K, int ta)
{
    LLVMBasicBlockRef pk = LLVMAppendBasicBlockInContext(c->cx, c->fn, "packa");
    LLVMBasicBlockRef go = LLVMAppendBasicBlockInContext(c->cx, c->fn, "packed");
    LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntNE, LLVMBuildLoad2(c->b, c->i64, packed, ""), key, ""), pk, go);
    LLVMPositionBuilderAtEnd(c->b, pk);
    Loop lt, lo;
    if (ta && c->mr <= c->vw) {
        /* A's mr rows at one k are contiguous: one masked vector per tile
         * (rows past M read as 0: their results are never stored).  In
         * blocks of 8 k, tiles inside, so that A is read along its rows and
         * apack written a few lines at a time (the scalar loop over k
         * became gathers a row of A apart: a tenth of a deconvolution's
         * time; k outside the tiles, stores a page apart, 7%). */
        Loop lq;
        LLVMValueRef kq = loop_begin(c, &lq, ci(c, 0), ci(c, (K + 7) / 8), "pkq");
        LLVMValueRef k0 = LLVMBuildMul(c->b, kq, ci(c, 8), "");
        LLVMValueRef t = loop_begin(c, &lt, ci(c, 0), nt, "pt");
        LLVMValueRef k = loop_begin(c, &lo, k0, imin(c, LLVMBuildAdd(c->b, k0, ci(c, 8), ""), ci(c, K)), "pk");
        LLVMValueRef rb = LLVMBuildAdd(c->b, row0, LLVMBuildMul(c->b, t, ci(c, c->mr), ""), "");
        LLVMValueRef in = LLVMBuildAnd(c->b, below_mask(c, rb, ci(c, M)), lanes_mask(c, c->mr), "");
        LLVMValueRef x = vload(c, oa, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, k, ci(c, M), ""), rb, ""), in);
        LLVMValueRef d0 = LLVMBuildMul(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, t, ci(c, K), ""), k, ""), ci(c, c->mr), "");
        /* (-1: the stack, a buffer of its own to the alias scopes) */
        vec_store_m(c, -1, x, LLVMBuildInBoundsGEP2(c->b, c->f32, apack, &d0, 1, ""), lanes_mask(c, c->mr));
        loop_end(c, &lo);
        loop_end(c, &lt);
        loop_end(c, &lq);
    } else {
        /* per k, the tile's mr floats one after the other: the stores are
         * sequential (a loop over rows with k inside would become scatters) */
        LLVMValueRef t = loop_begin(c, &lt, ci(c, 0), nt, "pt");
        LLVMValueRef k = loop_begin(c, &lo, ci(c, 0), ci(c, K), "pk");
        LLVMValueRef v[16], d0 = LLVMBuildMul(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, t, ci(c, K), ""), k, ""), ci(c, c->mr), "");
        for (int i = 0; i < c->mr; i++) {
            LLVMValueRef r = imin(c, LLVMBuildAdd(c->b, LLVMBuildAdd(c->b, row0, LLVMBuildMul(c->b, t, ci(c, c->mr), ""), ""), ci(c, i), ""), ci(c, M - 1));
            v[i] = load(c, oa, ta ? LLVMBuildAdd(c->b, LLVMBuildMul(c->b, k, ci(c, M), ""), r, "")
                                  : LLVMBuildAdd(c->b, LLVMBuildMul(c->b, r, ci(c, K), ""), k, ""));
        }
        for (int i = 0; i < c->mr; i++) {
            LLVMValueRef di = LLVMBuildAdd(c->b, d0, ci(c, i), "");
            LLVMBuildStore(c->b, v[i], LLVMBuildInBoundsGEP2(c->b, c->f32, apack, &di, 1, ""));
        }
        loop_end(c, &lo);
        loop_end(c, &lt);
    }
    LLVMBuildStore(c->b, key, packed);
    LLVMBuildBr(c->b, go);
    LLVMPositionBuilderAtEnd(c->b, go);
}

static LLVMValueRef emit_matmul(Cg *c, const Kernel *k, int64_t *items, int64_t *grain)
{
    const Graph *g = c->s->g;
    int sw = g->n[k->node].op == OP_SWAP01 ? k->node : -1, id = sw < 0 ? k->node : sched_owner(g, g->n[sw].in[0]);
    const Node *nd = &g->n[id], *im = gathered_b(c, nd);
    /* a·bᵀ (see simplify_lower): in panels gathered from b's rows (bt) when
     * a has MM_BT_ROWS rows or more and bᵀ a panel's columns, else as dot
     * products along k.  Where the gathers pay off (an MLP GAN of 2048-wide
     * layers, whose forward passes are such products, one thread: at batch
     * 128 the same time per step, at 256 14% less, at 512 25% less, at 64
     * more), and from 64 rows when k is short (MM_BT_SHORT_K): dot products
     * along it spend their time in horizontal sums (dcgan28's linear layer
     * 100 -> 6272 at batch 64, one thread: a third less time). */
    int bt = nd->i[1] && !im;
    int64_t M = nd->shape.d[0], N = nd->shape.d[1];
    int64_t K = nd->i[0] ? g->n[nd->in[0]].shape.d[0] : g->n[nd->in[0]].shape.d[1];
    if (bt && (M < (K < MM_BT_SHORT_K ? MM_BT_ROWS / 2 : MM_BT_ROWS) || N < 2 * c->vw || folded_swap(c, nd->in[1]) >= 0))
        return emit_matmul_nt(c, k, items, grain);
    int nr = 2 * c->vw, nv = N >= nr ? 2 : (int)((N + c->vw - 1) / c->vw);
    int64_t nnb = (N + nr - 1) / nr, nmb = (M + c->mr - 1) / c->mr, tiles_mc = MM_MC / c->mr;
    int64_t nmc = (nmb + tiles_mc - 1) / tiles_mc, nkb = (K + MM_KC - 1) / MM_KC;
    Mat mb = mat_operand(c, nd->in[1]), ma = mat_operand(c, nd->in[0]);
    /* bᵀ's element (k, n) is at n*K + k: a Mat of K rows whose images are
     * single columns (P = 1), so mat_cols() gathers a panel row's lanes */
    if (bt) mb = (Mat){c->s->off[nd->in[1]], K, N, 1};
    TileDst dst = {.m = mat_result(c, id, sw)};
    LLVMValueRef lo, hi, epi = product_epilogue(c, k, dst.m, sw >= 0, NULL);
    kernel_begin(c, sw >= 0 ? "matmul_swap01" : im ? "matmul_im2col" : "matmul", &lo, &hi);
    LLVMValueRef bp = LLVMBuildArrayAlloca(c->b, c->f32, ci(c, MM_KC * nr), "panel");
    LLVMSetAlignment(bp, 64);
    /* Rows of A a multiple of 4 KB apart (K a multiple of 1024) put the mr
     * rows a tile reads at each k in one set of the L1 cache, beside the
     * panel: such an A is packed, mr floats per k per tile, once per call
     * for each block of rows (the items of a call mostly share one). */
    int64_t arows = (nmb < tiles_mc ? nmb : tiles_mc) * c->mr;
    LLVMValueRef apack = NULL, packed = NULL;
    if (!nd->i[0] && ma.P == K && K % 1024 == 0 && arows * K <= 262144) {
        apack = LLVMBuildArrayAlloca(c->b, c->f32, ci(c, arows * K), "apack");
        LLVMSetAlignment(apack, 64);
        packed = LLVMBuildAlloca(c->b, c->i64, "packed");
        LLVMBuildStore(c->b, ci(c, -1), packed);
    }
    Loop lt, lkb, lm;
    LLVMValueRef t = loop_begin(c, &lt, lo, hi, "item");
    /* with A packed, the items of a row block are consecutive */
    LLVMValueRef nb = apack ? LLVMBuildSRem(c->b, t, ci(c, nnb), "nb") : LLVMBuildSDiv(c->b, t, ci(c, nmc), "nb");
    LLVMValueRef mc = apack ? LLVMBuildSDiv(c->b, t, ci(c, nnb), "mc") : LLVMBuildSRem(c->b, t, ci(c, nmc), "mc");
    LLVMValueRef mb0 = LLVMBuildMul(c->b, mc, ci(c, tiles_mc), "");
    LLVMValueRef mb1 = imin(c, LLVMBuildAdd(c->b, mb0, ci(c, tiles_mc), ""), ci(c, nmb));
    if (apack)
        pack_a(c, apack, packed, mc, LLVMBuildSub(c->b, mb1, mb0, ""), LLVMBuildMul(c->b, mb0, ci(c, c->mr), ""), ma.off, M, K, 0);
    LLVMValueRef n0 = LLVMBuildMul(c->b, nb, ci(c, nr), "n0");
    LLVMValueRef cmask[2] = {NULL, NULL};
    ConvPart cols[2];
    MatCols bcols[2];
    for (int v = 0; v < nv; v++) {
        LLVMValueRef j0 = LLVMBuildAdd(c->b, n0, ci(c, v * c->vw), "");
        if (N % (nv * c->vw)) cmask[v] = below_mask(c, j0, ci(c, N));
        if (im) cols[v] = gather_cols(c, nd, im, j0);
        else bcols[v] = mat_cols(c, mb, j0);
        dst.cols[v] = mat_cols(c, dst.m, j0);
    }
    LLVMValueRef kb = loop_begin(c, &lkb, ci(c, 0), ci(c, nkb), "kb");
    LLVMValueRef kc0 = LLVMBuildMul(c->b, kb, ci(c, MM_KC), "kc0");
    LLVMValueRef kcl = imin(c, ci(c, MM_KC), LLVMBuildSub(c->b, ci(c, K), kc0, ""));
    mm_pack(c, nd, im, bp, kc0, kcl, cols, mb, bcols, cmask, nv);
    /* the second product of a gradient summed in place (Schedule.adds_to)
     * starts from what the first wrote: whether this one does is a number
     * the kernel passes, so all products of one geometry share a body */
    LLVMValueRef adds = LLVMBuildICmp(c->b, LLVMIntNE, val_slot(c, sched_adds(c->s, id)), ci(c, 0), "adds");
    LLVMValueRef first = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, kb, ci(c, 0), ""), LLVMBuildNot(c->b, adds, ""), "first");
    LLVMValueRef mbi = loop_begin(c, &lm, mb0, mb1, "mb");
    TileDst td = dst;
    if (apack) {
        LLVMValueRef o = LLVMBuildMul(c->b, LLVMBuildSub(c->b, mbi, mb0, ""), ci(c, K * c->mr), "");
        td.apack = LLVMBuildInBoundsGEP2(c->b, c->f32, apack, &o, 1, "apk");
    }
    mm_tile(c, nd, LLVMBuildMul(c->b, mbi, ci(c, c->mr), "i0"), bp, kc0, kcl, first, cmask, nv, td);
    loop_end(c, &lm);
    loop_end(c, &lkb);
    /* the item's block of the result is final */
    LLVMValueRef r0 = LLVMBuildMul(c->b, LLVMBuildMul(c->b, mc, ci(c, tiles_mc), ""), ci(c, c->mr), "");
    LLVMValueRef r1 = imin(c, LLVMBuildAdd(c->b, r0, ci(c, tiles_mc * c->mr), ""), ci(c, M));
    call_epilogue(c, epi, r0, r1, n0, imin(c, LLVMBuildAdd(c->b, n0, ci(c, nr), ""), ci(c, N)));
    loop_end(c, &lt);
    kernel_end(c);
    *items = nnb * nmc;
    *grain = 1;
    return c->fn;
}

/* The images of a batch group, when items are (channel block, batch group)
 * and a group's B*YX columns are computed in panels of nr: the fewest
 * panels per thread with two threads (a thread's share of the items times
 * an item's panels, the last panel of an item padded), among splits into at
 * least 8 items when there can be (a thread the OS deschedules leaves the
 * others items to take); of equal ones, the smallest groups (the planes an
 * item zeroes and then sums into stay few). */
static int64_t batch_group(int64_t B, int64_t YX, int64_t ncb, int nr)
{
    int64_t best = B, best_cost = INT64_MAX, want = 8 < B * ncb ? 8 : B * ncb;
    for (int64_t bg = 1; bg <= B; bg++) {
        int64_t items = (B + bg - 1) / bg * ncb;
        if (items < want) break;
        int64_t cost = (items + 1) / 2 * ((bg * YX + nr - 1) / nr);
        if (cost < best_cost) best = bg, best_cost = cost;
    }
    return best;
}

/* Adds val, the values of vw columns, to their pixels of row `row`
 * (scalar parts) in the image at arena offset off.  The columns are runs of
 * L one after the other along a row of the columns' image (L = vw, or the
 * whole row); run g's parts are col[g], on when live[g].  A run's pixels
 * are at stride s (1 or 2) along a row of the image: s*L lanes of it from
 * the first, loaded as vectors, added to and stored with the lanes that are
 * pixels of the image on, val's lanes moved to every s-th lane.  (A gather
 * and a scatter per vector instead were a sixth of a deconvolution's time.) */
static void add_runs(Cg *c, Shape img, int64_t off, ConvPart row, const ConvPart *col, LLVMValueRef *live, int L, int s,
                     LLVMValueRef val)
{
    LLVMValueRef zero = LLVMConstNull(c->vec);
    for (int g = 0; g < c->vw / L; g++) {
        LLVMValueRef y = LLVMBuildAdd(c->b, row.y, col[g].y, "ry"), x = LLVMBuildAdd(c->b, row.x, col[g].x, "rx");
        LLVMValueRef on = LLVMBuildAnd(c->b, live[g], LLVMBuildICmp(c->b, LLVMIntULT, y, ci32(c, img.d[2]), ""), "");
        LLVMValueRef first = LLVMBuildAdd(c->b, LLVMBuildAdd(c->b, row.base, col[g].base, ""),
                                          LLVMBuildAdd(c->b, LLVMBuildMul(c->b, y, ci32(c, img.d[3]), ""), x, ""), "");
        LLVMValueRef xs = splat_i32(c, x);
        for (int h = 0; h * c->vw < s * L; h++) {
            LLVMValueRef pick[64], q[64], lanes[64];
            for (int l = 0; l < c->vw; l++) {
                int at = h * c->vw + l;   /* lane `at` of the run: val's lane g*L + at/s when at % s == 0 */
                int hit = at % s == 0 && at / s < L;
                pick[l] = ci32(c, hit ? g * L + at / s : c->vw);
                q[l] = ci32(c, at);
                lanes[l] = LLVMConstInt(c->i1, hit, 0);
            }
            LLVMValueRef add = LLVMBuildShuffleVector(c->b, val, zero, LLVMConstVector(pick, (unsigned)c->vw), "");
            /* lanes of the run at a pixel of val, inside the image's row */
            LLVMValueRef in = LLVMBuildICmp(c->b, LLVMIntULT, LLVMBuildAdd(c->b, xs, LLVMConstVector(q, (unsigned)c->vw), ""),
                                            kconst(c, LLVMTypeOf(xs), img.d[3]), "");
            in = LLVMBuildAnd(c->b, in, LLVMConstVector(lanes, (unsigned)c->vw), "");
            in = LLVMBuildSelect(c->b, on, in, LLVMConstNull(LLVMTypeOf(in)), "");
            /* not inbounds: the run may start before the image (x < 0), on
             * lanes that are off and not accessed */
            LLVMValueRef i = LLVMBuildSExt(c->b, LLVMBuildAdd(c->b, first, ci32(c, h * c->vw), ""), c->i64, "");
            LLVMValueRef ptr = LLVMBuildGEP2(c->b, c->f32, at(c, off, NULL), &i, 1, "run");
            vec_store_m(c, off, LLVMBuildFAdd(c->b, vec_load_m(c, off, ptr, in), add, ""), ptr, in);
        }
    }
}

/* ---------- implicit col2im: a product summed straight into the image ----------
 * COL2IM(a·b) (a deconvolution's output, a conv's input gradient) adds each
 * element of the product's columns into the pixel it came from.  The
 * product is computed panel by panel as above, its tiles into a buffer on
 * the stack, and each finished panel is added into the image row by row,
 * a run along an image row at a time (add_runs above) or, where the
 * columns' rows are not 4, 8 or a multiple of 16 wide or the stride is
 * above 2, with a gather and a scatter: the pixels of one row (c, ky, kx)
 * of a panel are distinct, so lanes never collide.  An item owns the planes of a block
 * of channels for a group of batch rows: it computes the product rows of
 * those channels over the columns of those batch rows, which add only into
 * its planes, so items never write the same pixel and each pixel sums its
 * terms in one order, whatever the split. */
static LLVMValueRef emit_col2im_product(Cg *c, const Kernel *k, int64_t *items, int64_t *grain)
{
    const Graph *g = c->s->g;
    const Node *nd = &g->n[k->node], *mm = &g->n[nd->in[0]], *im = gathered_b(c, mm);
    Shape img = nd->shape;
    const int *cv = nd->cv;
    int64_t B = img.d[0], C = img.d[1], HW = img.d[2] * img.d[3], kk = cv[0] * cv[1], oy = c->s->off[k->node];
    int64_t YX = ir_conv_out(img.d[2], cv[0], cv[2], cv[3], cv[4]) * ir_conv_out(img.d[3], cv[1], cv[2], cv[3], cv[4]);
    int64_t N = mm->shape.d[1], K = mm->i[0] ? g->n[mm->in[0]].shape.d[0] : g->n[mm->in[0]].shape.d[1];
    int nr = 2 * c->vw, mr = c->mr;
    Mat mb = mat_operand(c, mm->in[1]);
    /* a vector of columns is runs of L along rows of the columns' image
     * (rows a multiple of vw or whole rows: L = vw or their width, 4 or
     * more) added into the image by add_runs() */
    int64_t X = ir_conv_out(img.d[3], cv[1], cv[2], cv[3], cv[4]);
    int L = X % c->vw == 0 ? c->vw : c->vw % X == 0 && X >= 4 ? (int)X : 0;
    if (cv[2] > 2 || ir_numel(img) >= INT32_MAX) L = 0;
    /* channel blocks of about MM_MC product rows; batch groups: batch_group() */
    int64_t cb = MM_MC / kk < 1 ? 1 : MM_MC / kk < C ? MM_MC / kk : C, ncb = (C + cb - 1) / cb;
    int64_t bg = batch_group(B, YX, ncb, nr), nbg = (B + bg - 1) / bg;
    int64_t ntiles = (cb * kk + mr - 1) / mr, nkb = (K + MM_KC - 1) / MM_KC;
    LLVMValueRef lo, hi, epi = product_epilogue(c, k, (Mat){0}, 0, &img);
    kernel_begin(c, "matmul_col2im", &lo, &hi);
    LLVMValueRef bp = LLVMBuildArrayAlloca(c->b, c->f32, ci(c, MM_KC * nr), "panel");
    LLVMValueRef acc = LLVMBuildArrayAlloca(c->b, c->f32, ci(c, ntiles * mr * nr), "tiles");
    LLVMSetAlignment(bp, 64);
    LLVMSetAlignment(acc, 64);
    /* A read transposed (a deconvolution's wᵀ) steps a row of A per k, a
     * page apart: packed once per item, mr floats per k per tile, its
     * reads are sequential for every panel */
    int64_t M = mm->shape.d[0];
    LLVMValueRef apack = NULL, packed = NULL;
    if (mm->i[0] && ntiles * mr * K <= 131072) {   /* 512 KB of stack at most */
        apack = LLVMBuildArrayAlloca(c->b, c->f32, ci(c, ntiles * mr * K), "apack");
        LLVMSetAlignment(apack, 64);
        packed = LLVMBuildAlloca(c->b, c->i64, "packed");   /* the channel block in apack */
        LLVMBuildStore(c->b, ci(c, -1), packed);
    }
    Loop lt, lz, lq, lp, lkb, lm, lr;
    LLVMValueRef t = loop_begin(c, &lt, lo, hi, "item");
    LLVMValueRef c0 = LLVMBuildMul(c->b, LLVMBuildSDiv(c->b, t, ci(c, nbg), ""), ci(c, cb), "c0");
    LLVMValueRef b0 = LLVMBuildMul(c->b, LLVMBuildSRem(c->b, t, ci(c, nbg), ""), ci(c, bg), "b0");
    LLVMValueRef c1 = imin(c, LLVMBuildAdd(c->b, c0, ci(c, cb), ""), ci(c, C));
    LLVMValueRef b1 = imin(c, LLVMBuildAdd(c->b, b0, ci(c, bg), ""), ci(c, B));
    /* zero the item's planes: channels c0..c1-1 are contiguous in each batch row */
    LLVMValueRef b = loop_begin(c, &lz, b0, b1, "zb");
    LLVMValueRef zbase = LLVMBuildMul(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, b, ci(c, C), ""), c0, ""), ci(c, HW), "");
    LLVMValueRef q = loop_begin(c, &lq, ci(c, 0), LLVMBuildMul(c->b, LLVMBuildSub(c->b, c1, c0, ""), ci(c, HW), ""), "zq");
    store(c, cf(c, 0), oy, LLVMBuildAdd(c->b, zbase, q, ""));
    loop_end(c, &lq);
    loop_end(c, &lz);
    LLVMValueRef r0 = LLVMBuildMul(c->b, c0, ci(c, kk), "r0"), r1 = LLVMBuildMul(c->b, c1, ci(c, kk), "r1");
    LLVMValueRef nt = LLVMBuildSDiv(c->b, LLVMBuildAdd(c->b, LLVMBuildSub(c->b, r1, r0, ""), ci(c, mr - 1), ""), ci(c, mr), "nt");
    LLVMValueRef jb = LLVMBuildMul(c->b, b0, ci(c, YX), "jb"), je = LLVMBuildMul(c->b, b1, ci(c, YX), "je");
    LLVMValueRef np = LLVMBuildSDiv(c->b, LLVMBuildAdd(c->b, LLVMBuildSub(c->b, je, jb, ""), ci(c, nr - 1), ""), ci(c, nr), "np");
    if (apack) pack_a(c, apack, packed, c0, nt, r0, c->s->off[mm->in[0]], M, K, 1);
    LLVMValueRef p = loop_begin(c, &lp, ci(c, 0), np, "panel");
    LLVMValueRef n0 = LLVMBuildAdd(c->b, jb, LLVMBuildMul(c->b, p, ci(c, nr), ""), "n0");
    LLVMValueRef pmask[2], smask[2], live[2][16];
    ConvPart cols[2], pix[2], run[2][16];
    MatCols bcols[2];
    for (int v = 0; v < 2; v++) {
        LLVMValueRef j0 = LLVMBuildAdd(c->b, n0, ci(c, v * c->vw), "");
        pmask[v] = below_mask(c, j0, ci(c, N));   /* b's columns */
        if (!L) smask[v] = below_mask(c, j0, je);   /* the item's columns */
        if (im) cols[v] = gather_cols(c, mm, im, j0);
        else bcols[v] = mat_cols(c, mb, j0);
        if (!L) pix[v] = cols_col_part(c, img, cv, lane_indices(c, j0));
        for (int u = 0; L && u < c->vw / L; u++) {   /* each run's first column: its parts; in the item or not */
            LLVMValueRef ju = LLVMBuildAdd(c->b, j0, ci(c, u * L), "");
            run[v][u] = cols_col_part(c, img, cv, LLVMBuildTrunc(c->b, ju, c->i32, ""));
            live[v][u] = LLVMBuildICmp(c->b, LLVMIntSLT, ju, je, "live");
        }
    }
    LLVMValueRef kb = loop_begin(c, &lkb, ci(c, 0), ci(c, nkb), "kb");
    LLVMValueRef kc0 = LLVMBuildMul(c->b, kb, ci(c, MM_KC), "kc0");
    LLVMValueRef kcl = imin(c, ci(c, MM_KC), LLVMBuildSub(c->b, ci(c, K), kc0, ""));
    mm_pack(c, mm, im, bp, kc0, kcl, cols, mb, bcols, pmask, 2);
    LLVMValueRef first = nkb > 1 ? LLVMBuildICmp(c->b, LLVMIntEQ, kb, ci(c, 0), "first") : NULL;
    LLVMValueRef tile = loop_begin(c, &lm, ci(c, 0), nt, "tile");
    LLVMValueRef nomask[2] = {NULL, NULL};
    LLVMValueRef apk = NULL;
    if (apack) {
        LLVMValueRef o = LLVMBuildMul(c->b, tile, ci(c, K * mr), "");
        apk = LLVMBuildInBoundsGEP2(c->b, c->f32, apack, &o, 1, "apk");
    }
    mm_tile(c, mm, LLVMBuildAdd(c->b, r0, LLVMBuildMul(c->b, tile, ci(c, mr), ""), "i0"), bp, kc0, kcl, first, nomask, 2,
            (TileDst){.buf = acc, .row0 = r0, .apack = apk});
    loop_end(c, &lm);
    loop_end(c, &lkb);
    /* add the panel into the image, row (c, ky, kx) by row */
    LLVMValueRef r = loop_begin(c, &lr, r0, r1, "r");
    ConvPart row = cols_row_part(c, img, cv, LLVMBuildTrunc(c->b, r, c->i32, ""));
    LLVMValueRef srow = LLVMBuildMul(c->b, LLVMBuildSub(c->b, r, r0, ""), ci(c, nr), "");
    for (int v = 0; v < 2; v++) {
        LLVMValueRef idx = LLVMBuildAdd(c->b, srow, ci(c, v * c->vw), ""), inside;
        LLVMValueRef val = stack_load(c, LLVMBuildInBoundsGEP2(c->b, c->f32, acc, &idx, 1, ""));
        if (L) {
            add_runs(c, img, oy, row, run[v], live[v], L, cv[2], val);
            continue;
        }
        LLVMValueRef px = conv_pixels(c, img, oy, row, pix[v], smask[v], &inside);
        scatter(c, oy, LLVMBuildFAdd(c->b, gather(c, oy, px, inside), val, ""), px, inside);
    }
    loop_end(c, &lr);
    loop_end(c, &lp);
    call_epilogue(c, epi, b0, b1, c0, c1);   /* the item's planes are final */
    loop_end(c, &lt);
    kernel_end(c);
    *items = ncb * nbg;
    *grain = 1;
    return c->fn;
}

/* ---------- reductions, copies, optimizers ---------- */

/* A vector of node id's values at flat index idx on, for the sum of output
 * j: loaded, or recomputed from its inputs (broadcasts read per output or
 * as a scalar, sched.c remat_fits). */
static LLVMValueRef vec_input(Cg *c, int id, LLVMValueRef idx, LLVMValueRef mask, LLVMValueRef j)
{
    const Graph *g = c->s->g;
    const Node *nd = &g->n[id];
    if (nd->op == OP_CONST) return kf(c, LLVMGetUndef(c->vec), nd->f[0]);
    if (nd->op == OP_BCAST) {
        const Node *src = &g->n[nd->in[0]];
        if (src->op == OP_CONST) return kf(c, LLVMGetUndef(c->vec), src->f[0]);
        return vsplat(c, load(c, c->s->off[nd->in[0]], nd->i[0] == MAP_SCALAR ? ci(c, 0) : j));
    }
    if (c->s->remat[id]) {
        LLVMValueRef a = nd->n_in > 0 ? vec_input(c, nd->in[0], idx, mask, j) : NULL;
        LLVMValueRef b = nd->n_in > 1 ? vec_input(c, nd->in[1], idx, mask, j) : NULL;
        return elem_value(c, nd, id, a, b, NULL);
    }
    int64_t o = c->s->off[id];
    return vload(c, o, idx, mask);
}

static LLVMValueRef emit_reduce(Cg *c, const Kernel *k, int64_t *items, int64_t *grain)
{
    const Graph *g = c->s->g;
    const Node *nd = &g->n[k->node];
    Shape as = g->n[nd->in[0]].shape;
    int64_t n = ir_numel(as), oa = c->s->off[nd->in[0]], oy = c->s->off[k->node];
    LLVMValueRef lo, hi;
    kernel_begin(c, "reduce", &lo, &hi);
    Loop l1, l2, l3;
    switch ((MapMode)nd->i[0]) {
    case MAP_BATCH: {   /* out[f] = sum_b in[b, f], items are f */
        int64_t F = n / as.d[0];
        LLVMValueRef f = loop_begin(c, &l1, lo, hi, "f");
        store(c, cf(c, 0), oy, f);
        loop_end(c, &l1);
        LLVMValueRef b = loop_begin(c, &l2, ci(c, 0), ci(c, as.d[0]), "b");
        LLVMValueRef base = LLVMBuildMul(c->b, b, ci(c, F), "");
        f = loop_begin(c, &l3, lo, hi, "f");
        store(c, LLVMBuildFAdd(c->b, load(c, oy, f), load(c, oa, LLVMBuildAdd(c->b, base, f, "")), ""), oy, f);
        loop_end(c, &l3);
        loop_end(c, &l2);
        *items = F; *grain = 64;
        break;
    }
    case MAP_SCALAR: case MAP_ROW: case MAP_CHANNEL: {
        /* out[j] = sum over the elements mapped to j; items are j.  Each
         * contiguous run is summed a vector at a time into RED_ACC vectors of
         * lane sums (vector q into q mod RED_ACC while whole groups last, the
         * rest, the last masked, into the first), added up at the end in a
         * fixed tree: vectorised, not one chain of dependent adds, and the
         * same order whatever the split. */
        enum { RED_ACC = 4 };
        int64_t J = ir_numel(nd->shape), sp = 1, B = as.rank ? as.d[0] : 1;
        for (int q = 2; q < as.rank; q++) sp *= as.d[q];
        LLVMValueRef accp[RED_ACC];
        for (int u = 0; u < RED_ACC; u++) accp[u] = LLVMBuildAlloca(c->b, c->vec, "acc");
        LLVMValueRef j = loop_begin(c, &l1, lo, hi, "j");
        for (int u = 0; u < RED_ACC; u++) LLVMBuildStore(c->b, LLVMConstNull(c->vec), accp[u]);
        int64_t outer = nd->i[0] == MAP_CHANNEL ? B : 1;
        int64_t len = nd->i[0] == MAP_SCALAR ? n : nd->i[0] == MAP_ROW ? n / B : sp;
        int64_t groups = len / c->vw / RED_ACC;
        LLVMValueRef o = loop_begin(c, &l2, ci(c, 0), ci(c, outer), "o");
        LLVMValueRef base = nd->i[0] == MAP_CHANNEL
            ? LLVMBuildMul(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, o, ci(c, J), ""), j, ""), ci(c, sp), "")
            : LLVMBuildMul(c->b, j, ci(c, len), "");
        if (groups) {
            LLVMValueRef gq = loop_begin(c, &l3, ci(c, 0), ci(c, groups), "gq");
            for (int u = 0; u < RED_ACC; u++) {
                LLVMValueRef q = LLVMBuildMul(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, gq, ci(c, RED_ACC), ""), ci(c, u), ""), ci(c, c->vw), "q");
                LLVMValueRef v = vec_input(c, nd->in[0], LLVMBuildAdd(c->b, base, q, ""), NULL, j);
                LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->vec, accp[u], ""), v, ""), accp[u]);
            }
            loop_end(c, &l3);
        }
        LLVMValueRef qv = loop_begin(c, &l3, ci(c, groups * RED_ACC), ci(c, (len + c->vw - 1) / c->vw), "qv");
        LLVMValueRef q = LLVMBuildMul(c->b, qv, ci(c, c->vw), "q");
        LLVMValueRef mask = len % c->vw ? below_mask(c, q, ci(c, len)) : NULL;
        LLVMValueRef v = vec_input(c, nd->in[0], LLVMBuildAdd(c->b, base, q, ""), mask, j);
        if (mask && c->s->remat[nd->in[0]]) v = LLVMBuildSelect(c->b, mask, v, LLVMConstNull(c->vec), "");
        LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->vec, accp[0], ""), v, ""), accp[0]);
        loop_end(c, &l3);
        loop_end(c, &l2);
        LLVMValueRef sum = LLVMBuildLoad2(c->b, c->vec, accp[0], "");
        for (int u = 1; u < RED_ACC; u++) sum = LLVMBuildFAdd(c->b, sum, LLVMBuildLoad2(c->b, c->vec, accp[u], ""), "");
        for (int w = c->vw / 2; w >= 1; w /= 2) {
            LLVMValueRef idx[64];
            for (int l = 0; l < c->vw; l++) idx[l] = ci32(c, l < w ? l + w : l);
            sum = LLVMBuildFAdd(c->b, sum, LLVMBuildShuffleVector(c->b, sum, LLVMGetUndef(c->vec), LLVMConstVector(idx, (unsigned)c->vw), ""), "");
        }
        store(c, LLVMBuildExtractElement(c->b, sum, ci32(c, 0), ""), oy, j);
        loop_end(c, &l1);
        *items = J; *grain = 1;   /* each output sums its own terms in a fixed order: any split is exact */
        break;
    }
    }
    kernel_end(c);
    return c->fn;
}

/* The outputs x in [*x0, *x1) of a convolution row whose input index
 * x*s + koff lies in [0, n): koff = k*dilation - pad. */
static void conv_range(Cg *c, LLVMValueRef koff, int64_t s, int64_t n, int64_t X, LLVMValueRef *x0, LLVMValueRef *x1)
{
    /* x >= ceil(-koff / s) and x <= floor((n - 1 - koff) / s) */
    LLVMValueRef neg = LLVMBuildNeg(c->b, koff, "");
    LLVMValueRef lo = LLVMBuildSDiv(c->b, LLVMBuildAdd(c->b, imax(c, neg, ci(c, 0)), ci(c, s - 1), ""), ci(c, s), "");
    LLVMValueRef num = LLVMBuildSub(c->b, ci(c, n - 1), koff, "");
    LLVMValueRef hi = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, num, ci(c, 0), ""), ci(c, 0),
                                      LLVMBuildAdd(c->b, LLVMBuildSDiv(c->b, num, ci(c, s), ""), ci(c, 1), ""), "");
    *x1 = imin(c, hi, ci(c, X));
    *x0 = imin(c, lo, *x1);
}

/* IM2COL (items: rows (c,ky,kx) of the columns) and COL2IM (items:
 * channels c, whose planes the item owns, so there are no write races). */
static LLVMValueRef emit_im2col(Cg *c, const Kernel *k, int64_t *items, int64_t *grain)
{
    const Graph *g = c->s->g;
    const Node *nd = &g->n[k->node];
    const int *cv = nd->cv;
    int fwd = nd->op == OP_IM2COL;
    Shape img = fwd ? g->n[nd->in[0]].shape : nd->shape;
    int64_t B = img.d[0], C = img.d[1], H = img.d[2], W = img.d[3];
    int64_t Y = ir_conv_out(H, cv[0], cv[2], cv[3], cv[4]), X = ir_conv_out(W, cv[1], cv[2], cv[3], cv[4]);
    int64_t ncol = B * Y * X, s = cv[2];
    int64_t oimg = fwd ? c->s->off[nd->in[0]] : c->s->off[k->node], ocol = fwd ? c->s->off[k->node] : c->s->off[nd->in[0]];
    LLVMValueRef lo, hi;
    kernel_begin(c, ir_ops[nd->op].name, &lo, &hi);
    Loop lr, lk, lb, ly, lx;
    LLVMValueRef item = loop_begin(c, &lr, lo, hi, fwd ? "row" : "ch");
    if (!fwd) {   /* zero the channel's planes, then add every column in */
        LLVMValueRef b = loop_begin(c, &lb, ci(c, 0), ci(c, B), "b");
        LLVMValueRef base = LLVMBuildMul(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, b, ci(c, C), ""), item, ""), ci(c, H * W), "");
        LLVMValueRef q = loop_begin(c, &lx, ci(c, 0), ci(c, H * W), "q");
        store(c, cf(c, 0), oimg, LLVMBuildAdd(c->b, base, q, ""));
        loop_end(c, &lx);
        loop_end(c, &lb);
    }
    LLVMValueRef r0 = fwd ? item : LLVMBuildMul(c->b, item, ci(c, cv[0] * cv[1]), "");
    LLVMValueRef r = fwd ? r0 : loop_begin(c, &lk, r0, LLVMBuildAdd(c->b, r0, ci(c, cv[0] * cv[1]), ""), "row");
    LLVMValueRef ch = LLVMBuildSDiv(c->b, r, ci(c, cv[0] * cv[1]), "c");
    LLVMValueRef kyx = LLVMBuildSRem(c->b, r, ci(c, cv[0] * cv[1]), "");
    LLVMValueRef ky = LLVMBuildSDiv(c->b, kyx, ci(c, cv[1]), "ky"), kx = LLVMBuildSRem(c->b, kyx, ci(c, cv[1]), "kx");
    LLVMValueRef kyo = LLVMBuildSub(c->b, LLVMBuildMul(c->b, ky, ci(c, cv[4]), ""), ci(c, cv[3]), "kyo");
    LLVMValueRef kxo = LLVMBuildSub(c->b, LLVMBuildMul(c->b, kx, ci(c, cv[4]), ""), ci(c, cv[3]), "kxo");
    LLVMValueRef y0, y1, x0, x1;
    conv_range(c, kyo, s, H, Y, &y0, &y1);
    conv_range(c, kxo, s, W, X, &x0, &x1);
    LLVMValueRef b = loop_begin(c, &lb, ci(c, 0), ci(c, B), "b");
    LLVMValueRef colrow = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, r, ci(c, ncol), ""), LLVMBuildMul(c->b, b, ci(c, Y * X), ""), "");
    LLVMValueRef plane = LLVMBuildMul(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, b, ci(c, C), ""), ch, ""), ci(c, H * W), "");
    if (fwd) {   /* rows outside the image are zero */
        LLVMValueRef q = loop_begin(c, &lx, ci(c, 0), ci(c, Y * X), "q");
        store(c, cf(c, 0), ocol, LLVMBuildAdd(c->b, colrow, q, ""));
        loop_end(c, &lx);
    }
    LLVMValueRef y = loop_begin(c, &ly, y0, y1, "y");
    LLVMValueRef iy = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, y, ci(c, s), ""), kyo, "iy");
    LLVMValueRef crow = LLVMBuildAdd(c->b, colrow, LLVMBuildMul(c->b, y, ci(c, X), ""), "");
    LLVMValueRef irow = LLVMBuildAdd(c->b, plane, LLVMBuildMul(c->b, iy, ci(c, W), ""), "");
    LLVMValueRef x = loop_begin(c, &lx, x0, x1, "x");
    LLVMValueRef ix = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, x, ci(c, s), ""), kxo, "ix");
    LLVMValueRef ci_ = LLVMBuildAdd(c->b, crow, x, ""), pi = LLVMBuildAdd(c->b, irow, ix, "");
    if (fwd) store(c, load(c, oimg, pi), ocol, ci_);
    else store(c, LLVMBuildFAdd(c->b, load(c, oimg, pi), load(c, ocol, ci_), ""), oimg, pi);
    loop_end(c, &lx);
    loop_end(c, &ly);
    loop_end(c, &lb);
    if (!fwd) loop_end(c, &lk);
    loop_end(c, &lr);
    kernel_end(c);
    *items = fwd ? C * cv[0] * cv[1] : C;
    *grain = 1;
    return c->fn;
}

/* AVGPOOL, UPSAMPLE, PAD: items are the B*C output planes. */
static LLVMValueRef emit_spatial(Cg *c, const Kernel *k, int64_t *items, int64_t *grain)
{
    const Graph *g = c->s->g;
    const Node *nd = &g->n[k->node];
    Shape as = g->n[nd->in[0]].shape, os = nd->shape;
    int64_t oa = c->s->off[nd->in[0]], oy = c->s->off[k->node], K = nd->i[0];
    int64_t H = as.d[2], W = as.d[3], OH = os.d[2], OW = os.d[3];
    LLVMValueRef lo, hi;
    kernel_begin(c, ir_ops[nd->op].name, &lo, &hi);
    Loop lp, ly, lx;
    LLVMValueRef pl = loop_begin(c, &lp, lo, hi, "plane");
    LLVMValueRef ib = LLVMBuildMul(c->b, pl, ci(c, H * W), ""), ob = LLVMBuildMul(c->b, pl, ci(c, OH * OW), "");
    LLVMValueRef y = loop_begin(c, &ly, ci(c, 0), ci(c, OH), "y");
    LLVMValueRef x = loop_begin(c, &lx, ci(c, 0), ci(c, OW), "x");
    LLVMValueRef v;
    if (nd->op == OP_AVGPOOL) {
        v = cf(c, 0);
        for (int64_t dy = 0; dy < K; dy++)
            for (int64_t dx = 0; dx < K; dx++) {
                LLVMValueRef iy = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, y, ci(c, K), ""), ci(c, dy), "");
                LLVMValueRef ix = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, x, ci(c, K), ""), ci(c, dx), "");
                v = LLVMBuildFAdd(c->b, v, load(c, oa, LLVMBuildAdd(c->b, ib, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, iy, ci(c, W), ""), ix, ""), "")), "");
            }
        v = LLVMBuildFMul(c->b, v, cf(c, 1.0 / (double)(K * K)), "avg");
    } else if (nd->op == OP_UPSAMPLE) {
        LLVMValueRef iy = LLVMBuildSDiv(c->b, y, ci(c, K), ""), ix = LLVMBuildSDiv(c->b, x, ci(c, K), "");
        v = load(c, oa, LLVMBuildAdd(c->b, ib, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, iy, ci(c, W), ""), ix, ""), ""));
    } else {   /* PAD: a clamped read, zero outside */
        LLVMValueRef iy = LLVMBuildSub(c->b, y, ci(c, K), ""), ix = LLVMBuildSub(c->b, x, ci(c, K), "");
        LLVMValueRef in = LLVMBuildAnd(c->b,
            LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntSGE, iy, ci(c, 0), ""), LLVMBuildICmp(c->b, LLVMIntSLT, iy, ci(c, H), ""), ""),
            LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntSGE, ix, ci(c, 0), ""), LLVMBuildICmp(c->b, LLVMIntSLT, ix, ci(c, W), ""), ""), "in");
        LLVMValueRef cy = imin(c, imax(c, iy, ci(c, 0)), ci(c, H - 1)), cx = imin(c, imax(c, ix, ci(c, 0)), ci(c, W - 1));
        v = LLVMBuildSelect(c->b, in, load(c, oa, LLVMBuildAdd(c->b, ib, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, cy, ci(c, W), ""), cx, ""), "")), cf(c, 0), "pad");
    }
    store(c, v, oy, LLVMBuildAdd(c->b, ob, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, y, ci(c, OW), ""), x, ""), ""));
    loop_end(c, &lx);
    loop_end(c, &ly);
    loop_end(c, &lp);
    kernel_end(c);
    *items = os.d[0] * os.d[1];
    *grain = 1;
    return c->fn;
}

/* batch_matmul: emit_matmul's body for the first of its P products (the
 * node seen for a moment as that MATMUL), called by the kernel once per
 * product p that its item range touches, with the offsets of a, b and the
 * result advanced by p products.  Items are (p, an item of one product). */
static LLVMValueRef emit_bmatmul(Cg *c, const Kernel *k, int64_t *items, int64_t *grain)
{
    Graph *g = (Graph *)c->s->g;
    int id = k->node, in[2] = {g->n[id].in[0], g->n[id].in[1]};
    ir_assert(in[0] != in[1] && g->n[id].shape.rank == 3);
    Node save = g->n[id];
    Shape sv[2] = {g->n[in[0]].shape, g->n[in[1]].shape}, *sh[3] = {&g->n[in[0]].shape, &g->n[in[1]].shape, &g->n[id].shape};
    int64_t P = save.shape.d[0], off[3] = {c->s->off[in[0]], c->s->off[in[1]], c->s->off[id]}, step[3];
    for (int q = 0; q < 3; q++) {
        step[q] = ir_numel(*sh[q]) / P;
        *sh[q] = ir_shape(2, sh[q]->d[1], sh[q]->d[2]);
    }
    g->n[id].op = OP_MATMUL;
    LLVMValueRef kfn = emit_matmul(c, k, items, grain);
    g->n[id] = save;
    g->n[in[0]].shape = sv[0];
    g->n[in[1]].shape = sv[1];
    /* the kernel's call of the body, remade as a loop over products */
    LLVMBasicBlockRef bb = LLVMGetEntryBasicBlock(kfn);
    LLVMValueRef call = LLVMGetFirstInstruction(bb);
    while (LLVMGetInstructionOpcode(call) != LLVMCall) call = LLVMGetNextInstruction(call);
    LLVMValueRef body = LLVMGetCalledValue(call), args[3 + CG_SLOTS];
    int shifted = 0;
    for (int j = 0; j < 3 + CG_SLOTS; j++) args[j] = LLVMGetOperand(call, (unsigned)j);
    LLVMDeleteBasicBlock(bb);
    c->fn = kfn;
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->cx, kfn, "entry"));
    int64_t I = *items;
    LLVMValueRef lo = LLVMGetParam(kfn, 1), hi = LLVMGetParam(kfn, 2);
    Loop lp;
    LLVMValueRef p = loop_begin(c, &lp, LLVMBuildSDiv(c->b, lo, ci(c, I), ""),
                                LLVMBuildSDiv(c->b, LLVMBuildAdd(c->b, hi, ci(c, I - 1), ""), ci(c, I), ""), "p");
    LLVMValueRef base = LLVMBuildMul(c->b, p, ci(c, I), "");
    LLVMValueRef pa[3 + CG_SLOTS];
    pa[0] = LLVMGetParam(kfn, 0);
    pa[1] = LLVMBuildSub(c->b, imax(c, lo, base), base, "");
    pa[2] = LLVMBuildSub(c->b, imin(c, hi, LLVMBuildAdd(c->b, base, ci(c, I), "")), base, "");
    for (int j = 0; j < CG_SLOTS; j++) {
        pa[3 + j] = args[3 + j];
        for (int q = 0; q < 3 && j < c->last_n_slot; q++)
            if (!c->slot_fn[j] && !c->slot_val[j] && c->slot[j] == off[q]) {
                pa[3 + j] = LLVMBuildAdd(c->b, args[3 + j], LLVMBuildMul(c->b, p, ci(c, step[q]), ""), "");
                shifted |= 1 << q;
            }
    }
    ir_assert(shifted == 7);   /* every operand's offset is a parameter */
    LLVMBuildCall2(c->b, c->kbody_t, body, pa, 3 + CG_SLOTS, "");
    loop_end(c, &lp);
    LLVMBuildRetVoid(c->b);
    *items = P * I;
    return kfn;
}

/* The sum of coef[q] * v[q] over the nonzero coefficients (v: vectors). */
static LLVMValueRef lin(Cg *c, const LLVMValueRef *v, const double *coef, int n)
{
    LLVMValueRef s = NULL;
    for (int q = 0; q < n; q++) {
        double k = (float)coef[q];
        if (k == 0) continue;
        if (k == 1 || k == -1) {
            if (!s) s = k < 0 ? LLVMBuildFNeg(c->b, v[q], "") : v[q];
            else s = k < 0 ? LLVMBuildFSub(c->b, s, v[q], "") : LLVMBuildFAdd(c->b, s, v[q], "");
        } else {
            LLVMValueRef kv = vsplat(c, cf(c, k));
            s = s ? fma3(c, v[q], kv, s) : LLVMBuildFMul(c->b, v[q], kv, "");
        }
    }
    return s ? s : LLVMConstNull(c->vec);
}

/* Transposes the vw x vw matrix whose rows are the vectors v[]: in log2(vw)
 * steps, each exchanging the off-diagonal h x h blocks of every 2h x 2h
 * block (two shuffles of two vectors per pair of rows). */
static void transpose_vw(Cg *c, LLVMValueRef *v)
{
    for (int h = c->vw / 2; h >= 1; h /= 2)
        for (int i = 0; i < c->vw; i++) {
            if (i & h) continue;
            LLVMValueRef lo[64], hi[64], a = v[i], b = v[i + h];
            for (int l = 0; l < c->vw; l++) {
                lo[l] = ci32(c, l & h ? c->vw + l - h : l);
                hi[l] = ci32(c, l & h ? c->vw + l : l + h);
            }
            v[i] = LLVMBuildShuffleVector(c->b, a, b, LLVMConstVector(lo, (unsigned)c->vw), "tlo");
            v[i + h] = LLVMBuildShuffleVector(c->b, a, b, LLVMConstVector(hi, (unsigned)c->vw), "thi");
        }
}

/* Winograd transforms (ir.h Wino).  The image is [L, P, H, W]: for x and y
 * lanes L are images and planes P channels, for weights L are output
 * channels and P input channels.  Items are (plane, vw lanes); an item runs
 * over its plane's polyphase components, a vector of lanes at a time.
 * Planes of up to 4096 pixels are read (or written) whole, a vector of
 * each lane's consecutive pixels at a time, and transposed through a
 * buffer on the stack into vectors of one pixel of every lane (bigger ones
 * are gathered and scattered pixel by pixel).  The part of a component that
 * its tiles cover (tiles overlap in WINO_IN) is copied once between that
 * and a second buffer; each tile reads or adds into the second buffer, and
 * reads or writes the transform (columns t*B + b of x's and y's transforms
 * are consecutive images, the weights' have output channels consecutive:
 * whole vectors).  A tile is multiplied on both sides by the constant
 * matrix as sums of its nonzero terms.  Pixels of the adjoint of WINO_IN
 * that no component covers are zeroed. */
static LLVMValueRef emit_wino(Cg *c, const Kernel *k, int64_t *items, int64_t *grain)
{
    const Graph *g = c->s->g;
    const Node *nd = &g->n[k->node];
    int toimg = (nd->op == OP_WINO_OUT) != nd->cv[4];
    int ximg = toimg ? k->node : nd->in[0], xdom = toimg ? nd->in[0] : k->node;
    Shape img = g->n[ximg].shape;
    Wino w = ir_wino(nd, img);
    int64_t L = img.d[0], P = img.d[1], H = img.d[2], W = img.d[3], ss = (int64_t)w.s * w.s, T = w.ty * w.tx;
    int64_t oi = c->s->off[ximg], od = c->s->off[xdom], N = T * L;
    int A = w.A, n, S, Pd, comps;
    int64_t Sxi, SP, Sc, St;   /* transform strides of xi, plane, component, tile (lanes: 1) */
    double AT[64], G[64], BT[64], K[64];   /* K[i*A + xi]: image index i, transform index xi */
    ir_wino_mats(w.m, w.r, AT, G, BT);
    if (nd->op == OP_WINO_IN) {
        n = A, S = w.s, Pd = w.p, comps = (int)ss, Sxi = P * ss * N, SP = ss * N, Sc = N, St = L;
        for (int i = 0; i < n; i++) for (int xi = 0; xi < A; xi++) K[i * A + xi] = BT[xi * A + i];
    } else if (nd->op == OP_WINO_OUT) {
        n = w.m, S = 1, Pd = 0, comps = 1, Sxi = P * N, SP = N, Sc = 0, St = L;
        for (int i = 0; i < n; i++) for (int xi = 0; xi < A; xi++) K[i * A + xi] = AT[i * A + xi];
    } else {
        n = w.r, S = w.s, Pd = 0, comps = (int)ss, Sxi = L * P * ss, SP = ss * L, Sc = L, St = 0;
        for (int i = 0; i < n; i++) for (int xi = 0; xi < A; xi++) K[i * A + xi] = G[xi * w.r + i];
    }
    /* the component's rows and columns that its tiles cover */
    int64_t Ry = (w.ty - 1) * w.m + n, Rx = (w.tx - 1) * w.m + n;
    ir_assert(ir_numel(img) < INT32_MAX && ir_numel(g->n[xdom].shape) < INT32_MAX && Ry * Rx <= 4096);   /* sema.c wino_tile */
    int uncovered = nd->op == OP_WINO_IN && toimg && (H - 1 + Pd >= S * Ry || W - 1 + Pd >= S * Rx);
    int64_t ngr = (L + c->vw - 1) / c->vw;
    /* an image written (not the weights' gradient): the elementwise kernel
     * after it may run as its epilogue, on each item's planes */
    LLVMValueRef lo, hi, epi = toimg && nd->op != OP_WINO_W ? product_epilogue(c, k, (Mat){0}, 0, &img) : NULL;
    kernel_begin(c, ir_ops[nd->op].name, &lo, &hi);
    LLVMValueRef buf = LLVMBuildArrayAlloca(c->b, c->f32, ci(c, Ry * Rx * c->vw), "plane");
    LLVMSetAlignment(buf, 64);
    /* tr: the item's planes are read (or written) whole, a vector of vw
     * pixels of each lane at a time, and transposed through tbuf, whose
     * vector p holds pixel p of every lane: no gathers or scatters */
    int64_t nch = (H * W + c->vw - 1) / c->vw;
    int tr = nch * c->vw <= 4096;
    LLVMValueRef tbuf = NULL;
    if (tr) {
        tbuf = LLVMBuildArrayAlloca(c->b, c->f32, ci(c, nch * c->vw * c->vw), "lanes");
        LLVMSetAlignment(tbuf, 64);
    }
    LLVMTypeRef vi = LLVMVectorType(c->i32, (unsigned)c->vw);
    Loop lt, lc, lq, lz, lp;
    LLVMValueRef t = loop_begin(c, &lt, lo, hi, "item");
    LLVMValueRef pl = LLVMBuildSDiv(c->b, t, ci(c, ngr), "plane"), l0 = LLVMBuildMul(c->b, LLVMBuildSRem(c->b, t, ci(c, ngr), ""), ci(c, c->vw), "l0");
    LLVMValueRef lanes = lane_indices(c, l0), lmask = L % c->vw ? below_mask(c, l0, ci(c, L)) : NULL, on = on_mask(c, lmask);
    LLVMValueRef imgl = LLVMBuildMul(c->b, lanes, kconst(c, vi, P * H * W), "imgl");
    LLVMValueRef pimg = LLVMBuildMul(c->b, pl, ci(c, H * W), "pimg");
    if (uncovered && !tr) {   /* pixels no component covers: each lane's plane zeroed, a vector at a time */
        Loop lv;
        LLVMValueRef l = loop_begin(c, &lz, l0, imin(c, LLVMBuildAdd(c->b, l0, ci(c, c->vw), ""), ci(c, L)), "zl");
        LLVMValueRef row = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, l, ci(c, P * H * W), ""), pimg, "");
        LLVMValueRef q = loop_begin(c, &lv, ci(c, 0), ci(c, (H * W + c->vw - 1) / c->vw), "zq");
        LLVMValueRef e = LLVMBuildMul(c->b, q, ci(c, c->vw), "");
        vstore(c, LLVMConstNull(c->vec), oi, LLVMBuildAdd(c->b, row, e, ""), (H * W) % c->vw ? below_mask(c, e, ci(c, H * W)) : NULL);
        loop_end(c, &lv);
        loop_end(c, &lz);
    }
#define TBUFAT(p) LLVMBuildInBoundsGEP2(c->b, c->f32, tbuf, (LLVMValueRef[]){LLVMBuildMul(c->b, p, ci(c, c->vw), "")}, 1, "")
    LLVMValueRef tail = NULL, lane_ok[64];
    Loop lk;
    if (tr)
        for (int i = 0; i < c->vw; i++)
            lane_ok[i] = LLVMBuildICmp(c->b, LLVMIntSLT, LLVMBuildAdd(c->b, l0, ci(c, i), ""), ci(c, L), "laneok");
    if (tr && (!toimg || uncovered)) {   /* tbuf filled from the planes, or zeroed where none covers */
        LLVMValueRef ch = loop_begin(c, &lk, ci(c, 0), ci(c, nch), "chunk");
        LLVMValueRef e = LLVMBuildMul(c->b, ch, ci(c, c->vw), "");
        if ((H * W) % c->vw) tail = below_mask(c, e, ci(c, H * W));
        LLVMValueRef v[64];
        for (int i = 0; i < c->vw; i++) {
            if (toimg) { v[i] = LLVMConstNull(c->vec); continue; }
            /* lanes past L read lane L-1's plane (not used) */
            LLVMValueRef l = imin(c, LLVMBuildAdd(c->b, l0, ci(c, i), ""), ci(c, L - 1));
            v[i] = vload(c, oi, LLVMBuildAdd(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, l, ci(c, P * H * W), ""), pimg, ""), e, ""), tail);
        }
        if (!toimg) transpose_vw(c, v);
        for (int p = 0; p < c->vw; p++) stack_store(c, v[p], TBUFAT(LLVMBuildAdd(c->b, e, ci(c, p), "")));
        loop_end(c, &lk);
    }
    LLVMValueRef comp = loop_begin(c, &lc, ci(c, 0), ci(c, comps), "comp");
    LLVMValueRef ca = LLVMBuildSDiv(c->b, comp, ci(c, w.s), "ca"), cb = LLVMBuildSRem(c->b, comp, ci(c, w.s), "cb");
    /* pixel q = (i, j) of the covered part: image row S*i + ca - Pd, column S*j + cb - Pd */
#define PIXEL(q, ptrs, mask, inside, pix) do { \
        LLVMValueRef i_ = LLVMBuildSDiv(c->b, q, ci(c, Rx), ""), j_ = LLVMBuildSRem(c->b, q, ci(c, Rx), ""); \
        LLVMValueRef y_ = LLVMBuildSub(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, i_, ci(c, S), ""), ca, ""), ci(c, Pd), "y"); \
        LLVMValueRef x_ = LLVMBuildSub(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, j_, ci(c, S), ""), cb, ""), ci(c, Pd), "x"); \
        LLVMValueRef in_ = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntULT, y_, ci(c, H), ""), LLVMBuildICmp(c->b, LLVMIntULT, x_, ci(c, W), ""), ""); \
        LLVMValueRef px_ = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, y_, ci(c, W), ""), x_, ""); \
        inside = in_; \
        pix = LLVMBuildSelect(c->b, in_, px_, ci(c, 0), "pix"); \
        ptrs = tr ? NULL : LLVMBuildGEP2(c->b, c->f32, at(c, oi, LLVMBuildAdd(c->b, pimg, px_, "")), &imgl, 1, "ip"); \
        mask = LLVMBuildAnd(c->b, on, vsplat(c, in_), "im"); \
    } while (0)
#define BUFAT(q) LLVMBuildInBoundsGEP2(c->b, c->f32, buf, (LLVMValueRef[]){LLVMBuildMul(c->b, q, ci(c, c->vw), "")}, 1, "")
    if (!toimg) {
        LLVMValueRef q = loop_begin(c, &lp, ci(c, 0), ci(c, Ry * Rx), "px");
        LLVMValueRef ptrs, mask, inside, pix;
        PIXEL(q, ptrs, mask, inside, pix);
        LLVMValueRef v = tr ? LLVMBuildSelect(c->b, inside, stack_load(c, TBUFAT(pix)), LLVMConstNull(c->vec), "")
                            : gather(c, oi, ptrs, mask);
        stack_store(c, v, BUFAT(q));
        loop_end(c, &lp);
    }
    LLVMValueRef tt = loop_begin(c, &lq, ci(c, 0), ci(c, T), "tile");
    LLVMValueRef ty = LLVMBuildSDiv(c->b, tt, ci(c, w.tx), "ty"), tx = LLVMBuildSRem(c->b, tt, ci(c, w.tx), "tx");
    LLVMValueRef b0 = LLVMBuildAdd(c->b, LLVMBuildMul(c->b, ty, ci(c, w.m * Rx), ""), LLVMBuildMul(c->b, tx, ci(c, w.m), ""), "b0");
    LLVMValueRef dbase = LLVMBuildAdd(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, pl, ci(c, SP), ""), LLVMBuildMul(c->b, comp, ci(c, Sc), ""), ""),
                                      LLVMBuildAdd(c->b, LLVMBuildMul(c->b, tt, ci(c, St), ""), l0, ""), "dbase");
    LLVMValueRef bp[64];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) bp[i * n + j] = BUFAT(LLVMBuildAdd(c->b, b0, ci(c, i * Rx + j), ""));
    LLVMValueRef D[64], M1[64], Im[64], tmp[8];
    double kc[8];
    if (!toimg) {   /* D = Kᵀ Im K */
        for (int e = 0; e < n * n; e++) Im[e] = stack_load(c, bp[e]);
        for (int i = 0; i < n; i++)
            for (int xx = 0; xx < A; xx++) {
                for (int j = 0; j < n; j++) tmp[j] = Im[i * n + j], kc[j] = K[j * A + xx];
                M1[i * A + xx] = lin(c, tmp, kc, n);
            }
        for (int xy = 0; xy < A; xy++)
            for (int xx = 0; xx < A; xx++) {
                for (int i = 0; i < n; i++) tmp[i] = M1[i * A + xx], kc[i] = K[i * A + xy];
                vstore(c, lin(c, tmp, kc, n), od, LLVMBuildAdd(c->b, dbase, ci(c, (xy * A + xx) * Sxi), ""), lmask);
            }
    } else {   /* Im = K D Kᵀ, added into the buffer */
        for (int xi = 0; xi < A * A; xi++) D[xi] = vload(c, od, LLVMBuildAdd(c->b, dbase, ci(c, xi * Sxi), ""), lmask);
        for (int xy = 0; xy < A; xy++)
            for (int j = 0; j < n; j++) {
                for (int xx = 0; xx < A; xx++) tmp[xx] = D[xy * A + xx], kc[xx] = K[j * A + xx];
                M1[xy * n + j] = lin(c, tmp, kc, A);
            }
        /* tiles in row-major order: the first ov rows (columns) of a tile
         * add to what the tile above (to the left) wrote, unless it is in
         * the first row (column); the rest are stored (no zeroing) */
        int ov = n - w.m;
        LLVMValueRef up = LLVMBuildICmp(c->b, LLVMIntSGT, ty, ci(c, 0), "up"), left = LLVMBuildICmp(c->b, LLVMIntSGT, tx, ci(c, 0), "left");
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                for (int xy = 0; xy < A; xy++) tmp[xy] = M1[xy * n + j], kc[xy] = K[i * A + xy];
                LLVMValueRef v = lin(c, tmp, kc, A);
                if (i < ov || j < ov) {   /* (the load before any store is discarded by the select) */
                    LLVMValueRef add = i < ov && j < ov ? LLVMBuildOr(c->b, up, left, "") : i < ov ? up : left;
                    v = LLVMBuildSelect(c->b, add, LLVMBuildFAdd(c->b, stack_load(c, bp[i * n + j]), v, ""), v, "");
                }
                stack_store(c, v, bp[i * n + j]);
            }
    }
    loop_end(c, &lq);
    if (toimg) {   /* the component's pixels (disjoint from the other components') */
        Loop ls;
        LLVMValueRef q2 = loop_begin(c, &ls, ci(c, 0), ci(c, Ry * Rx), "px");
        LLVMValueRef ptrs, mask, inside, pix;
        PIXEL(q2, ptrs, mask, inside, pix);
        LLVMValueRef v = stack_load(c, BUFAT(q2));
        if (tr) {   /* pixels outside the image: pixel 0 written back unchanged */
            LLVMValueRef tp = TBUFAT(pix);
            stack_store(c, LLVMBuildSelect(c->b, inside, v, stack_load(c, tp), ""), tp);
        } else {
            scatter(c, oi, v, ptrs, mask);
        }
        loop_end(c, &ls);
    }
    loop_end(c, &lc);
    if (tr && toimg) {   /* the planes back, a vector of each lane's pixels at a time */
        LLVMValueRef ch = loop_begin(c, &lk, ci(c, 0), ci(c, nch), "chunk");
        LLVMValueRef e = LLVMBuildMul(c->b, ch, ci(c, c->vw), ""), v[64];
        if ((H * W) % c->vw) tail = below_mask(c, e, ci(c, H * W));
        for (int p = 0; p < c->vw; p++) v[p] = stack_load(c, TBUFAT(LLVMBuildAdd(c->b, e, ci(c, p), "")));
        transpose_vw(c, v);
        for (int i = 0; i < c->vw; i++) {
            LLVMValueRef l = LLVMBuildAdd(c->b, l0, ci(c, i), "");
            LLVMValueRef m = vsplat(c, lane_ok[i]);
            vstore(c, v[i], oi, LLVMBuildAdd(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, l, ci(c, P * H * W), ""), pimg, ""), e, ""),
                   tail ? LLVMBuildAnd(c->b, tail, m, "") : m);
        }
        loop_end(c, &lk);
    }
    if (epi) call_epilogue(c, epi, l0, imin(c, LLVMBuildAdd(c->b, l0, ci(c, c->vw), ""), ci(c, L)), pl, LLVMBuildAdd(c->b, pl, ci(c, 1), ""));
#undef PIXEL
#undef BUFAT
#undef TBUFAT
    loop_end(c, &lt);
    kernel_end(c);
    *items = P * ngr;
    *grain = 1;
    return c->fn;
}

static LLVMValueRef emit_copy(Cg *c, const Kernel *k, int64_t *items, int64_t *grain)
{
    const Node *nd0 = &c->s->g->n[k->node];
    if (nd0->op == OP_COL2IM && c->s->folded[nd0->in[0]]) return emit_col2im_product(c, k, items, grain);
    if (nd0->op == OP_SWAP01 && c->s->folded[sched_owner(c->s->g, nd0->in[0])]) return emit_matmul(c, k, items, grain);
    if (nd0->op == OP_IM2COL || nd0->op == OP_COL2IM) return emit_im2col(c, k, items, grain);
    if (nd0->op == OP_AVGPOOL || nd0->op == OP_UPSAMPLE || nd0->op == OP_PAD) return emit_spatial(c, k, items, grain);
    if (nd0->op == OP_BMATMUL) return emit_bmatmul(c, k, items, grain);
    if (nd0->op == OP_WINO_IN || nd0->op == OP_WINO_OUT || nd0->op == OP_WINO_W) return emit_wino(c, k, items, grain);
    const Graph *g = c->s->g;
    const Node *nd = &g->n[k->node];
    Shape as = g->n[nd->in[0]].shape;
    int64_t oa = c->s->off[nd->in[0]], oy = c->s->off[k->node];
    LLVMValueRef lo, hi;
    kernel_begin(c, ir_ops[nd->op].name, &lo, &hi);
    Loop l1, l2;
    if (nd->op == OP_SWAP01) {   /* y[j, i, :] = a[i, j, :]; items are (j, i) */
        int64_t d0 = as.d[0], d1 = as.d[1], in = ir_numel(as) / (d0 * d1);
        LLVMValueRef t = loop_begin(c, &l1, lo, hi, "t");
        LLVMValueRef j = LLVMBuildSDiv(c->b, t, ci(c, d0), "j"), i = LLVMBuildSRem(c->b, t, ci(c, d0), "i");
        LLVMValueRef src = LLVMBuildMul(c->b, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, i, ci(c, d1), ""), j, ""), ci(c, in), "");
        LLVMValueRef dst = LLVMBuildMul(c->b, t, ci(c, in), "");
        LLVMValueRef q = loop_begin(c, &l2, ci(c, 0), ci(c, in), "q");
        store(c, load(c, oa, LLVMBuildAdd(c->b, src, q, "")), oy, LLVMBuildAdd(c->b, dst, q, ""));
        loop_end(c, &l2);
        loop_end(c, &l1);
        *items = d0 * d1; *grain = in >= 256 ? 1 : 256 / in;
    } else if (nd->op == OP_TRANSPOSE) {   /* y[j, i] = a[i, j]; items are blocks of 16 rows j of y */
        int64_t R = as.d[0], C = as.d[1], nb = (C + 15) / 16;
        Loop l3;
        LLVMValueRef jb = loop_begin(c, &l1, lo, hi, "jb");
        LLVMValueRef j0 = LLVMBuildMul(c->b, jb, ci(c, 16), "j0");
        LLVMValueRef j1 = imin(c, LLVMBuildAdd(c->b, j0, ci(c, 16), ""), ci(c, C));
        LLVMValueRef i = loop_begin(c, &l2, ci(c, 0), ci(c, R), "i");   /* one line of a, 16 rows of y */
        LLVMValueRef j = loop_begin(c, &l3, j0, j1, "j");
        store(c, load(c, oa, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, i, ci(c, C), ""), j, "")), oy,
              LLVMBuildAdd(c->b, LLVMBuildMul(c->b, j, ci(c, R), ""), i, ""));
        loop_end(c, &l3);
        loop_end(c, &l2);
        loop_end(c, &l1);
        *items = nb; *grain = 1;
    } else {   /* CONCAT / SLICE along axis: items are the outer index */
        int ax = nd->i[0];
        int64_t outer = 1, inner = 1;
        for (int q = 0; q < ax; q++) outer *= as.d[q];
        for (int q = ax + 1; q < as.rank; q++) inner *= as.d[q];
        LLVMValueRef o = loop_begin(c, &l1, lo, hi, "o");
        int64_t ly = nd->shape.d[ax] * inner;
        if (nd->op == OP_SLICE) {
            int64_t la = as.d[ax] * inner, st = nd->i[1] * inner;
            LLVMValueRef q = loop_begin(c, &l2, ci(c, 0), ci(c, ly), "q");
            store(c, load(c, oa, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, o, ci(c, la), ""), LLVMBuildAdd(c->b, q, ci(c, st), ""), "")),
                  oy, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, o, ci(c, ly), ""), q, ""));
            loop_end(c, &l2);
        } else {
            for (int part = 0; part < 2; part++) {
                int src = nd->in[part];
                int64_t ls = g->n[src].shape.d[ax] * inner, skip = part ? as.d[ax] * inner : 0;
                LLVMValueRef q = loop_begin(c, &l2, ci(c, 0), ci(c, ls), "q");
                LLVMValueRef v = g->n[src].op == OP_CONST ? cf(c, g->n[src].f[0])
                                 : load(c, c->s->off[src], LLVMBuildAdd(c->b, LLVMBuildMul(c->b, o, ci(c, ls), ""), q, ""));
                store(c, v, oy, LLVMBuildAdd(c->b, LLVMBuildMul(c->b, o, ci(c, ly), ""), LLVMBuildAdd(c->b, q, ci(c, skip), ""), ""));
                loop_end(c, &l2);
            }
        }
        loop_end(c, &l1);
        *items = outer; *grain = 1;
    }
    kernel_end(c);
    return c->fn;
}

static LLVMValueRef emit_gradcopy(Cg *c, const Kernel *k, int64_t *items, int64_t *grain)
{
    const Node *nd = &c->s->g->n[k->node];
    LLVMValueRef lo, hi;
    kernel_begin(c, "gradcopy", &lo, &hi);
    Loop l;
    LLVMValueRef i = loop_begin(c, &l, lo, hi, "i");
    store(c, nd->op == OP_CONST ? cf(c, nd->f[0]) : load(c, c->s->off[k->node], i), k->dst, i);
    loop_end(c, &l);
    kernel_end(c);
    *items = k->len; *grain = 4096;
    return c->fn;
}

/* Adam (PyTorch's form) or SGD with momentum over all of one network's
 * parameters at once: the gradients are contiguous. */
static LLVMValueRef emit_opt(Cg *c, const Kernel *k, int64_t *items, int64_t *grain)
{
    const Schedule *s = c->s;
    const OptSpec *o = &s->p->opt[k->net];
    int net = k->net;
    LLVMValueRef lo, hi;
    kernel_begin(c, k->kind == KN_ADAM ? "adam" : "sgd", &lo, &hi);
    LLVMValueRef lr = load(c, s->scalars + (net == NET_D ? GANRT_S_D_LR : GANRT_S_G_LR), NULL);
    LLVMValueRef bc1 = load(c, s->scalars + (net == NET_D ? GANRT_S_D_BC1 : GANRT_S_G_BC1), NULL);
    LLVMValueRef bc2 = load(c, s->scalars + (net == NET_D ? GANRT_S_D_BC2 : GANRT_S_G_BC2), NULL);
    Loop l;
    LLVMValueRef i = loop_begin(c, &l, lo, hi, "i");
    LLVMValueRef p = load(c, s->p_off[net], i), gr = load(c, s->g_off[net], i), m = load(c, s->m_off[net], i);
    if (k->kind == KN_ADAM) {
        LLVMValueRef v = load(c, s->v_off[net], i);
        m = fma3(c, m, cf(c, o->beta1), LLVMBuildFMul(c->b, gr, cf(c, 1 - o->beta1), ""));
        v = fma3(c, v, cf(c, o->beta2), LLVMBuildFMul(c->b, LLVMBuildFMul(c->b, gr, gr, ""), cf(c, 1 - o->beta2), ""));
        LLVMValueRef den = LLVMBuildFAdd(c->b, call1(c, "llvm.sqrt.f32", c->f32, LLVMBuildFMul(c->b, v, bc2, ""), "sq"), cf(c, o->eps), "den");
        LLVMValueRef step = LLVMBuildFDiv(c->b, LLVMBuildFMul(c->b, LLVMBuildFMul(c->b, m, bc1, ""), lr, ""), den, "step");
        store(c, m, s->m_off[net], i);
        store(c, v, s->v_off[net], i);
        store(c, LLVMBuildFSub(c->b, p, step, ""), s->p_off[net], i);
    } else {
        m = fma3(c, m, cf(c, o->momentum), gr);
        store(c, m, s->m_off[net], i);
        store(c, LLVMBuildFSub(c->b, p, LLVMBuildFMul(c->b, lr, m, ""), ""), s->p_off[net], i);
    }
    loop_end(c, &l);
    kernel_end(c);
    *items = s->p_len[net]; *grain = 4096;
    return c->fn;
}

/* ---------- step functions ---------- */

static void emit_section(Cg *c, int q, const char *name)
{
    const Section *sec = c->sec = &c->s->sec[q];
    LLVMValueRef *fns = malloc(((size_t)sec->n + 1) * sizeof *fns);
    int64_t *items = malloc(((size_t)sec->n + 1) * sizeof *items), *grain = malloc(((size_t)sec->n + 1) * sizeof *grain);
    ir_assert(fns && items && grain);
    for (int k = 0; k < sec->n; k++) {
        const Kernel *kn = &sec->k[k];
        fns[k] = NULL;
        switch (kn->kind) {
        case KN_ELEM: fns[k] = kn->absorbed ? NULL : emit_elem(c, kn, &items[k], &grain[k]); break;
        case KN_MATMUL: fns[k] = emit_matmul(c, kn, &items[k], &grain[k]); break;
        case KN_REDUCE: fns[k] = emit_reduce(c, kn, &items[k], &grain[k]); break;
        case KN_COPY: fns[k] = emit_copy(c, kn, &items[k], &grain[k]); break;
        case KN_GRADCOPY: fns[k] = emit_gradcopy(c, kn, &items[k], &grain[k]); break;
        case KN_ADAM: case KN_SGD: fns[k] = emit_opt(c, kn, &items[k], &grain[k]); break;
        case KN_STORE: break;
        }
    }
    c->fn = LLVMAddFunction(c->m, name, c->stepfn_t);
    c->arena = LLVMGetParam(c->fn, 0);
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->cx, c->fn, "entry"));
    for (int k = 0; k < sec->n; k++) {
        const Kernel *kn = &sec->k[k];
        if (kn->kind == KN_STORE) {
            store(c, kn->node >= 0 ? load(c, c->s->off[kn->node], NULL) : cf(c, NAN), kn->dst, NULL);
            continue;
        }
        if (!fns[k]) continue;
        if (items[k] <= grain[k]) {
            /* at most a few thousand floats, once a step: see cold_bodies() */
            if (kn->kind == KN_ELEM || kn->kind == KN_GRADCOPY || kn->kind == KN_ADAM || kn->kind == KN_SGD)
                add_attr(c, fns[k], "cold");
            LLVMValueRef args[3] = {c->arena, ci(c, 0), ci(c, items[k])};
            LLVMBuildCall2(c->b, c->kfn_t, fns[k], args, 3, "");
        } else {
            LLVMValueRef args[4] = {fns[k], c->arena, ci(c, items[k]), ci(c, grain[k])};
            LLVMBuildCall2(c->b, c->par_t, c->par, args, 4, "");
        }
    }
    LLVMBuildRetVoid(c->b);
    free(fns); free(items); free(grain);
}

/* ---------- the model descriptor ---------- */

static LLVMValueRef cstr(Cg *c, const char *s)
{
    if (!s) return LLVMConstNull(LLVMPointerType(c->i8, 0));
    LLVMValueRef init = LLVMConstStringInContext(c->cx, s, (unsigned)strlen(s), 0);
    LLVMValueRef gv = LLVMAddGlobal(c->m, LLVMTypeOf(init), "str");
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    LLVMValueRef z[2] = {ci32(c, 0), ci32(c, 0)};
    return LLVMConstInBoundsGEP2(LLVMTypeOf(init), gv, z, 2);
}

static LLVMValueRef dims(Cg *c, Shape s, int n)
{
    LLVMValueRef v[4];
    for (int k = 0; k < n; k++) v[k] = ci(c, k < s.rank ? s.d[k] : 0);
    return LLVMConstArray(c->i64, v, (unsigned)n);
}

static void emit_model(Cg *c, LLVMValueRef steps[4])
{
    const Schedule *s = c->s;
    const Program *p = s->p;
    const Graph *g = s->g;
    LLVMTypeRef ps = LLVMPointerType(c->i8, 0), a4 = LLVMArrayType(c->i64, 4), a3 = LLVMArrayType(c->i64, 3);
    LLVMTypeRef tf[] = {ps, c->i32, c->i32, c->i32, c->f64, c->i32, a4, c->i64, c->f64};
    LLVMTypeRef tt = LLVMStructCreateNamed(c->cx, "GanrtTensor");
    LLVMStructSetBody(tt, tf, 9, 0);
    int cap = 4 * (s->n_params[0] + s->n_params[1]) + s->n_bufs + 1, nt = 0;
    LLVMValueRef *tv = malloc((size_t)cap * sizeof *tv);
    ir_assert(tv);
    for (int net = 0; net < 2; net++) {
        int adam = p->opt[net].kind == OPT_ADAM;
        /* roles: weights, first and second moments, G's moving average */
        static const int kind[4] = {GANRT_PARAM, GANRT_MOMENT1, GANRT_MOMENT2, GANRT_EMA};
        for (int role = 0; role < 4; role++) {
            if (role == 2 && !adam) continue;
            if (role == 1 && !adam && p->opt[net].momentum == 0) continue;
            if (role == 3 && (net != NET_G || s->e_off < 0)) continue;
            int64_t rel = 0, base = (int64_t[]){s->p_off[net], s->m_off[net], s->v_off[net], s->e_off}[role];
            const char *prefix = (const char *[]){"", adam ? "adam_m." : "sgd_momentum.", "adam_v.", "ema."}[role];
            for (int k = 0; k < s->n_params[net]; k++) {
                const Node *pn = &g->n[s->params[net][k]];
                char name[256];
                snprintf(name, sizeof name, "%s%s", prefix, pn->name);
                LLVMValueRef f[9] = {cstr(c, name), ci32(c, net == NET_G ? 0 : 1), ci32(c, kind[role]),
                                     ci32(c, role == 0 ? pn->i[1] : GANRT_INIT_ZERO), LLVMConstReal(c->f64, role == 0 ? pn->f[0] : 0),
                                     ci32(c, pn->shape.rank), dims(c, pn->shape, 4), ci(c, base + rel),
                                     LLVMConstReal(c->f64, role == 0 ? pn->f[1] : 0)};
                tv[nt++] = LLVMConstNamedStruct(tt, f, 9);
                rel += (ir_numel(pn->shape) + 15) / 16 * 16;
            }
        }
        for (int k = 0; k < s->n_bufs; k++) {   /* batchnorm running statistics */
            const Node *bn = &g->n[s->bufs[k]];
            if (bn->i[0] != net) continue;
            LLVMValueRef f[9] = {cstr(c, bn->name), ci32(c, net == NET_G ? 0 : 1), ci32(c, GANRT_BUFFER), ci32(c, bn->i[1]),
                                 LLVMConstReal(c->f64, bn->f[0]), ci32(c, bn->shape.rank), dims(c, bn->shape, 4),
                                 ci(c, s->off[s->bufs[k]]), LLVMConstReal(c->f64, bn->f[1])};
            tv[nt++] = LLVMConstNamedStruct(tt, f, 9);
        }
    }
    LLVMValueRef tarr = LLVMConstArray(tt, tv, (unsigned)nt);
    LLVMValueRef tg = LLVMAddGlobal(c->m, LLVMTypeOf(tarr), "ganc_tensors");
    LLVMSetInitializer(tg, tarr);
    LLVMSetGlobalConstant(tg, 1);
    LLVMSetLinkage(tg, LLVMPrivateLinkage);
    LLVMValueRef z2[2] = {ci32(c, 0), ci32(c, 0)};
    LLVMTypeRef fp = LLVMPointerType(c->stepfn_t, 0);
    LLVMTypeRef mf[] = {c->i32, ps, ps, c->i64, c->i64, c->i32, c->i32, ps, c->i32, c->f64, c->f64, c->i32, a3, c->i64,
                        c->i32, c->i64, c->f64, c->f64, c->i64, c->i64, c->i64, c->i32, c->i64, c->i64,
                        c->f64, c->f64, c->f64, c->f64, c->f64, c->f64, c->i32, LLVMPointerType(tt, 0),
                        fp, fp, fp, fp, c->i64, c->f64, c->i64, c->i64, c->i64};
    int nmf = (int)(sizeof mf / sizeof mf[0]);
    LLVMTypeRef mt = LLVMStructCreateNamed(c->cx, "GanrtModel");
    LLVMStructSetBody(mt, mf, (unsigned)nmf, 0);
    LLVMValueRef mv[] = {
        ci32(c, GANRT_ABI_VERSION), cstr(c, p->name), cstr(c, p->source_hash), ci(c, s->arena), ci(c, s->scalars),
        ci32(c, p->batch), ci32(c, p->data), cstr(c, p->data_path), ci32(c, p->data_modes),
        LLVMConstReal(c->f64, p->data_radius), LLVMConstReal(c->f64, p->data_std), ci32(c, p->data_shape.rank),
        dims(c, p->data_shape, 3), ci(c, s->off[s->x]),
        ci32(c, p->noise), ci(c, p->noise_dim), LLVMConstReal(c->f64, p->noise_lo), LLVMConstReal(c->f64, p->noise_hi),
        ci(c, s->off[s->z]), ci(c, s->off[s->fake]),
        ci(c, p->steps), ci32(c, p->n_critic), ci(c, p->sample_every), ci(c, p->checkpoint_every),
        LLVMConstReal(c->f64, p->opt[NET_D].lr), LLVMConstReal(c->f64, p->opt[NET_G].lr),
        LLVMConstReal(c->f64, p->opt[NET_D].beta1), LLVMConstReal(c->f64, p->opt[NET_D].beta2),
        LLVMConstReal(c->f64, p->opt[NET_G].beta1), LLVMConstReal(c->f64, p->opt[NET_G].beta2),
        ci32(c, nt), LLVMConstInBoundsGEP2(LLVMTypeOf(tarr), tg, z2, 2),
        steps[0], steps[1], steps[2], steps[3], ci(c, s->flops),
        LLVMConstReal(c->f64, s->e_off >= 0 ? p->ema : 0), ci(c, s->e_off >= 0 ? s->e_off : 0),
        ci(c, s->p_off[NET_G]), ci(c, s->e_off >= 0 ? s->p_len[NET_G] : 0)};
    ir_assert((int)(sizeof mv / sizeof mv[0]) == nmf);
    LLVMValueRef model = LLVMAddGlobal(c->m, mt, "ganc_model");
    LLVMSetInitializer(model, LLVMConstNamedStruct(mt, mv, (unsigned)nmf));
    LLVMSetGlobalConstant(model, 1);
    free(tv);
}

/* ---------- driver ---------- */

LLVMTargetMachineRef cg_target(const char *cpu, const char *features, int *vw)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    char *triple = LLVMGetDefaultTargetTriple(), *err = NULL;
    char *hcpu = LLVMGetHostCPUName(), *hfeat = LLVMGetHostCPUFeatures();
    LLVMTargetRef t;
    if (LLVMGetTargetFromTriple(triple, &t, &err)) ir_die(__FILE__, __LINE__, err);
    const char *fc = cpu ? cpu : hcpu, *ff = features ? features : hfeat;
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(t, triple, fc, ff, LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                                      LLVMCodeModelDefault);
    *vw = strstr(ff, "+avx512f") ? 16 : strstr(ff, "+avx") ? 8 : 4;
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(hcpu);
    LLVMDisposeMessage(hfeat);
    return tm;
}

LLVMModuleRef cg_module(const Schedule *s, LLVMContextRef cx, LLVMTargetMachineRef tm, int vw)
{
    Cg c = {.s = s, .cx = cx, .vw = vw, .mr = vw >= 16 ? 8 : 6, .n_slot = -1};
    c.m = LLVMModuleCreateWithNameInContext(s->p ? s->p->name : "sched_graph", cx);
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(c.m, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    char *dl = LLVMCopyStringRepOfTargetData(td);
    LLVMSetDataLayout(c.m, dl);
    LLVMDisposeMessage(dl);
    LLVMDisposeTargetData(td);
    c.b = LLVMCreateBuilderInContext(cx);
    c.f32 = LLVMFloatTypeInContext(cx);
    c.f64 = LLVMDoubleTypeInContext(cx);
    c.i1 = LLVMInt1TypeInContext(cx);
    c.i8 = LLVMInt8TypeInContext(cx);
    c.i32 = LLVMInt32TypeInContext(cx);
    c.i64 = LLVMInt64TypeInContext(cx);
    c.pf = LLVMPointerType(c.f32, 0);
    c.vec = LLVMVectorType(c.f32, (unsigned)vw);
    LLVMTypeRef ka[3] = {c.pf, c.i64, c.i64};
    c.kfn_t = LLVMFunctionType(LLVMVoidTypeInContext(cx), ka, 3, 0);
    LLVMTypeRef kb[3 + CG_SLOTS] = {c.pf, c.i64, c.i64};
    for (int j = 3; j < 3 + CG_SLOTS; j++) kb[j] = c.i64;
    c.kbody_t = LLVMFunctionType(LLVMVoidTypeInContext(cx), kb, 3 + CG_SLOTS, 0);
    LLVMTypeRef ke[5] = {c.pf, c.i64, c.i64, c.i64, c.i64};
    c.epi_t = LLVMFunctionType(LLVMVoidTypeInContext(cx), ke, 5, 0);
    c.stepfn_t = LLVMFunctionType(LLVMVoidTypeInContext(cx), &c.pf, 1, 0);
    LLVMTypeRef pa[4] = {LLVMPointerType(c.kfn_t, 0), c.pf, c.i64, c.i64};
    c.par_t = LLVMFunctionType(LLVMVoidTypeInContext(cx), pa, 4, 0);
    c.par = LLVMAddFunction(c.m, "ganrt_parallel", c.par_t);
    for (int vec = 0; vec < 2; vec++) {
        emit_exp(&c, vec);
        emit_log(&c, vec);
        emit_tanh(&c, vec);
    }
    static const char *names[4] = {"ganc_g_forward", "ganc_d_step", "ganc_g_step", "ganc_g_sample"};
    LLVMValueRef steps[4];
    for (int q = 0; q < SEC_COUNT; q++) {
        emit_section(&c, q, names[q]);
        steps[q] = c.fn;
    }
    if (s->p) emit_model(&c, steps);
    LLVMDisposeBuilder(c.b);
    free(c.acc_inst);
    free(c.acc_off);
    for (int k = 0; k < c.n_bodies; k++) free(c.bodies[k].text);
    free(c.bodies);
    return c.m;
}

/* LLVM 14's O2 pipeline (opt -passes='default<O2>' -print-pipeline-passes)
 * without loop unrolling, without the passes that have nothing to do in
 * ganc's code (coroutines, OpenMP, annotations, profiles) and without
 * indvars: it was a quarter of the optimiser's time, spent proving that
 * index arithmetic does not overflow, and left the inner loops of the
 * products as they were (they step pointers of their own: mm_tile; the
 * back end's strength reduction is off too, see main.c).
 * Then without every pass whose removal left the machine code of the
 * benchmark and example models byte for byte the same (one at a time, kept
 * out when still the same with the others out): three of the seven
 * instcombines, the sroa, globalopt, sccp, bdce, adce, memcpyopt,
 * mldst-motion, loop-load-elim, loop-unswitch and loop-instsimplify runs,
 * and others; a sixth less compile time (CPU) for bench/dcgan64.gan.
 * Another LLVM may not parse it: cg_optimize() then runs default<O2>. */
#define SC(opts) "simplifycfg<bonus-inst-threshold=1;" opts ">"
#define SC_KEEP SC("no-forward-switch-cond;switch-range-to-icmp;no-switch-to-lookup;keep-loops;" \
                   "no-hoist-common-insts;no-sink-common-insts")
static const char pipeline[] =
    "inferattrs,"
    "function<eager-inv>(" SC("no-forward-switch-cond;no-switch-range-to-icmp;no-switch-to-lookup;keep-loops;"
                              "no-hoist-common-insts;no-sink-common-insts") ",early-cse<>),"
    "ipsccp,function(mem2reg),deadargelim,"
    "function<eager-inv>(instcombine," SC_KEEP "),"
    "require<globals-aa>,function(invalidate<aa>),require<profile-summary>,"
    "cgscc(devirt<4>(inline<only-mandatory>,inline,function-attrs,function<eager-inv>("
        "early-cse<memssa>,correlated-propagation," SC_KEEP ",tailcallelim," SC_KEEP ",reassociate,"
        "require<opt-remark-emit>,loop-mssa(licm,loop-rotate,licm)," SC_KEEP ",instcombine,"
        "loop(loop-idiom,loop-deletion),gvn<>,jump-threading,correlated-propagation,dse,loop-mssa(licm),"
        SC("no-forward-switch-cond;switch-range-to-icmp;no-switch-to-lookup;keep-loops;hoist-common-insts;"
           "sink-common-insts") "))),"
    "require<globals-aa>,"
    "function<eager-inv>(loop(loop-rotate),"
        "loop-vectorize<no-interleave-forced-only;no-vectorize-forced-only;>,instcombine,"
        SC("forward-switch-cond;switch-range-to-icmp;switch-to-lookup;no-keep-loops;hoist-common-insts;"
           "sink-common-insts") ",slp-vectorizer,vector-combine,instcombine,"
        "require<opt-remark-emit>,loop-mssa(licm)," SC_KEEP "),"
    "globaldce,constmerge";
#undef SC_KEEP
#undef SC

/* Bodies that only cold kernels call (emit_section() marks the elementwise,
 * gradient-copy and optimiser kernels small enough to run unthreaded: a few
 * thousand floats once a step) are not optimised: a thousandth of the step
 * time, a tenth of the compile time.  A body shared with a bigger kernel
 * is optimised. */
static void cold_bodies(LLVMModuleRef m)
{
    LLVMContextRef cx = LLVMGetModuleContext(m);
    unsigned cold = LLVMGetEnumAttributeKindForName("cold", 4), optnone = LLVMGetEnumAttributeKindForName("optnone", 7);
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
        if (LLVMIsDeclaration(f) || LLVMGetEnumAttributeAtIndex(f, LLVMAttributeFunctionIndex, optnone)) continue;
        int callers = 0;
        for (LLVMUseRef u = LLVMGetFirstUse(f); u; u = LLVMGetNextUse(u)) {
            LLVMValueRef i = LLVMGetUser(u);
            LLVMValueRef in = LLVMIsACallInst(i) && LLVMGetCalledValue(i) == f
                                  ? LLVMGetBasicBlockParent(LLVMGetInstructionParent(i)) : NULL;
            if (!in || !LLVMGetEnumAttributeAtIndex(in, LLVMAttributeFunctionIndex, cold)) {
                callers = 0;
                break;
            }
            callers++;
        }
        if (callers) {
            LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(cx, optnone, 0));
            LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                                    LLVMCreateEnumAttribute(cx, LLVMGetEnumAttributeKindForName("noinline", 8), 0));
        }
    }
}

int cg_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm)
{
    char *err = NULL;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &err)) {
        fprintf(stderr, "ganc: internal error: invalid LLVM module:\n%s\n", err);
        LLVMDisposeMessage(err);
        return 0;
    }
    LLVMDisposeMessage(err);
    cold_bodies(m);
    /* O2 without loop unrolling (see pipeline[] above): the loops that
     * matter are vectorised (by cg.c or LLVM's vectorisers, which still
     * interleave), and O3's extras and unrolling made the compiler a third
     * slower for no measurable gain in step time.  $GANC_PASSES names
     * another pipeline. */
    LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(o, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(o, 1);
    LLVMPassBuilderOptionsSetLoopUnrolling(o, 0);
    const char *env = getenv("GANC_PASSES");
    LLVMErrorRef e = LLVMRunPasses(m, env ? env : pipeline, tm, o);
    if (e && !env) {            /* a pipeline this LLVM does not parse: nothing has run */
        LLVMConsumeError(e);
        e = LLVMRunPasses(m, "default<O2>", tm, o);
    }
    LLVMDisposePassBuilderOptions(o);
    if (e) {
        char *msg = LLVMGetErrorMessage(e);
        fprintf(stderr, "ganc: internal error: LLVM passes: %s\n", msg);
        LLVMDisposeErrorMessage(msg);
        return 0;
    }
    return 1;
}

int cg_emit_file(LLVMModuleRef m, LLVMTargetMachineRef tm, const char *path, int assembly)
{
    char *err = NULL;
    if (LLVMTargetMachineEmitToFile(tm, m, (char *)path, assembly ? LLVMAssemblyFile : LLVMObjectFile, &err)) {
        fprintf(stderr, "ganc: error: cannot write %s: %s\n", path, err);
        LLVMDisposeMessage(err);
        return 0;
    }
    return 1;
}
