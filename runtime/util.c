/* util.c: errors, allocation, paths, time and model sanity checks.
 *
 * Every fatal error goes through ganrt_die(), which prints
 * "prog: error: message" on stderr (ending an open progress line first) and
 * exits with status 1; nothing in the runtime aborts on bad input.
 * ganrt_mkdirs() is `mkdir -p`.  ganrt_check_model() verifies, once at
 * start-up, that the generated model table is self-consistent (every
 * offset inside the arena), so later code can index the arena freely.
 */
#include "rt.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *ganrt_prog = "ganrt";
int ganrt_line_open;

static void end_line(void)
{
    fflush(stdout);
    if (ganrt_line_open) fputc('\n', stderr);
    ganrt_line_open = 0;
}

/* "prog: KIND: message" on stderr, after any open progress line. */
static void report(const char *kind, const char *fmt, va_list ap)
{
    end_line();
    fprintf(stderr, "%s: %s: ", ganrt_prog, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void ganrt_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("error", fmt, ap);
    va_end(ap);
    exit(1);
}

void ganrt_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("warning", fmt, ap);
    va_end(ap);
}

void *ganrt_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) ganrt_die("out of memory (%zu bytes)", n);
    return p;
}

char *ganrt_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(ganrt_xmalloc(n), s, n);
}

char *ganrt_path(const char *dir, const char *file)
{
    size_t a = strlen(dir), b = strlen(file);
    char *p = ganrt_xmalloc(a + b + 2);
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, file, b + 1);
    return p;
}

int ganrt_mkdirs(const char *path)
{
    char *p = ganrt_xstrdup(path);
    struct stat st;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) { free(p); return -1; }
        *s = c;
        if (!c) break;
    }
    int ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
    free(p);
    if (!ok) errno = ENOTDIR;
    return ok ? 0 : -1;
}

double ganrt_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int64_t ganrt_sample_floats(const GanrtModel *m)
{
    int64_t n = 1;
    for (int i = 0; i < m->data_rank; i++) n *= m->data_dim[i];
    return n;
}

float *ganrt_arena_alloc(const GanrtModel *m)
{
    size_t bytes = ((size_t)m->arena_floats * sizeof(float) + 63) / 64 * 64;
    float *a = aligned_alloc(64, bytes);
    if (!a) ganrt_die("out of memory: the arena needs %.1f MB", (double)bytes / 1048576.0);
    memset(a, 0, bytes);
    return a;
}

static void check_range(const GanrtModel *m, const char *what, int64_t off, int64_t count)
{
    if (off < 0 || count < 0 || off > m->arena_floats || count > m->arena_floats - off)
        ganrt_die("model table is inconsistent: %s [%lld, +%lld) lies outside the arena of %lld floats",
                  what, (long long)off, (long long)count, (long long)m->arena_floats);
}

void ganrt_check_model(const GanrtModel *m)
{
    if (m->abi_version != GANRT_ABI_VERSION)
        ganrt_die("program was generated for runtime ABI %d, this runtime is ABI %d",
                  m->abi_version, GANRT_ABI_VERSION);
    if (m->batch <= 0 || m->noise_dim <= 0 || m->data_rank < 1 || m->data_rank > 3 ||
        m->n_critic < 1 || m->n_tensors < 0 || !m->g_forward || !m->d_step || !m->g_step ||
        !m->g_sample)
        ganrt_die("model table is inconsistent (batch, noise, data rank, n_critic or entry points)");
    for (int i = 0; i < m->data_rank; i++)
        if (m->data_dim[i] <= 0) ganrt_die("model table is inconsistent: data_dim[%d] <= 0", i);
    if ((m->data_kind == GANRT_DATA_RING || m->data_kind == GANRT_DATA_GRID) &&
        (m->data_rank != 1 || m->data_dim[0] != 2))
        ganrt_die("model table is inconsistent: toy data must be 2-D");
    if (m->data_kind == GANRT_DATA_RING && m->data_modes < 1)
        ganrt_die("model table is inconsistent: ring with %d modes", m->data_modes);
    if (m->data_kind < GANRT_DATA_RING || m->data_kind > GANRT_DATA_FOLDER)
        ganrt_die("model table is inconsistent: unknown data kind %d", m->data_kind);
    int64_t b = m->batch;
    check_range(m, "scalars", m->scalars_offset, GANRT_S_COUNT);
    check_range(m, "x", m->x_offset, b * ganrt_sample_floats(m));
    check_range(m, "gout", m->gout_offset, b * ganrt_sample_floats(m));
    check_range(m, "z", m->z_offset, b * m->noise_dim);
    if (m->ema_decay > 0) {
        if (!(m->ema_decay < 1)) ganrt_die("model table is inconsistent: ema decay %g", m->ema_decay);
        check_range(m, "ema", m->ema_offset, m->ema_len);
        check_range(m, "ema weights", m->ema_param_offset, m->ema_len);
        if (m->ema_offset < m->ema_param_offset + m->ema_len && m->ema_param_offset < m->ema_offset + m->ema_len)
            ganrt_die("model table is inconsistent: ema overlaps the weights it averages");
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const GanrtTensor *t = &m->tensors[i];
        int64_t n = 1;
        if (!t->name || t->rank < 0 || t->rank > 4)
            ganrt_die("model table is inconsistent: tensor %d", i);
        for (int k = 0; k < t->rank; k++) n *= t->dim[k];
        check_range(m, t->name, t->offset, n);
    }
}

/* The average's decay after G's `updates`-th update: min(decay, (1+t)/(10+t)),
 * so early samples are not dominated by the random initial weights. */
static struct {
    float beta;
    int64_t ema, param;   /* offsets */
} E;

static void ema_kernel(float *arena, int64_t lo, int64_t hi)
{
    float *e = arena + E.ema, b = E.beta, a = 1.0f - E.beta;
    const float *p = arena + E.param;
    for (int64_t i = lo; i < hi; i++) e[i] = b * e[i] + a * p[i];
}

void ganrt_ema_init(const GanrtModel *m, float *arena)
{
    if (m->ema_decay > 0)
        memcpy(arena + m->ema_offset, arena + m->ema_param_offset, (size_t)m->ema_len * sizeof(float));
}

void ganrt_ema_update(const GanrtModel *m, float *arena, int64_t updates)
{
    if (!(m->ema_decay > 0)) return;
    double warm = (1.0 + (double)updates) / (10.0 + (double)updates);
    E.beta = (float)(m->ema_decay < warm ? m->ema_decay : warm);
    E.ema = m->ema_offset;
    E.param = m->ema_param_offset;
    ganrt_parallel(ema_kernel, arena, m->ema_len, 4096);
}

void ganrt_ema_swap(const GanrtModel *m, float *arena)
{
    if (!(m->ema_decay > 0)) return;
    float *e = arena + m->ema_offset, *p = arena + m->ema_param_offset;
    for (int64_t i = 0; i < m->ema_len; i++) {
        float t = e[i];
        e[i] = p[i];
        p[i] = t;
    }
}
