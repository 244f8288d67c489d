/* cmds.c: the `sample`, `interpolate`, `eval` and `info` commands.
 *
 * sample: loads --ckpt (strictly validated), draws N noise rows from the
 *   stream (--seed, SAMPLE) or reads them from --noise (raw float32), and
 *   writes a PNG grid of ceil(sqrt(N)) columns for images, or a CSV of
 *   points, to -o; an -o ending in .f32 gets the raw float32 samples.
 * interpolate: N walks (default 8) of S images (--steps, default 10).  Walk
 *   i goes from noise row 2i to row 2i+1 of what `sample` draws with the
 *   same seed (or of --noise, 2N rows), so its first and last images are
 *   those samples; in between, the points at t = j/(S-1) on the great
 *   circle through the two (slerp: for normal noise the norms of straight
 *   midpoints shrink to about 1/sqrt(2) of a sample's, which G never saw)
 *   or, for uniform noise or with --lerp, on the straight line.  Writes a
 *   PNG grid with a walk per row, a CSV (walk,t,x,y) for points, or with
 *   -o *.f32 the raw float32 images.
 * eval: prints `key value` lines on stdout.  Toy 2-D data (the
 *   VEEGAN/PacGAN protocol): N samples (default 2500); a sample is high
 *   quality if it lies within 3 data_std (Euclidean) of its nearest mode
 *   centre; a mode is covered if it receives at least 0.8% of N high-quality
 *   samples (20 of 2500, PacGAN's rule).  Prints samples, modes C/M,
 *   modes_covered, modes_total, high_quality (fraction) and mode_kl,
 *   KL(mode histogram of the high-quality samples || uniform).  Image data:
 *   pixel mean and std of N samples (default 1000) and of the first N images,
 *   and the RMS over pixels of the difference of their per-pixel means
 *   (pixel_mean_rmse) and per-pixel standard deviations (pixel_std_rmse).
 * info: the model table in `key value` lines and one `tensor` line per
 *   tensor.
 */
#include "rt.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *load(const GanrtModel *m, const GanrtOpts *o)
{
    if (!o->ckpt) ganrt_die("--ckpt FILE is required");
    float *arena = ganrt_arena_alloc(m);
    GanrtState st;
    ganrt_ckpt_load(m, arena, &st, o->ckpt);
    if (!o->no_ema) ganrt_ema_swap(m, arena);   /* G's moving average, if the program keeps one */
    return arena;
}

/* n noise rows (malloc'd): from --noise, exactly n rows of float32 (what
 * asks for them: `what`), or drawn from the SAMPLE stream of --seed. */
static float *noise_rows(const GanrtModel *m, const GanrtOpts *o, int64_t n, const char *what)
{
    float *z = ganrt_xmalloc((size_t)(n * m->noise_dim) * sizeof(float));
    if (o->noise) {
        FILE *f = fopen(o->noise, "rb");
        if (!f) ganrt_die("%s: %s", o->noise, strerror(errno));
        size_t want = (size_t)(n * m->noise_dim), got = fread(z, sizeof *z, want, f);
        int extra = fgetc(f) != EOF;
        fclose(f);
        if (got != want || extra)
            ganrt_die("%s: needs exactly %lld x %lld float32 values (%s)", o->noise,
                      (long long)n, (long long)m->noise_dim, what);
    } else {
        GanrtRng r;
        ganrt_rng_seed(&r, o->have_seed ? o->seed : 0, GANRT_STREAM_SAMPLE);
        ganrt_fill_noise(m, &r, z, n);
    }
    return z;
}

/* G's n outputs for noise rows z (malloc'd; frees z). */
static float *generate(const GanrtModel *m, float *arena, float *z, int64_t n)
{
    float *out = ganrt_xmalloc((size_t)(n * ganrt_sample_floats(m)) * sizeof(float));
    ganrt_generate(m, arena, z, n, out);
    free(z);
    return out;
}

/* Writes n outputs s to `out`: raw float32 (*.f32), a PNG grid of `cols`
 * columns for images, or CSV points (in walks of `per` when per > 0). */
static void write_out(const GanrtModel *m, const char *out, const float *s, int64_t n, int cols, int64_t per)
{
    size_t len = strlen(out);
    if (len > 4 && !strcmp(out + len - 4, ".f32")) {   /* raw float32, for cross-checks */
        FILE *f = fopen(out, "wb");
        size_t cnt = (size_t)(n * ganrt_sample_floats(m));
        if (!f || fwrite(s, sizeof *s, cnt, f) != cnt || fclose(f)) ganrt_die("%s: cannot write: %s", out, strerror(errno));
    } else if (ganrt_is_image(m)) {
        ganrt_write_grid(out, m, s, n, cols);
    } else {
        ganrt_write_points(out, m, s, n, per);
    }
}

