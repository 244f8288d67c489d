/* train.c: the `train` command.
 *
 * A new run initialises every tensor of the model table in table order
 * from the stream (seed, INIT): ZERO, ONE, UNIFORM a*(2u-1), NORMAL a*n.
 * One iteration (one "step") is, n_critic times: z from the TRAIN stream,
 * then x (toy data from the TRAIN stream, or the next images in data
 * order), then the scalars (bias corrections 1/(1-beta^t) with t = that
 * net's updates so far + 1, learning rates, and a fresh 32-bit dropout
 * seed from the TRAIN stream, unchanged until the next g_forward);
 * g_forward; d_step.  Then g_step, and (with `ema G DECAY`) G's moving
 * average moves towards the new weights; it starts as the initial weights
 * and is what the sample grids show.  A non-finite D or G loss stops the run
 * (exit 1) without touching the checkpoint, naming the step, the first
 * tensor holding a NaN or Inf (if any) and the last good checkpoint; a
 * checkpoint is never written with a non-finite tensor in it.
 *
 * Files in DIR (default runs/<name>): metrics.csv (a row every
 * max(1, steps/1000) steps and at the end; appended on --resume after
 * dropping rows past the checkpoint), samples/step_NNNNNN.{png,csv} and
 * samples/last.{png,csv} every sample_every steps and at the end, drawn
 * from fixed noise (stream (seed, FIXED): 64 images or 1000 points), and
 * last.ckpt every checkpoint_every steps, at the end and on SIGINT/SIGTERM
 * (which finish the current step first and exit with 128+signal; a second
 * signal kills the program at once).
 * --resume restores tensors, counters, the TRAIN stream, the seed and the
 * data position from DIR/last.ckpt, so the run ends bit-identical to one
 * never interrupted.  The progress line goes to stderr: rewritten in place
 * on a terminal, otherwise every 5% of the run and at least every 10 s.
 */
#include "rt.h"
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;
static void on_signal(int s) { stop_signal = s; }

typedef struct {
    const GanrtModel *m;
    float *arena, *sc;
    GanrtState st;
    GanrtDataset data;
    const char *dir;
    char *ckpt;
    float *fixed_z, *fixed_out;
    int64_t n_fixed, steps, start, last_ckpt, last_sample;
    FILE *metrics;
    double t0, last_print;
    float d_loss, g_loss, d_real, d_fake;
    int tty;
    int synthetic;   /* bench --synthetic: x stays the batch it was given */
} Run;

static void init_tensors(Run *r)
{
    const GanrtModel *m = r->m;
    GanrtRng g;
    ganrt_rng_seed(&g, r->st.seed, GANRT_STREAM_INIT);
    for (int i = 0; i < m->n_tensors; i++) {
        const GanrtTensor *t = &m->tensors[i];
        int64_t n = 1;
        for (int k = 0; k < t->rank; k++) n *= t->dim[k];
        float *p = r->arena + t->offset;
        for (int64_t j = 0; j < n; j++)
            switch (t->init) {
            case GANRT_INIT_ONE: p[j] = 1.0f; break;
            case GANRT_INIT_UNIFORM: p[j] = (float)(t->init_a * (2.0 * ganrt_rng_uniform(&g) - 1.0)); break;
            case GANRT_INIT_NORMAL: p[j] = (float)(t->init_b + t->init_a * ganrt_rng_normal(&g)); break;
            default: p[j] = 0.0f; break;
            }
    }
    ganrt_ema_init(m, r->arena);
}

static double rate(const Run *r)
{
    double dt = ganrt_now() - r->t0;
    return dt > 0 ? (double)(r->st.step - r->start) / dt : 0.0;
}

