/* ckpt.c: checkpoints in the safetensors format.
 *
 * Layout: 8-byte little-endian header length N; N bytes of JSON header,
 * padded with spaces to a multiple of 8; then every tensor of the model
 * table (parameters, buffers, optimizer moments), in table order, as raw
 * little-endian F32.  The header maps each tensor name to
 * {"dtype":"F32","shape":[...],"data_offsets":[begin,end]} (offsets
 * relative to the data section) and carries "__metadata__" (all values
 * strings): format "ganc", model, source_hash, step, d_updates, g_updates,
 * seed, rng (training RNG state, 64 hex digits), data_epoch, data_pos.
 * The file depends only on the training state, so two runs reaching the
 * same state write identical bytes.
 *
 * Saving is atomic: PATH.tmp is written, flushed, fsync'd and renamed over
 * PATH, then the directory is fsync'd; any failed write is fatal, names the
 * file and leaves the previous PATH untouched.  Loading validates strictly
 * (header length vs file size, JSON, format, source hash, every tensor
 * present with dtype F32, the right shape and offsets inside the file) and
 * reports problems as "FILE: problem".  ganrt_ckpt_read() is the loader
 * itself: it never exits and keeps no memory on failure (the fuzz target
 * tests/fuzz/fuzz_ckpt.c calls it directly); ganrt_ckpt_load() dies.
 */
#include "rt.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER (100u << 20)

static int host_le(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static void swap4(void *p, size_t n)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++, b += 4) {
        unsigned char t = b[0];
        b[0] = b[3]; b[3] = t;
        t = b[1]; b[1] = b[2]; b[2] = t;
    }
}

static int64_t tensor_count(const GanrtTensor *t)
{
    int64_t n = 1;
    for (int k = 0; k < t->rank; k++) n *= t->dim[k];
    return n;
}

static int write_floats(FILE *f, const float *p, int64_t n)
{
    if (host_le()) return fwrite(p, sizeof(float), (size_t)n, f) == (size_t)n ? 0 : -1;
    float tmp[1024];
    for (int64_t i = 0; i < n; i += 1024) {
        size_t k = (size_t)(n - i < 1024 ? n - i : 1024);
        memcpy(tmp, p + i, k * sizeof *tmp);
        swap4(tmp, k);
        if (fwrite(tmp, sizeof *tmp, k, f) != k) return -1;
    }
    return 0;
}

static void meta_str(GanrtBuf *b, const char *key, const char *val)
{
    ganrt_buf_printf(b, ",");
    ganrt_buf_json_str(b, key);
    ganrt_buf_printf(b, ":");
    ganrt_buf_json_str(b, val);
}

static void meta_int(GanrtBuf *b, const char *key, unsigned long long v)
{
    char s[32];
    snprintf(s, sizeof s, "%llu", v);
    meta_str(b, key, s);
}

static void sync_dir(const char *path)
{
    char *dir = ganrt_xstrdup(path), *slash = strrchr(dir, '/');
    if (slash) slash[slash == dir] = 0;
    int fd = open(slash ? dir : ".", O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

void ganrt_ckpt_save(const GanrtModel *m, const float *arena, const GanrtState *st,
                     const char *path)
{
    GanrtBuf h = {0};
    char rng[65];
    ganrt_rng_hex(&st->rng, rng);
    ganrt_buf_printf(&h, "{\"__metadata__\":{\"format\":\"ganc\"");
    meta_str(&h, "model", m->name ? m->name : "");
    meta_str(&h, "source_hash", m->source_hash ? m->source_hash : "");
    meta_int(&h, "step", (unsigned long long)st->step);
    meta_int(&h, "d_updates", (unsigned long long)st->d_updates);
    meta_int(&h, "g_updates", (unsigned long long)st->g_updates);
    meta_int(&h, "seed", (unsigned long long)st->seed);
    meta_str(&h, "rng", rng);
    meta_int(&h, "data_epoch", (unsigned long long)st->data_epoch);
    meta_int(&h, "data_pos", (unsigned long long)st->data_pos);
    ganrt_buf_printf(&h, "}");
    int64_t off = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const GanrtTensor *t = &m->tensors[i];
        ganrt_buf_printf(&h, ",");
        ganrt_buf_json_str(&h, t->name);
        ganrt_buf_printf(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int k = 0; k < t->rank; k++)
            ganrt_buf_printf(&h, "%s%" PRId64, k ? "," : "", t->dim[k]);
        int64_t end = off + 4 * tensor_count(t);
        ganrt_buf_printf(&h, "],\"data_offsets\":[%" PRId64 ",%" PRId64 "]}", off, end);
        off = end;
    }
    ganrt_buf_printf(&h, "}");
    while (h.len % 8) ganrt_buf_printf(&h, " ");

    size_t plen = strlen(path);
    char *tmp = ganrt_xmalloc(plen + 5);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    unsigned char len8[8];
    for (int k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)h.len >> (8 * k));
    FILE *f = fopen(tmp, "wb");
    int ok = f && fwrite(len8, 1, 8, f) == 8 && fwrite(h.p, 1, h.len, f) == h.len;
    for (int i = 0; ok && i < m->n_tensors; i++)
        ok = write_floats(f, arena + m->tensors[i].offset, tensor_count(&m->tensors[i])) == 0;
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        remove(tmp);
        ganrt_die("%s: cannot write checkpoint: %s%s", f ? path : tmp, strerror(err),
                  f ? " (the previous checkpoint, if any, is unchanged)" : "");
    }
    sync_dir(path);
    free(tmp);
    free(h.p);
}