int ganrt_cmd_sample(const GanrtModel *m, const GanrtOpts *o)
{
    int64_t n = o->have_n ? o->n : 64;
    const char *out = o->out ? o->out : ganrt_is_image(m) ? "samples.png" : "samples.csv";
    float *arena = load(m, o), *s = generate(m, arena, noise_rows(m, o, n, "-n rows of the noise size"), n);
    write_out(m, out, s, n, (int)ceil(sqrt((double)n)), 0);
    fprintf(stderr, "%s: wrote %lld samples to %s\n", ganrt_prog, (long long)n, out);
    free(s);
    free(arena);
    return 0;
}

int ganrt_cmd_interpolate(const GanrtModel *m, const GanrtOpts *o)
{
    int64_t walks = o->have_n ? o->n : 8, per = o->steps >= 0 ? o->steps : 10, nz = m->noise_dim;
    int slerp = m->noise_kind != GANRT_NOISE_UNIFORM && !o->lerp;
    const char *out = o->out ? o->out : ganrt_is_image(m) ? "walk.png" : "walk.csv";
    float *arena = load(m, o), *ends = noise_rows(m, o, 2 * walks, "two rows of the noise size per walk, its start and end");
    float *z = ganrt_xmalloc((size_t)(walks * per * nz) * sizeof(float));
    for (int64_t w = 0; w < walks; w++) {
        const float *a = ends + 2 * w * nz, *b = a + nz;
        double aa = 0, bb = 0, ab = 0;
        for (int64_t k = 0; k < nz; k++) aa += (double)a[k] * a[k], bb += (double)b[k] * b[k], ab += (double)a[k] * b[k];
        double cosw = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 1, omega = acos(cosw < -1 ? -1 : cosw > 1 ? 1 : cosw);
        for (int64_t j = 0; j < per; j++) {
            double t = (double)j / (double)(per - 1), ca = 1 - t, cb = t;
            if (slerp && sin(omega) > 1e-6) ca = sin((1 - t) * omega) / sin(omega), cb = sin(t * omega) / sin(omega);
            float *zj = z + (w * per + j) * nz;
            for (int64_t k = 0; k < nz; k++) zj[k] = j == 0 ? a[k] : j == per - 1 ? b[k] : (float)(ca * a[k] + cb * b[k]);
        }
    }
    free(ends);
    float *s = generate(m, arena, z, walks * per);
    write_out(m, out, s, walks * per, (int)per, per);
    fprintf(stderr, "%s: wrote %lld walks of %lld %s to %s\n", ganrt_prog, (long long)walks, (long long)per,
            ganrt_is_image(m) ? "images" : "points", out);
    free(s);
    free(arena);
    return 0;
}

static void stats(const float *p, int64_t n, double *mean, double *sd)
{
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) s += p[i];
    *mean = n ? s / (double)n : NAN;
    for (int64_t i = 0; i < n; i++) s2 += (p[i] - *mean) * (p[i] - *mean);
    *sd = n ? sqrt(s2 / (double)n) : NAN;
}

static int eval_images(const GanrtModel *m, const GanrtOpts *o, float *arena)
{
    int64_t n = o->have_n ? o->n : 1000, per = ganrt_sample_floats(m);
    GanrtDataset d;
    ganrt_data_open(&d, m, o->data);
    int64_t nd = n < d.count ? n : d.count;
    float *s = generate(m, arena, noise_rows(m, o, n, "-n rows of the noise size"), n), *x = ganrt_xmalloc((size_t)(nd * per) * sizeof(float));
    for (int64_t i = 0; i < nd; i++) ganrt_data_image(&d, i, x + i * per);
    double sm, ss, dm, ds;
    stats(s, n * per, &sm, &ss);
    stats(x, nd * per, &dm, &ds);
    /* per-pixel statistics: how far the samples' mean image and per-pixel
     * spread are from the data's (RMS over pixels); noise is far, a
     * generator that has learnt the data's layout is near */
    double mean_rmse = 0, std_rmse = 0;
    for (int64_t q = 0; q < per; q++) {
        double a[2] = {0, 0}, a2[2] = {0, 0};
        for (int64_t i = 0; i < n; i++) { a[0] += s[i * per + q]; a2[0] += (double)s[i * per + q] * s[i * per + q]; }
        for (int64_t i = 0; i < nd; i++) { a[1] += x[i * per + q]; a2[1] += (double)x[i * per + q] * x[i * per + q]; }
        double m0 = a[0] / (double)n, m1 = a[1] / (double)nd;
        double s0 = sqrt(fmax(0, a2[0] / (double)n - m0 * m0)), s1 = sqrt(fmax(0, a2[1] / (double)nd - m1 * m1));
        mean_rmse += (m0 - m1) * (m0 - m1);
        std_rmse += (s0 - s1) * (s0 - s1);
    }
    printf("samples %lld\nsample_mean %.4f\nsample_std %.4f\ndata_images %lld\n"
           "data_mean %.4f\ndata_std %.4f\npixel_mean_rmse %.4f\npixel_std_rmse %.4f\n", (long long)n, sm, ss,
           (long long)nd, dm, ds, sqrt(mean_rmse / (double)per), sqrt(std_rmse / (double)per));
    free(s);
    free(x);
    ganrt_data_close(&d);
    return 0;
}

