/* output.c: running G for samples and writing them.
 *
 * ganrt_generate() serves any number of rows from the compiled batch size
 * B: it copies up to B noise rows to z (zero rows pad the last batch),
 * calls g_sample and copies the rows it needs out of gout.
 * Images ([C,H,W], values in [-1,1]) go to a PNG grid: `cols` images per
 * row, 2 px black padding around and between, 3-channel PNG when C == 3,
 * otherwise grayscale from channel 0, pixel = round((v + 1) * 127.5)
 * clamped to 0..255.  Vectors go to CSV with a header ("x,y" for 2-D,
 * else x0,x1,...) and one sample per line (walks: two more columns first,
 * the walk and t, its position from 0 to 1).  Both write PATH.tmp and rename
 * it over PATH, so a failed write (a full disk) leaves an existing PATH as
 * it was.
 */
#include "rt.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stb/stb_image_write.h>

/* PATH.tmp (malloc'd) to write and rename over PATH; NULL to write PATH
 * directly when it exists and is not a regular file (/dev/stdout, a pipe). */
static char *tmp_name(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) return NULL;
    size_t n = strlen(path);
    char *t = ganrt_xmalloc(n + 5);
    memcpy(t, path, n);
    memcpy(t + n, ".tmp", 5);
    return t;
}

int ganrt_is_image(const GanrtModel *m) { return m->data_rank == 3; }

void ganrt_generate(const GanrtModel *m, float *arena, const float *z, int64_t rows, float *out)
{
    int64_t b = m->batch, nz = m->noise_dim, ns = ganrt_sample_floats(m);
    for (int64_t i = 0; i < rows; i += b) {
        int64_t k = rows - i < b ? rows - i : b;
        memcpy(arena + m->z_offset, z + i * nz, (size_t)(k * nz) * sizeof(float));
        memset(arena + m->z_offset + k * nz, 0, (size_t)((b - k) * nz) * sizeof(float));
        m->g_sample(arena);
        memcpy(out + i * ns, arena + m->gout_offset, (size_t)(k * ns) * sizeof(float));
    }
}

void ganrt_write_grid(const char *path, const GanrtModel *m, const float *imgs, int64_t count,
                      int cols)
{
    int64_t c = m->data_dim[0], h = m->data_dim[1], w = m->data_dim[2], comp = c == 3 ? 3 : 1;
    if (cols < 1) cols = 1;
    int64_t rows = (count + cols - 1) / cols, W = cols * (w + 2) + 2, H = rows * (h + 2) + 2;
    if (W > 1 << 15 || H > 1 << 15) ganrt_die("%s: grid of %lldx%lld pixels is too large", path,
                                              (long long)W, (long long)H);
    unsigned char *px = calloc((size_t)(W * H * comp), 1);
    if (!px) ganrt_die("out of memory");
    for (int64_t n = 0; n < count; n++) {
        const float *img = imgs + n * c * h * w;
        int64_t x0 = 2 + (n % cols) * (w + 2), y0 = 2 + (n / cols) * (h + 2);
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++)
                for (int64_t ch = 0; ch < comp; ch++) {
                    double v = (img[(ch * h + y) * w + x] + 1.0) * 127.5;
                    v = v != v ? 0 : v < 0 ? 0 : v > 255 ? 255 : v;
                    px[((y0 + y) * W + x0 + x) * comp + ch] = (unsigned char)lround(v);
                }
    }
    char *tmp = tmp_name(path);
    errno = 0;
    if (!stbi_write_png(tmp ? tmp : path, (int)W, (int)H, (int)comp, px, (int)(W * comp)) ||
        (tmp && rename(tmp, path))) {
        int err = errno;
        if (tmp) remove(tmp);
        ganrt_die("%s: cannot write PNG: %s", path, err ? strerror(err) : "write failed");
    }
    free(tmp);
    free(px);
}

void ganrt_write_points(const char *path, const GanrtModel *m, const float *pts, int64_t count, int64_t per)
{
    int64_t d = ganrt_sample_floats(m);
    char *tmp = tmp_name(path);
    FILE *f = fopen(tmp ? tmp : path, "w");
    if (!f) ganrt_die("%s: cannot write: %s", path, strerror(errno));
    if (per) fprintf(f, "walk,t,");
    for (int64_t k = 0; k < d; k++)
        if (d == 2) fprintf(f, k ? ",y" : "x");
        else fprintf(f, "%sx%lld", k ? "," : "", (long long)k);
    fputc('\n', f);
    for (int64_t i = 0; i < count; i++) {
        if (per) fprintf(f, "%lld,%.6g,", (long long)(i / per), per > 1 ? (double)(i % per) / (double)(per - 1) : 0.0);
        for (int64_t k = 0; k < d; k++)
            fprintf(f, "%.6g%c", pts[i * d + k], k + 1 < d ? ',' : '\n');
    }
    if (ferror(f) | fclose(f) || (tmp && rename(tmp, path))) {
        int err = errno;
        if (tmp) remove(tmp);
        ganrt_die("%s: cannot write: %s", path, strerror(err));
    }
    free(tmp);
}
