/* rt_fake_model.c: a hand-written stand-in for a ganc-generated model, used
 * by tests/rt_test.sh to test libganrt without the compiler.
 *
 * G(z) = W z + c (z: 2 normal numbers), D(x) = w.x + b (a logit), the
 * non-saturating objective, Adam for both nets with the runtime's bias
 * corrections, gradients written out by hand.  Two kernels go through
 * ganrt_parallel().  Build variants:
 *   default        ring(8 modes, radius 2, std 0.05), x is [2]
 *   -DFAKE_IDX     images [1,4,4] from "data.idx" (relative to cwd)
 *   -DFAKE_HASH=.. a different source hash (checkpoint mismatch test)
 *   -DFAKE_NAN_AT=k  d_step number k reports a NaN loss
 */
#include <math.h>
#include <string.h>
#include "ganrt.h"

#ifdef FAKE_IDX
#define DX 16
#else
#define DX 2
#endif
#ifndef FAKE_HASH
#define FAKE_HASH "0123456789abcdef"
#endif
#define NZ 2
#define B 32
#define NP (DX * NZ + DX + DX + 1)   /* all parameters, contiguous */

enum {
    GW = 0, GB = GW + DX * NZ, DW = GB + DX, DB = DW + DX,   /* params */
    M1 = NP, M2 = 2 * NP, GRAD = 3 * NP,                     /* moments, grads */
    SC = 4 * NP, Z = SC + GANRT_S_COUNT, X = Z + B * NZ, GOUT = X + B * DX,
    LR = GOUT + B * DX, LF = LR + B, ARENA = LF + B
};

static double softplus(double t) { return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t)); }
static double sigm(double t) { return 1.0 / (1.0 + exp(-t)); }

static void gen_kernel(float *a, int64_t lo, int64_t hi)
{
    for (int64_t i = lo; i < hi; i++)
        for (int o = 0; o < DX; o++) {
            float s = a[GB + o];
            for (int k = 0; k < NZ; k++) s += a[GW + o * NZ + k] * a[Z + i * NZ + k];
            a[GOUT + i * DX + o] = s;
        }
}

static void logit_kernel(float *a, int64_t lo, int64_t hi)
{
    for (int64_t i = lo; i < hi; i++) {
        float r = a[DB], f = a[DB];
        for (int k = 0; k < DX; k++) {
            r += a[DW + k] * a[X + i * DX + k];
            f += a[DW + k] * a[GOUT + i * DX + k];
        }
        a[LR + i] = r;
        a[LF + i] = f;
    }
}

static void adam(float *a, int lo, int hi, float lr, float bc1, float bc2)
{
    for (int p = lo; p < hi; p++) {
        float g = a[GRAD + p];
        a[M1 + p] = 0.5f * a[M1 + p] + 0.5f * g;
        a[M2 + p] = 0.999f * a[M2 + p] + 0.001f * g * g;
        a[p] -= lr * (a[M1 + p] * bc1) / (sqrtf(a[M2 + p] * bc2) + 1e-8f);
    }
}

static void g_forward(float *a) { ganrt_parallel(gen_kernel, a, B, 4); }

static void d_step(float *a)
{
    float *s = a + SC;
    double loss = 0, pr = 0, pf = 0;
    ganrt_parallel(logit_kernel, a, B, 4);
    memset(a + GRAD + DW, 0, (DX + 1) * sizeof(float));
    for (int i = 0; i < B; i++) {
        double r = a[LR + i], f = a[LF + i];
        double dr = -sigm(-r) / B, df = sigm(f) / B;
        loss += (softplus(-r) + softplus(f)) / B;
        pr += sigm(r) / B;
        pf += sigm(f) / B;
        for (int k = 0; k < DX; k++)
            a[GRAD + DW + k] += (float)(dr * a[X + i * DX + k] + df * a[GOUT + i * DX + k]);
        a[GRAD + DB] += (float)(dr + df);
    }
#ifdef FAKE_NAN_AT
    static int calls;
    if (++calls == FAKE_NAN_AT) loss = NAN;
#endif
    s[GANRT_S_D_LOSS] = (float)loss;
    s[GANRT_S_D_REAL] = (float)pr;
    s[GANRT_S_D_FAKE] = (float)pf;
    adam(a, DW, DB + 1, s[GANRT_S_D_LR], s[GANRT_S_D_BC1], s[GANRT_S_D_BC2]);
}

