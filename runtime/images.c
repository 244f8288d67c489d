/* images.c: folders of images as training data.
 *
 * ganrt_images_load() reads every PNG, JPEG, BMP, GIF (first frame), TGA or
 * PNM file under a folder and its subfolders, in byte order of their paths
 * (so the data set, and with it a seeded run, is the same on every machine),
 * decodes it with stb_image, lays transparent pixels over white, converts to
 * 1 channel (luminance, ITU-R 601 weights) or 3 (RGB), resizes to the model's
 * H x W with stb_image_resize when the size differs, and scales to [-1, 1]
 * in [C, H, W] order.  A file that does not decode is skipped with a warning
 * naming it; a missing folder or one without a single image is an error
 * returned to the caller (nothing here exits).
 */
#include "rt.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#define MAX_PIXELS (1 << 24)   /* per image: 4096x4096, or a 12-megapixel photo */
#define MAX_SIDE 16384         /* a 2x6,000,000 strip took stb's resize minutes */

typedef struct { char **v; size_t n, cap; } Paths;

static int is_image_name(const char *name)
{
    static const char *ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".pnm", ".ppm", ".pgm"};
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (size_t k = 0; k < sizeof ext / sizeof *ext; k++)
        if (!strcasecmp(dot, ext[k])) return 1;
    return 0;
}

/* Collects image paths under dir; depth bounds symlink loops. */
static void walk(const char *dir, Paths *p, int depth)
{
    DIR *d = depth < 16 ? opendir(dir) : NULL;
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *path = ganrt_path(dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            walk(path, p, depth + 1);
            free(path);
        } else if (S_ISREG(st.st_mode) && is_image_name(e->d_name)) {
            if (p->n == p->cap) {
                p->cap = p->cap ? 2 * p->cap : 256;
                p->v = realloc(p->v, p->cap * sizeof *p->v);
                if (!p->v) ganrt_die("out of memory listing %s", dir);
            }
            p->v[p->n++] = path;
        } else {
            free(path);
        }
    }
    closedir(d);
}

/* A PNM file (P1..P7): Debian's stb_image crashes on truncated 16-bit ones. */
static int is_pnm(const char *path)
{
    unsigned char b[2] = {0, 0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(b, 1, 2, f);
    fclose(f);
    return n == 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7';
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int ganrt_images_load(const char *dir, int C, int H, int W, float **out, int64_t *count, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a folder of images", dir);
        return -1;
    }
    Paths p = {0};
    walk(dir, &p, 0);
    if (p.n) qsort(p.v, p.n, sizeof *p.v, cmp_str);   /* p.v is NULL when empty: qsort's argument must not be */
    size_t per = (size_t)C * (size_t)H * (size_t)W;
    float *data = p.n ? malloc(p.n * per * sizeof *data) : NULL;
    unsigned char *rgb = malloc((size_t)H * (size_t)W * 4);
    if ((p.n && !data) || !rgb) ganrt_die("out of memory loading %zu images from %s", p.n, dir);
    int64_t n = 0;
    for (size_t i = 0; i < p.n; i++) {
        int w, h, ch;
        /* a header can claim any size: a 100-byte BMP would have stb_image
         * allocate gigabytes, so look before decoding */
        /* (a top-down BMP reports a negative height here) */
        if (stbi_info(p.v[i], &w, &h, &ch)) {
            int64_t aw = w < 0 ? -(int64_t)w : w, ah = h < 0 ? -(int64_t)h : h;
            if (aw * ah > MAX_PIXELS) {
                ganrt_warn("%s: skipped: %dx%d pixels is more than %d million", p.v[i], w, h, MAX_PIXELS >> 20);
                continue;
            }
            if (aw > MAX_SIDE || ah > MAX_SIDE) {
                ganrt_warn("%s: skipped: %dx%d pixels: a side longer than %d", p.v[i], w, h, MAX_SIDE);
                continue;
            }
        }
        if (is_pnm(p.v[i]) && stbi_is_16_bit(p.v[i])) {   /* stb_image crashes on short ones */
            ganrt_warn("%s: skipped: 16-bit PNM images are not supported", p.v[i]);
            continue;
        }
        unsigned char *px = stbi_load(p.v[i], &w, &h, &ch, 4);
        if (!px) {
            ganrt_warn("%s: skipped: %s", p.v[i], stbi_failure_reason());
            continue;
        }
        if (w < 1 || h < 1) {   /* stb_image returns a 0x0 image for some PNM headers */
            ganrt_warn("%s: skipped: an image of %dx%d pixels", p.v[i], w, h);
            stbi_image_free(px);
            continue;
        }
        const unsigned char *src = px;
        if (w != W || h != H) {
            if (!stbir_resize_uint8(px, w, h, 0, rgb, W, H, 0, 4)) {
                ganrt_warn("%s: skipped: cannot resize %dx%d to %dx%d", p.v[i], w, h, W, H);
                stbi_image_free(px);
                continue;
            }
            src = rgb;
        }
        float *dst = data + (size_t)n * per;
        for (int64_t q = 0; q < (int64_t)H * W; q++) {
            const unsigned char *s = src + 4 * q;
            double a = s[3] / 255.0, v[3];
            for (int k = 0; k < 3; k++) v[k] = s[k] / 255.0 * a + (1 - a);   /* over white */
            if (C == 1) dst[q] = (float)(2 * (0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2]) - 1);
            else
                for (int k = 0; k < 3; k++) dst[(int64_t)k * H * W + q] = (float)(2 * v[k] - 1);
        }
        stbi_image_free(px);
        n++;
    }
    for (size_t i = 0; i < p.n; i++) free(p.v[i]);
    free(p.v);
    free(rgb);
    if (n == 0) {
        free(data);
        snprintf(err, errlen, "%s: no image could be read (PNG, JPEG, BMP, GIF, TGA, PNM)", dir);
        return -1;
    }
    *out = data;
    *count = n;
    return 0;
}