/* Loading: every failure formats "PATH: problem" into err and returns -1. */
typedef struct {
    const char *path;
    char *err;
    size_t errlen;
} Ld;

static int ld_fail(Ld *l, const char *fmt, ...) GANRT_PRINTF(2, 3);
static int ld_fail(Ld *l, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(l->err, l->errlen, "%s: ", l->path);
    if (n < 0 || (size_t)n >= l->errlen) return -1;
    va_start(ap, fmt);
    vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *meta_get(Ld *l, const GanrtJson *meta, const char *key)
{
    const GanrtJson *v = ganrt_json_get(meta, key);
    if (!v || v->type != GANRT_JSTR) {
        ld_fail(l, "checkpoint metadata lacks \"%s\"", key);
        return NULL;
    }
    return v->str;
}

static int meta_u64(Ld *l, const GanrtJson *meta, const char *key, uint64_t *out)
{
    const char *s = meta_get(l, meta, key);
    if (!s) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || *s == '-' || *s == '+' || *s == ' ' ||
        (strcmp(key, "seed") && v > (uint64_t)INT64_MAX))
        return ld_fail(l, "checkpoint metadata \"%s\" is not a valid count: \"%.40s\"", key, s);
    *out = v;
    return 0;
}

static int json_int(const GanrtJson *j, int64_t *out)
{
    if (!j || j->type != GANRT_JNUM || j->num < 0 || j->num > 9007199254740992.0 ||
        j->num != (double)(int64_t)j->num) return -1;
    *out = (int64_t)j->num;
    return 0;
}

static int read_header(Ld *l, FILE *f, const GanrtModel *m, GanrtState *st, GanrtJson *j,
                       uint64_t *data_start, uint64_t *data_len)
{
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) return ld_fail(l, "cannot open checkpoint: %s", strerror(errno));
    if (!S_ISREG(sb.st_mode)) return ld_fail(l, "not a regular file");
    uint64_t size = (uint64_t)sb.st_size, hlen = 0;
    unsigned char len8[8];
    if (size < 8 || fread(len8, 1, 8, f) != 8)
        return ld_fail(l, "too short to be a checkpoint (%llu bytes)", (unsigned long long)size);
    for (int k = 0; k < 8; k++) hlen |= (uint64_t)len8[k] << (8 * k);
    if (hlen < 2 || hlen > size - 8 || hlen > MAX_HEADER)
        return ld_fail(l, "not a valid checkpoint: header length %llu does not fit a file of %llu bytes",
                       (unsigned long long)hlen, (unsigned long long)size);
    char *hdr = malloc((size_t)hlen), jerr[160];
    if (!hdr) return ld_fail(l, "out of memory for a header of %llu bytes", (unsigned long long)hlen);
    if (fread(hdr, 1, (size_t)hlen, f) != hlen) {
        free(hdr);
        return ld_fail(l, "cannot read checkpoint header");
    }
    int bad = ganrt_json_parse(hdr, (size_t)hlen, j, jerr, sizeof jerr);
    free(hdr);
    if (bad) return ld_fail(l, "checkpoint header is not valid JSON: %s", jerr);
    const GanrtJson *meta = ganrt_json_get(j, "__metadata__");
    if (j->type != GANRT_JOBJ || !meta || meta->type != GANRT_JOBJ)
        return ld_fail(l, "not a ganc checkpoint: the header has no \"__metadata__\" object");
    const char *s = meta_get(l, meta, "format");
    if (!s) return -1;
    if (strcmp(s, "ganc")) return ld_fail(l, "not a ganc checkpoint (format \"%.40s\")", s);
    const char *want = m->source_hash ? m->source_hash : "";
    if (!(s = meta_get(l, meta, "source_hash"))) return -1;
    if (strcmp(s, want))
        return ld_fail(l, "checkpoint was made from a different .gan (hash %.40s, this program %s)", s,
                       want);
    uint64_t v[6];
    static const char *const keys[6] = {"step", "d_updates", "g_updates", "seed", "data_epoch",
                                        "data_pos"};
    for (int k = 0; k < 6; k++)
        if (meta_u64(l, meta, keys[k], &v[k])) return -1;
    st->step = (int64_t)v[0];
    st->d_updates = (int64_t)v[1];
    st->g_updates = (int64_t)v[2];
    st->seed = v[3];
    st->data_epoch = (int64_t)v[4];
    st->data_pos = (int64_t)v[5];
    if (!(s = meta_get(l, meta, "rng"))) return -1;
    if (ganrt_rng_from_hex(&st->rng, s))
        return ld_fail(l, "checkpoint metadata \"rng\" is not 64 hex digits (not all zero)");
    *data_start = 8 + hlen;
    *data_len = size - *data_start;
    return 0;
}

