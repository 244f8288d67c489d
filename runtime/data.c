/* data.c: real batches for the D step.
 *
 * Toy data (2-D, drawn from the training RNG, so they are checkpointed with
 * it): RING has data_modes Gaussians, mode k centred at angle 2*pi*k/modes
 * on a circle of data_radius; GRID has 25 Gaussians centred on
 * {-4,-2,0,2,4}^2.  Both have per-coordinate std data_std and choose the
 * mode uniformly.  Each sample draws: mode, then x noise, then y noise.
 *
 * IDX data: an IDX3 unsigned-byte image file (magic 0x00000803, big-endian
 * dimensions count, H, W), gzip-compressed or not (zlib reads both).  The
 * images must be [1, H, W] = the model's data_dim; pixels become
 * x / 127.5 - 1 in [-1, 1].  Missing, truncated or malformed files, and
 * shape mismatches, are reported as "prog: error: FILE: problem" and exit 1.
 * ganrt_idx_read() is the reader itself: it never exits and keeps no memory
 * on failure (the fuzz target tests/fuzz/fuzz_idx.c calls it directly).
 * Order: epochs of a Fisher-Yates permutation drawn from the stream
 * (seed, GANRT_STREAM_DATA + (epoch << 8)), so (seed, epoch, pos) is the
 * whole data state and a resumed run sees exactly the same batches.
 */
#include "rt.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_BYTES ((int64_t)1 << 40)

/* Formats "PATH: what (zlib or errno detail)" into err; returns -1. */
static int idx_fail(gzFile f, const char *path, const char *what, char *err, size_t errlen)
{
    int zerr = Z_OK;
    const char *msg = f ? gzerror(f, &zerr) : NULL;
    size_t n = strlen(path);   /* zlib's message starts with "PATH: " */
    if (msg && !strncmp(msg, path, n) && !strncmp(msg + n, ": ", 2)) msg += n + 2;
    if (zerr != Z_OK && zerr != Z_STREAM_END && zerr != Z_BUF_ERROR)
        snprintf(err, errlen, "%s: %s (%s)", path, what, zerr == Z_ERRNO ? strerror(errno) : msg);
    else snprintf(err, errlen, "%s: %s", path, what);
    return -1;
}

int ganrt_idx_read(const GanrtModel *m, const char *path, GanrtDataset *d, char *err, size_t errlen)
{
    char what[200];
    uint8_t *pix = NULL;
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
        return -1;
    }
    unsigned char h[16];
    int got = gzread(f, h, sizeof h), rc = -1;
    if (got < 0) { idx_fail(f, path, "cannot read", err, errlen); goto out; }
    if (got < 4) { idx_fail(f, path, "too short to be an IDX file", err, errlen); goto out; }
    uint32_t magic = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    if (magic != 0x00000803) {
        snprintf(what, sizeof what, "not an IDX3 unsigned-byte image file "
                 "(magic 0x%08x, expected 0x00000803)", (unsigned)magic);
        idx_fail(f, path, what, err, errlen);
        goto out;
    }
    if (got < 16) { idx_fail(f, path, "truncated IDX header", err, errlen); goto out; }
    int64_t dim[3];
    for (int i = 0; i < 3; i++)
        dim[i] = (int64_t)((uint32_t)h[4 + 4 * i] << 24 | (uint32_t)h[5 + 4 * i] << 16 |
                           (uint32_t)h[6 + 4 * i] << 8 | h[7 + 4 * i]);
    if (!dim[0] || !dim[1] || !dim[2]) {
        idx_fail(f, path, "IDX file with a zero dimension", err, errlen);
        goto out;
    }
    if (dim[1] > MAX_BYTES / dim[2] || dim[0] > MAX_BYTES / (dim[1] * dim[2])) {
        idx_fail(f, path, "IDX dimensions are too large", err, errlen);
        goto out;
    }
    if (m->data_rank != 3 || m->data_dim[0] != 1 || m->data_dim[1] != dim[1] ||
        m->data_dim[2] != dim[2]) {
        snprintf(what, sizeof what, "images are 1x%lldx%lld but the program expects ",
                 (long long)dim[1], (long long)dim[2]);
        for (int i = 0; i < m->data_rank && i < 3; i++)
            snprintf(what + strlen(what), sizeof what - strlen(what), "%s%lld", i ? "x" : "",
                     (long long)m->data_dim[i]);
        idx_fail(f, path, what, err, errlen);
        goto out;
    }
    /* grow with the data actually read, so a lying header costs nothing */
    int64_t total = dim[0] * dim[1] * dim[2], have = 0, cap = total < (1 << 20) ? total : 1 << 20;
    pix = malloc((size_t)cap);
    if (!pix) { snprintf(err, errlen, "%s: out of memory", path); goto out; }
    while (have < total) {
        if (have == cap) {
            cap = cap * 2 < total ? cap * 2 : total;
            uint8_t *np = realloc(pix, (size_t)cap);
            if (!np) { snprintf(err, errlen, "%s: out of memory", path); goto out; }
            pix = np;
        }
        int64_t want = cap - have < (1 << 30) ? cap - have : 1 << 30;
        int n = gzread(f, pix + have, (unsigned)want);
        if (n < 0) { idx_fail(f, path, "cannot read", err, errlen); goto out; }
        if (n == 0) {
            snprintf(what, sizeof what, "truncated: header says %lld images of %lldx%lld "
                     "(%lld bytes) but only %lld bytes follow", (long long)dim[0],
                     (long long)dim[1], (long long)dim[2], (long long)total, (long long)have);
            idx_fail(f, path, what, err, errlen);
            goto out;
        }
        have += n;
    }
    unsigned char extra;
    int n = gzread(f, &extra, 1);
    if (n < 0) { idx_fail(f, path, "cannot read", err, errlen); goto out; }
    if (n == 1) { idx_fail(f, path, "unexpected data after the last image", err, errlen); goto out; }
    d->pix = pix;
    pix = NULL;
    d->count = dim[0];
    d->h = dim[1];
    d->w = dim[2];
    rc = 0;