static void g_step(float *a)
{
    float *s = a + SC;
    double loss = 0;
    ganrt_parallel(logit_kernel, a, B, 4);
    memset(a + GRAD, 0, (DX * NZ + DX) * sizeof(float));
    for (int i = 0; i < B; i++) {
        double f = a[LF + i], df = -sigm(-f) / B;
        loss += softplus(-f) / B;
        for (int o = 0; o < DX; o++) {
            double dg = df * a[DW + o];
            for (int k = 0; k < NZ; k++) a[GRAD + GW + o * NZ + k] += (float)(dg * a[Z + i * NZ + k]);
            a[GRAD + GB + o] += (float)dg;
        }
    }
    s[GANRT_S_G_LOSS] = (float)loss;
    adam(a, GW, GB + DX, s[GANRT_S_G_LR], s[GANRT_S_G_BC1], s[GANRT_S_G_BC2]);
}

#define T(nm, net, role, init, a, rank, d0, d1, off) \
    {nm, net, role, init, a, rank, {d0, d1, 0, 0}, off}
#define PARAMS(pre, role, init, base)                                               \
    T(pre "G.0.weight", 0, role, init, 0.70710678, 2, DX, NZ, base + GW),            \
    T(pre "G.0.bias", 0, role, init, 0.70710678, 1, DX, 0, base + GB),               \
    T(pre "D.0.weight", 1, role, init, 1.0 / sqrt(DX), 2, 1, DX, base + DW),         \
    T(pre "D.0.bias", 1, role, init, 1.0 / sqrt(DX), 1, 1, 0, base + DB)
static const GanrtTensor tensors[] = {
    PARAMS("", GANRT_PARAM, GANRT_INIT_UNIFORM, 0),
    PARAMS("adam_m.", GANRT_MOMENT1, GANRT_INIT_ZERO, M1),
    PARAMS("adam_v.", GANRT_MOMENT2, GANRT_INIT_ZERO, M2),
};

const GanrtModel ganc_model = {
    .abi_version = GANRT_ABI_VERSION,
    .name = "fake",
    .source_hash = FAKE_HASH,
    .arena_floats = ARENA,
    .scalars_offset = SC,
    .batch = B,
#ifdef FAKE_IDX
    .data_kind = GANRT_DATA_IDX,
    .data_path = "data.idx",
    .data_rank = 3,
    .data_dim = {1, 4, 4},
#else
    .data_kind = GANRT_DATA_RING,
    .data_modes = 8,
    .data_radius = 2.0,
    .data_std = 0.05,
    .data_rank = 1,
    .data_dim = {2},
#endif
    .x_offset = X,
    .noise_kind = GANRT_NOISE_NORMAL,
    .noise_dim = NZ,
    .z_offset = Z,
    .gout_offset = GOUT,
    .steps = 300,
    .n_critic = 2,
    .sample_every = 100,
    .checkpoint_every = 100,
    .lr_d = 1e-3, .lr_g = 1e-3,
    .beta1_d = 0.5, .beta2_d = 0.999, .beta1_g = 0.5, .beta2_g = 0.999,
    .n_tensors = (int)(sizeof tensors / sizeof tensors[0]),
    .tensors = tensors,
    .g_forward = g_forward, .d_step = d_step, .g_step = g_step, .g_sample = g_forward,
    .flops_per_step = 3 * 4 * B * (DX * NZ + DX),
};
