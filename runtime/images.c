/* images.c: folders of images as training data.
 *
 * ganrt_images_load() reads every PNG, JPEG, BMP, GIF (first frame), TGA or
 * PNM file under a folder and its subfolders, in byte order of their paths
 * (so the data set, and with it a seeded run, is the same on every machine),
 * decodes it with stb_image, lays transparent pixels over white, converts to
 * 1 channel (luminance, ITU-R 601 weights) or 3 (RGB), resizes to the model's
 * H x W with stb_image_resize when the size differs, and scales to [-1, 1]
 * in [C, H, W] order.  A file that does not decode, or whose header or
 * compressed data claims more memory than an image of its size needs, is
 * skipped with a warning naming it; a missing folder or one without a
 * single image is an error returned to the caller (nothing here exits).
 */
#include "rt.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>
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

static uint32_t be32(const unsigned char *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }

/* The bytes of a PNG's filtered image data: a filter byte and the packed
 * pixels of each row, of each of the seven Adam7 passes when interlaced. */
static uint64_t png_raw_size(uint64_t w, uint64_t h, unsigned bits, int interlaced)
{
    static const int pass[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
    if (!interlaced) return h * (1 + (w * bits + 7) / 8);
    uint64_t n = 0;
    for (int k = 0; k < 7; k++) {
        uint64_t pw = w > (uint64_t)pass[k][0] ? (w - pass[k][0] + pass[k][2] - 1) / pass[k][2] : 0;
        uint64_t ph = h > (uint64_t)pass[k][1] ? (h - pass[k][1] + pass[k][3] - 1) / pass[k][3] : 0;
        if (pw && ph) n += ph * (1 + (pw * bits + 7) / 8);
    }
    return n;
}

/* For a PNG file: 0 when every chunk up to IEND lies within the file and
 * the compressed image data inflates to no more than the image needs (plus
 * 64 KB), else -1 with *why set.  stb_image grows its buffer of image data
 * to whatever length a chunk claims before reading it (a 100-byte file had
 * it allocate 2 GB), and inflates into a buffer it doubles for as long as
 * the stream goes on (a "zip bomb"); this walks the chunks against the
 * file's size, and inflates the stream with zlib into a small scratch
 * buffer, counting, stopping early.  Files that are not PNG are left to
 * stb_image, as are streams zlib finds corrupt (stb_image rejects them). */
static int png_bounded(const char *path, const char **why)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char hd[8], buf[8192], scratch[65536];
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int ok = 0, started = 0, iphone = 0, inflating = 1;
    uint64_t limit = 0, made = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    struct stat st;
    if (fstat(fileno(f), &st) || fread(hd, 1, 8, f) != 8 || memcmp(hd, sig, 8)) goto done;
    for (uint64_t at = 8;; at += 12 + (uint64_t)be32(hd)) {
        if (fread(hd, 1, 8, f) != 8) break;
        uint32_t len = be32(hd);
        if (at + 12 + len > (uint64_t)st.st_size) {
            *why = "a chunk runs past the end of the file";
            ok = -1;
            goto done;
        }
        if (!memcmp(hd + 4, "IHDR", 4)) {
            unsigned char ih[13];
            if (len != 13 || fread(ih, 1, 13, f) != 13) break;
            static const int chans[7] = {1, 0, 3, 1, 2, 0, 4};
            unsigned ct = ih[9] < 7 ? (unsigned)chans[ih[9]] : 0;
            limit = png_raw_size(be32(ih), be32(ih + 4), (ct ? ct : 4) * (ih[8] ? ih[8] : 16), ih[12] != 0) + 65536;
            if (fseek(f, 4, SEEK_CUR)) break;
        } else if (!memcmp(hd + 4, "CgBI", 4)) {   /* Apple's PNG: raw deflate, no zlib header */
            iphone = 1;
            if (fseek(f, (long)len + 4, SEEK_CUR)) break;
        } else if (!memcmp(hd + 4, "IDAT", 4) && limit && inflating) {
            if (!started && inflateInit2(&z, iphone ? -15 : 15) != Z_OK) break;
            started = 1;
            for (uint32_t left = len; left;) {
                size_t want = left < sizeof buf ? left : sizeof buf;
                if (fread(buf, 1, want, f) != want) goto done;
                left -= (uint32_t)want;
                z.next_in = buf;
                z.avail_in = (uInt)want;
                while (z.avail_in && inflating) {
                    z.next_out = scratch;
                    z.avail_out = sizeof scratch;
                    int r = inflate(&z, Z_NO_FLUSH);
                    made += sizeof scratch - z.avail_out;
                    if (made > limit) {
                        *why = "its compressed image data inflates to more than its size needs";
                        ok = -1;
                        goto done;
                    }
                    if (r != Z_OK) inflating = 0;   /* the end, or bad data (stb_image will say) */
                }
            }
            if (fseek(f, 4, SEEK_CUR)) break;
        } else if (!memcmp(hd + 4, "IEND", 4)) {
            break;
        } else if (fseek(f, (long)len + 4, SEEK_CUR)) {
            break;
        }
    }
done:
    if (started) inflateEnd(&z);
    fclose(f);
    return ok;
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
        const char *why = NULL;
        if (png_bounded(p.v[i], &why)) {
            ganrt_warn("%s: skipped: %s", p.v[i], why);
            continue;
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