int ganrt_cmd_eval(const GanrtModel *m, const GanrtOpts *o)
{
    float *arena = load(m, o);
    if (ganrt_is_image(m)) {
        int r = eval_images(m, o, arena);
        free(arena);
        return r;
    }
    double c[64][2];
    int modes = ganrt_data_modes(m, c, 64);
    if (m->data_kind == GANRT_DATA_RING && m->data_modes > 64)
        ganrt_die("eval supports at most 64 modes");
    int64_t n = o->have_n ? o->n : 2500, hq = 0, count[64] = {0};
    int64_t need = (int64_t)ceil(0.008 * (double)n);
    if (need < 1) need = 1;
    float *s = generate(m, arena, noise_rows(m, o, n, "-n rows of the noise size"), n);
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        double bd = INFINITY;
        for (int k = 0; k < modes; k++) {
            double dx = s[2 * i] - c[k][0], dy = s[2 * i + 1] - c[k][1], dd = dx * dx + dy * dy;
            if (dd < bd) { bd = dd; best = k; }
        }
        if (sqrt(bd) <= 3.0 * m->data_std) { hq++; count[best]++; }
    }
    int covered = 0;
    double kl = 0;
    for (int k = 0; k < modes; k++) {
        covered += count[k] >= need;
        if (count[k]) {
            double p = (double)count[k] / (double)hq;
            kl += p * log(p * modes);
        }
    }
    printf("samples %lld\nmodes %d/%d\nmodes_covered %d\nmodes_total %d\nhigh_quality %.4f\n"
           "mode_kl %.4f\n", (long long)n, covered, modes, covered, modes,
           (double)hq / (double)n, hq ? kl : NAN);
    free(s);
    free(arena);
    return 0;
}

static const char *data_name(const GanrtModel *m, char *buf, size_t n)
{
    if (m->data_kind == GANRT_DATA_RING)
        snprintf(buf, n, "ring(modes=%d, radius=%g, std=%g)", m->data_modes, m->data_radius, m->data_std);
    else if (m->data_kind == GANRT_DATA_GRID) snprintf(buf, n, "grid(std=%g)", m->data_std);
    else snprintf(buf, n, "images(\"%s\")", m->data_path ? m->data_path : "");
    return buf;
}

static void shape(char *buf, size_t n, const int64_t *dim, int rank)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)dim[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

int ganrt_cmd_info(const GanrtModel *m, const GanrtOpts *o)
{
    static const char *roles[] = {"param", "buffer", "moment1", "moment2", "ema"};
    char b1[256], b2[64];
    int64_t total[2][5] = {{0}};
    shape(b2, sizeof b2, m->data_dim, m->data_rank);
    printf("name %s\nsource_hash %s\nbatch %d\ndata %s %s\n", m->name, m->source_hash, m->batch,
           data_name(m, b1, sizeof b1), b2);
    if (m->noise_kind == GANRT_NOISE_UNIFORM)
        printf("noise uniform(%g, %g) [%lld]\n", m->noise_lo, m->noise_hi, (long long)m->noise_dim);
    else printf("noise normal [%lld]\n", (long long)m->noise_dim);
    printf("steps %lld\nn_critic %d\nsample_every %lld\ncheckpoint_every %lld\n"
           "lr_d %g\nlr_g %g\nbetas_d %g %g\nbetas_g %g %g\n", (long long)m->steps, m->n_critic,
           (long long)m->sample_every, (long long)m->checkpoint_every, m->lr_d, m->lr_g,
           m->beta1_d, m->beta2_d, m->beta1_g, m->beta2_g);
    if (m->ema_decay > 0) printf("ema_G %g\n", m->ema_decay);
    for (int i = 0; i < m->n_tensors; i++) {
        const GanrtTensor *t = &m->tensors[i];
        int64_t n = 1;
        for (int k = 0; k < t->rank; k++) n *= t->dim[k];
        shape(b2, sizeof b2, t->dim, t->rank);
        printf("tensor %s %s %s %lld\n", t->name, t->role >= 0 && t->role < 5 ? roles[t->role] : "?",
               b2, (long long)n);
        if (t->net >= 0 && t->net < 2 && t->role >= 0 && t->role < 5) total[t->net][t->role] += n;
    }
    printf("params_G %lld\nparams_D %lld\nbuffers_G %lld\nbuffers_D %lld\n",
           (long long)total[0][GANRT_PARAM], (long long)total[1][GANRT_PARAM],
           (long long)total[0][GANRT_BUFFER], (long long)total[1][GANRT_BUFFER]);
    printf("arena_mb %.2f\nflops_per_step %lld\nthreads %d\n",
           (double)m->arena_floats * 4.0 / 1048576.0, (long long)m->flops_per_step,
           o->threads > 0 ? o->threads : ganrt_pool_threads());
    return 0;
}