static void fmt_time(char *s, size_t n, double sec)
{
    long t = sec < 0 || sec > 1e8 ? 0 : (long)(sec + 0.5);
    if (t >= 3600) snprintf(s, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(s, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(s, n, "%lds", t);
}

static void progress(Run *r, int force)
{
    double now = ganrt_now(), sps = rate(r);
    int64_t every = r->steps / 20 > 0 ? r->steps / 20 : 1;
    if (!force && (r->tty ? now - r->last_print < 0.2
                          : r->st.step % every && now - r->last_print < 10.0)) return;
    r->last_print = now;
    char eta[32], probs[96] = "";
    fmt_time(eta, sizeof eta, sps > 0 ? (double)(r->steps - r->st.step) / sps : 0);
    if (isfinite(r->d_real) && isfinite(r->d_fake))
        snprintf(probs, sizeof probs, "  D(x) %.2f  D(G(z)) %.2f", r->d_real, r->d_fake);
    fprintf(stderr, "%sstep %lld/%lld  %.1f steps/s  ETA %s  D %.3f  G %.3f%s%s",
            r->tty ? "\r" : "", (long long)r->st.step, (long long)r->steps, sps, eta, r->d_loss,
            r->g_loss, probs, r->tty ? "\033[K" : "\n");
    fflush(stderr);
    ganrt_line_open = r->tty;
}

static void open_metrics(Run *r, int resume)
{
    char *path = ganrt_path(r->dir, "metrics.csv"), *keep = NULL;
    size_t kept = 0;
    FILE *old = resume ? fopen(path, "r") : NULL;
    if (old) {   /* keep the rows up to the checkpoint */
        char line[512];
        keep = ganrt_xmalloc(1);
        while (fgets(line, sizeof line, old)) {
            char *end;
            long long s = strtoll(line, &end, 10);
            if (end == line || *end != ',' || s > r->start) continue;
            size_t n = strlen(line);
            if (!(keep = realloc(keep, kept + n + 1))) ganrt_die("out of memory");
            memcpy(keep + kept, line, n);
            kept += n;
        }
        fclose(old);
    }
    /* rewrite it atomically: a full disk must not lose the rows already there */
    char *tmp = ganrt_path(r->dir, "metrics.csv.tmp");
    r->metrics = fopen(tmp, "w");
    if (!r->metrics) ganrt_die("%s: cannot write: %s", tmp, strerror(errno));
    fprintf(r->metrics, "step,d_loss,g_loss,d_real,d_fake,steps_per_s\n");
    if (kept) fwrite(keep, 1, kept, r->metrics);
    if (fflush(r->metrics) || ferror(r->metrics) || rename(tmp, path)) {
        int err = errno;
        fclose(r->metrics);
        remove(tmp);
        ganrt_die("%s: cannot write: %s (the previous file, if any, is unchanged)", path,
                  strerror(err));
    }
    free(keep);
    free(tmp);
    free(path);
}

static void write_metrics(Run *r)
{
    fprintf(r->metrics, "%lld,%.6g,%.6g,%.6g,%.6g,%.2f\n", (long long)r->st.step, r->d_loss,
            r->g_loss, r->d_real, r->d_fake, rate(r));
    if (fflush(r->metrics) || ferror(r->metrics))
        ganrt_die("%s/metrics.csv: cannot write: %s", r->dir, strerror(errno));
}

static void write_samples(Run *r)
{
    const GanrtModel *m = r->m;
    char name[64];
    ganrt_ema_swap(m, r->arena);   /* samples come from G's moving average, if any */
    ganrt_generate(m, r->arena, r->fixed_z, r->n_fixed, r->fixed_out);
    ganrt_ema_swap(m, r->arena);
    for (int last = 0; last < 2; last++) {
        if (last) snprintf(name, sizeof name, "samples/last.%s", ganrt_is_image(m) ? "png" : "csv");
        else snprintf(name, sizeof name, "samples/step_%06lld.%s", (long long)r->st.step,
                      ganrt_is_image(m) ? "png" : "csv");
        char *path = ganrt_path(r->dir, name);
        if (ganrt_is_image(m)) ganrt_write_grid(path, m, r->fixed_out, r->n_fixed, 8);
        else ganrt_write_points(path, m, r->fixed_out, r->n_fixed, 0);
        free(path);
    }
    r->last_sample = r->st.step;
}

/* The first tensor holding a NaN or an Inf, or NULL. */
static const char *nonfinite_tensor(const Run *r)
{
    const GanrtModel *m = r->m;
    for (int i = 0; i < m->n_tensors; i++) {
        const GanrtTensor *t = &m->tensors[i];
        int64_t n = 1;
        for (int k = 0; k < t->rank; k++) n *= t->dim[k];
        const float *p = r->arena + t->offset;
        for (int64_t j = 0; j < n; j++)
            if (!isfinite(p[j])) return t->name;
    }
    return NULL;
}

/* Stops a run that went non-finite at `step`, naming what and the last
 * good checkpoint (which is left as it is). */
static _Noreturn void stop_nonfinite(const Run *r, int64_t step, const char *what)
{
    char last[64] = "no checkpoint has been written yet";
    if (r->last_ckpt >= 0)
        snprintf(last, sizeof last, "the last good checkpoint is at step %lld", (long long)r->last_ckpt);
    ganrt_die("step %lld: %s; stopping (%s: %s)", (long long)step, what,
              r->last_ckpt >= 0 ? r->ckpt : r->dir, last);
}

static void save(Run *r)
{
    const char *bad = nonfinite_tensor(r);
    if (bad) {   /* never write a checkpoint that cannot be resumed */
        char what[320];
        snprintf(what, sizeof what, "tensor %s holds NaN or Inf (not saved)", bad);
        stop_nonfinite(r, r->st.step, what);
    }
    r->st.data_epoch = r->data.epoch;
    r->st.data_pos = r->data.pos;
    ganrt_ckpt_save(r->m, r->arena, &r->st, r->ckpt);
    r->last_ckpt = r->st.step;
}

static void check_loss(Run *r, const char *net, float v)
{
    if (isfinite(v)) return;
    char what[320];
    const char *bad = nonfinite_tensor(r);
    snprintf(what, sizeof what, "%s loss is %s%s%s%s", net, isnan(v) ? "nan" : "inf",
             bad ? " (tensor " : "", bad ? bad : "", bad ? " holds NaN or Inf)" : "");
    stop_nonfinite(r, r->st.step + 1, what);
}

static void set_scalars(Run *r)
{
    const GanrtModel *m = r->m;
    double td = (double)(r->st.d_updates + 1), tg = (double)(r->st.g_updates + 1);
    r->sc[GANRT_S_D_BC1] = (float)(1.0 / (1.0 - pow(m->beta1_d, td)));
    r->sc[GANRT_S_D_BC2] = (float)(1.0 / (1.0 - pow(m->beta2_d, td)));
    r->sc[GANRT_S_G_BC1] = (float)(1.0 / (1.0 - pow(m->beta1_g, tg)));
    r->sc[GANRT_S_G_BC2] = (float)(1.0 / (1.0 - pow(m->beta2_g, tg)));
    r->sc[GANRT_S_D_LR] = (float)m->lr_d;
    r->sc[GANRT_S_G_LR] = (float)m->lr_g;
}

static void iteration(Run *r)
{
    const GanrtModel *m = r->m;
    for (int c = 0; c < m->n_critic; c++) {
        ganrt_fill_noise(m, &r->st.rng, r->arena + m->z_offset, m->batch);
        if (!r->synthetic) ganrt_data_batch(&r->data, &r->st.rng, r->arena + m->x_offset, m->batch);
        set_scalars(r);
        uint32_t seed = (uint32_t)(ganrt_rng_next(&r->st.rng) >> 32);
        memcpy(&r->sc[GANRT_S_SEED], &seed, sizeof seed);
        m->g_forward(r->arena);
        m->d_step(r->arena);
        r->st.d_updates++;
        r->d_loss = r->sc[GANRT_S_D_LOSS];
        r->d_real = r->sc[GANRT_S_D_REAL];
        r->d_fake = r->sc[GANRT_S_D_FAKE];
        check_loss(r, "D", r->d_loss);
    }
    set_scalars(r);
    m->g_step(r->arena);
    r->st.g_updates++;
    ganrt_ema_update(m, r->arena, r->st.g_updates);
    r->g_loss = r->sc[GANRT_S_G_LOSS];
    check_loss(r, "G", r->g_loss);
    r->st.step++;
}

static int train_loop(Run *r, const GanrtOpts *o)
{
    const GanrtModel *m = r->m;
    ganrt_data_seek(&r->data, r->st.seed, r->st.data_epoch, r->st.data_pos);
    r->start = r->st.step;
    char *sdir = ganrt_path(r->dir, "samples");
    if (ganrt_mkdirs(sdir)) ganrt_die("%s: cannot create directory: %s", sdir, strerror(errno));
    free(sdir);
    open_metrics(r, o->resume);

    GanrtRng fr;
    ganrt_rng_seed(&fr, r->st.seed, GANRT_STREAM_FIXED);
    r->n_fixed = ganrt_is_image(m) ? 64 : 1000;
    r->fixed_z = ganrt_xmalloc((size_t)(r->n_fixed * m->noise_dim) * sizeof(float));
    r->fixed_out = ganrt_xmalloc((size_t)(r->n_fixed * ganrt_sample_floats(m)) * sizeof(float));
    ganrt_fill_noise(m, &fr, r->fixed_z, r->n_fixed);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;   /* a second signal kills at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    r->tty = isatty(2);
    fprintf(stderr, "%s: %s %s: steps %lld..%lld, batch %d, %d threads, seed %llu, into %s\n",
            ganrt_prog, o->resume ? "resuming" : "training", m->name, (long long)r->start,
            (long long)r->steps, m->batch, ganrt_pool_threads(), (unsigned long long)r->st.seed,
            r->dir);
    int64_t metric_every = r->steps / 1000 > 0 ? r->steps / 1000 : 1;
    r->t0 = r->last_print = ganrt_now();
    r->d_loss = r->g_loss = r->d_real = r->d_fake = NAN;
    while (r->st.step < r->steps && !stop_signal) {
        iteration(r);
        int64_t s = r->st.step;
        if (s % metric_every == 0 || s == r->steps) write_metrics(r);
        progress(r, s == r->steps);
        if (m->sample_every > 0 && s % m->sample_every == 0) write_samples(r);
        if (m->checkpoint_every > 0 && s % m->checkpoint_every == 0) save(r);
    }
    if (r->last_sample != r->st.step) write_samples(r);
    if (r->last_ckpt != r->st.step) save(r);
    if (r->tty && ganrt_line_open) fputc('\n', stderr);
    ganrt_line_open = 0;
    fclose(r->metrics);
    free(r->fixed_z);
    free(r->fixed_out);
    char took[32];
    fmt_time(took, sizeof took, ganrt_now() - r->t0);
    if (stop_signal) {
        fprintf(stderr, "%s: interrupted at step %lld; checkpoint saved to %s (continue with --resume)\n",
                ganrt_prog, (long long)r->st.step, r->ckpt);
        return 128 + stop_signal;
    }
    fprintf(stderr, "%s: done: %lld steps in %s; checkpoint %s\n", ganrt_prog,
            (long long)(r->st.step - r->start), took, r->ckpt);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* `bench`: times training iterations exactly as `train` runs them (data,
 * noise, the step functions), writing no files; prints the median. */
int ganrt_cmd_bench(const GanrtModel *m, const GanrtOpts *o)
{
    Run r = {.m = m, .last_ckpt = -1, .last_sample = -1};
    int64_t n = o->steps > 0 ? o->steps : 30;
    r.synthetic = o->synthetic;
    if (!r.synthetic) {
        ganrt_data_open(&r.data, m, o->data);
        ganrt_data_seek(&r.data, o->seed, 0, 0);
    }
    r.arena = ganrt_arena_alloc(m);
    r.sc = r.arena + m->scalars_offset;
    r.st.seed = o->seed;
    ganrt_rng_seed(&r.st.rng, r.st.seed, GANRT_STREAM_TRAIN);
    init_tensors(&r);
    if (r.synthetic) {
        int64_t len = m->batch;
        for (int k = 0; k < m->data_rank; k++) len *= m->data_dim[k];
        for (int64_t i = 0; i < len; i++) r.arena[m->x_offset + i] = (float)(2 * ganrt_rng_uniform(&r.st.rng) - 1);
    }
    double *t = ganrt_xmalloc((size_t)n * sizeof *t);
    for (int k = 0; k < 3; k++) iteration(&r);   /* warm-up: caches, pages, threads */
    for (int64_t k = 0; k < n; k++) {
        double t0 = ganrt_now();
        iteration(&r);
        t[k] = ganrt_now() - t0;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    printf("%s batch=%d threads=%d steps=%lld median_ms_per_step=%.3f min=%.3f max=%.3f\n", m->name, m->batch,
           ganrt_pool_threads(), (long long)n, 1e3 * t[n / 2], 1e3 * t[0], 1e3 * t[n - 1]);
    free(t);
    if (!r.synthetic) ganrt_data_close(&r.data);
    free(r.arena);
    return 0;
}

int ganrt_cmd_train(const GanrtModel *m, const GanrtOpts *o)
{
    Run r = {.m = m, .last_ckpt = -1, .last_sample = -1};
    char *defdir = NULL;
    int rc = -1;
    if (o->out) r.dir = o->out;
    else r.dir = defdir = ganrt_path("runs", m->name && *m->name ? m->name : "gan");
    r.steps = o->steps >= 0 ? o->steps : m->steps;
    r.ckpt = ganrt_path(r.dir, "last.ckpt");
    ganrt_data_open(&r.data, m, o->data);
    r.arena = ganrt_arena_alloc(m);
    r.sc = r.arena + m->scalars_offset;
    if (o->resume) {
        if (access(r.ckpt, F_OK) != 0)
            ganrt_die("%s: no checkpoint to resume from: %s", r.ckpt, strerror(errno));
        ganrt_ckpt_load(m, r.arena, &r.st, r.ckpt);
        if (o->have_seed && o->seed != r.st.seed)
            ganrt_warn("--seed %llu ignored: resuming a run of seed %llu",
                       (unsigned long long)o->seed, (unsigned long long)r.st.seed);
        r.last_ckpt = r.st.step;
        if (r.st.step >= r.steps) {
            fprintf(stderr, "%s: nothing to do: %s is at step %lld, --steps is %lld\n", ganrt_prog,
                    r.ckpt, (long long)r.st.step, (long long)r.steps);
            rc = 0;
        }
    } else {
        r.st.seed = o->seed;
        ganrt_rng_seed(&r.st.rng, r.st.seed, GANRT_STREAM_TRAIN);
        init_tensors(&r);
    }
    if (rc < 0) rc = train_loop(&r, o);
    ganrt_data_close(&r.data);
    free(r.arena);
    free(r.ckpt);
    free(defdir);
    return rc;
}