static int read_tensors(Ld *l, FILE *f, const GanrtModel *m, float *arena, const GanrtJson *j,
                        uint64_t data_start, uint64_t data_len)
{
    for (int i = 0; i < m->n_tensors; i++) {
        const GanrtTensor *t = &m->tensors[i];
        const GanrtJson *e = ganrt_json_get(j, t->name), *v;
        if (!e || e->type != GANRT_JOBJ) return ld_fail(l, "tensor \"%s\" is missing", t->name);
        v = ganrt_json_get(e, "dtype");
        if (!v || v->type != GANRT_JSTR || strcmp(v->str, "F32"))
            return ld_fail(l, "tensor \"%s\" is not F32", t->name);
        v = ganrt_json_get(e, "shape");
        int ok = v && v->type == GANRT_JARR && v->n == t->rank;
        for (int k = 0; ok && k < t->rank; k++) {
            int64_t d;
            ok = json_int(&v->items[k], &d) == 0 && d == t->dim[k];
        }
        if (!ok) return ld_fail(l, "tensor \"%s\" has the wrong shape", t->name);
        v = ganrt_json_get(e, "data_offsets");
        int64_t b = 0, en = 0, bytes = 4 * tensor_count(t);
        if (!v || v->type != GANRT_JARR || v->n != 2 || json_int(&v->items[0], &b) ||
            json_int(&v->items[1], &en) || en < b || en - b != bytes || (uint64_t)en > data_len)
            return ld_fail(l, "tensor \"%s\" has bad data offsets (truncated file?)", t->name);
        float *dst = arena + t->offset;
        if (fseeko(f, (off_t)(data_start + (uint64_t)b), SEEK_SET) != 0 ||
            fread(dst, 1, (size_t)bytes, f) != (size_t)bytes)
            return ld_fail(l, "cannot read tensor \"%s\"", t->name);
        if (!host_le()) swap4(dst, (size_t)(bytes / 4));
    }
    return 0;
}

int ganrt_ckpt_read(const GanrtModel *m, float *arena, GanrtState *st, const char *path, char *err,
                    size_t errlen)
{
    Ld l = {path, err, errlen};
    err[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return ld_fail(&l, "cannot open checkpoint: %s", strerror(errno));
    GanrtJson j;
    memset(&j, 0, sizeof j);
    uint64_t data_start = 0, data_len = 0;
    int rc = read_header(&l, f, m, st, &j, &data_start, &data_len);
    if (rc == 0) rc = read_tensors(&l, f, m, arena, &j, data_start, data_len);
    ganrt_json_free(&j);
    fclose(f);
    return rc;
}

void ganrt_ckpt_load(const GanrtModel *m, float *arena, GanrtState *st, const char *path)
{
    char err[512];
    if (ganrt_ckpt_read(m, arena, st, path, err, sizeof err)) ganrt_die("%s", err);
}