out:
    free(pix);
    gzclose(f);
    return rc;
}

void ganrt_data_open(GanrtDataset *d, const GanrtModel *m, const char *path_override)
{
    memset(d, 0, sizeof *d);
    d->m = m;
    if (m->data_kind != GANRT_DATA_IDX && m->data_kind != GANRT_DATA_FOLDER) {
        if (path_override) ganrt_warn("--data ignored: this program uses built-in toy data");
        return;
    }
    const char *p = path_override ? path_override : m->data_path;
    if (!p || !*p) ganrt_die("no data file: use --data PATH");
    d->path = ganrt_xstrdup(p);
    char err[512];
    if (m->data_kind == GANRT_DATA_FOLDER) {
        if (ganrt_images_load(d->path, (int)m->data_dim[0], (int)m->data_dim[1], (int)m->data_dim[2], &d->img,
                              &d->count, err, sizeof err))
            ganrt_die("%s", err);
    } else if (ganrt_idx_read(m, d->path, d, err, sizeof err)) {
        ganrt_die("%s", err);
    }
    d->perm = ganrt_xmalloc((size_t)d->count * sizeof *d->perm);
    ganrt_data_seek(d, 0, 0, 0);
}

void ganrt_data_seek(GanrtDataset *d, uint64_t seed, int64_t epoch, int64_t pos)
{
    d->seed = seed;
    d->epoch = epoch;
    d->pos = pos;
    if (!d->path) return;
    if (pos < 0 || pos > d->count || epoch < 0)
        ganrt_die("%s: data position %lld of epoch %lld is outside the %lld images", d->path,
                  (long long)pos, (long long)epoch, (long long)d->count);
    GanrtRng r;
    ganrt_rng_seed(&r, seed, GANRT_STREAM_DATA + ((uint64_t)epoch << 8));
    for (int64_t i = 0; i < d->count; i++) d->perm[i] = i;
    for (int64_t i = d->count - 1; i > 0; i--) {
        int64_t j = (int64_t)ganrt_rng_below(&r, (uint64_t)i + 1), t = d->perm[i];
        d->perm[i] = d->perm[j];
        d->perm[j] = t;
    }
}

void ganrt_data_image(const GanrtDataset *d, int64_t i, float *out)
{
    if (d->img) {
        int64_t per = ganrt_sample_floats(d->m);
        memcpy(out, d->img + i * per, (size_t)per * sizeof *out);
        return;
    }
    const uint8_t *p = d->pix + i * d->h * d->w;
    for (int64_t k = 0; k < d->h * d->w; k++) out[k] = (float)(p[k] / 127.5 - 1.0);
}

int ganrt_data_modes(const GanrtModel *m, double c[][2], int max)
{
    int n = 0;
    if (m->data_kind == GANRT_DATA_RING)
        for (; n < m->data_modes && n < max; n++) {
            double a = 6.283185307179586 * n / m->data_modes;
            c[n][0] = m->data_radius * cos(a);
            c[n][1] = m->data_radius * sin(a);
        }
    else if (m->data_kind == GANRT_DATA_GRID)
        for (; n < 25 && n < max; n++) {
            c[n][0] = -4.0 + 2.0 * (n % 5);
            c[n][1] = -4.0 + 2.0 * (n / 5);
        }
    return n;
}

void ganrt_data_batch(GanrtDataset *d, GanrtRng *r, float *x, int64_t rows)
{
    const GanrtModel *m = d->m;
    if (d->path) {
        for (int64_t i = 0; i < rows; i++) {
            if (d->pos >= d->count) ganrt_data_seek(d, d->seed, d->epoch + 1, 0);
            ganrt_data_image(d, d->perm[d->pos++], x + i * ganrt_sample_floats(m));
        }
        return;
    }
    for (int64_t i = 0; i < rows; i++) {
        double cx, cy;
        if (m->data_kind == GANRT_DATA_RING) {
            double a = 6.283185307179586 * (double)ganrt_rng_below(r, (uint64_t)m->data_modes) /
                       m->data_modes;
            cx = m->data_radius * cos(a);
            cy = m->data_radius * sin(a);
        } else {
            int k = (int)ganrt_rng_below(r, 25);
            cx = -4.0 + 2.0 * (k % 5);
            cy = -4.0 + 2.0 * (k / 5);
        }
        x[2 * i] = (float)(cx + m->data_std * ganrt_rng_normal(r));
        x[2 * i + 1] = (float)(cy + m->data_std * ganrt_rng_normal(r));
    }
}

void ganrt_data_close(GanrtDataset *d)
{
    free(d->path);
    free(d->pix);
    free(d->img);
    free(d->perm);
    memset(d, 0, sizeof *d);
}
