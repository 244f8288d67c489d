/* rt.h: interfaces shared by the files of libganrt (not part of the ABI).
 *
 * The ABI with generated code is ganrt.h; this header only connects the
 * runtime's own pieces: errors and paths (util.c), the random generator
 * (rng.c), the thread pool (pool.c), JSON (json.c), training data (data.c),
 * checkpoints (ckpt.c), sample files (output.c), the training loop
 * (train.c) and the other commands (cmds.c).  Fatal errors never return:
 * they print "prog: error: ..." and exit with status 1.
 */
#ifndef GANRT_RT_H
#define GANRT_RT_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ganrt.h"

#define GANRT_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* util.c */
extern const char *ganrt_prog;       /* base name of argv[0], for messages */
extern int ganrt_line_open;          /* a \r progress line is on stderr */
_Noreturn void ganrt_die(const char *fmt, ...) GANRT_PRINTF(1, 2);
void ganrt_warn(const char *fmt, ...) GANRT_PRINTF(1, 2);
void *ganrt_xmalloc(size_t n);
char *ganrt_xstrdup(const char *s);
char *ganrt_path(const char *dir, const char *file);   /* malloc'd dir/file */
int ganrt_mkdirs(const char *path);                     /* mkdir -p; 0 or -1+errno */
double ganrt_now(void);                                 /* monotonic seconds */
float *ganrt_arena_alloc(const GanrtModel *m);          /* 64-aligned, zeroed */
void ganrt_check_model(const GanrtModel *m);            /* ABI sanity, dies */
int64_t ganrt_sample_floats(const GanrtModel *m);       /* prod(data_dim) */

/* rng.c: xoshiro256** seeded by splitmix64; independent streams per use. */
typedef struct GanrtRng { uint64_t s[4]; } GanrtRng;
enum {
    GANRT_STREAM_INIT = 1,   /* parameter initialisation */
    GANRT_STREAM_TRAIN,      /* noise, toy data, dropout seeds (checkpointed) */
    GANRT_STREAM_FIXED,      /* fixed noise of the training sample files */
    GANRT_STREAM_DATA,       /* epoch permutations of file data (+ epoch << 8) */
    GANRT_STREAM_SAMPLE,     /* `sample` and `eval` commands */
};
void ganrt_rng_seed(GanrtRng *r, uint64_t seed, uint64_t stream);
uint64_t ganrt_rng_next(GanrtRng *r);
double ganrt_rng_uniform(GanrtRng *r);                  /* [0, 1) */
uint64_t ganrt_rng_below(GanrtRng *r, uint64_t n);      /* [0, n), unbiased */
double ganrt_rng_normal(GanrtRng *r);                   /* N(0, 1) */
void ganrt_rng_hex(const GanrtRng *r, char out[65]);
int ganrt_rng_from_hex(GanrtRng *r, const char *hex);   /* 0 ok, -1 bad */
void ganrt_fill_noise(const GanrtModel *m, GanrtRng *r, float *z, int64_t rows);

/* util.c: G's moving average (model->ema_decay > 0; no-ops otherwise). */
void ganrt_ema_init(const GanrtModel *m, float *arena);          /* average := weights */
void ganrt_ema_update(const GanrtModel *m, float *arena, int64_t updates);
void ganrt_ema_swap(const GanrtModel *m, float *arena);          /* weights <-> average */

/* pool.c */
void ganrt_pool_init(int threads);                      /* 0: online cores */
int ganrt_pool_threads(void);
void ganrt_pool_check_chunks(int64_t arena_floats);    /* GANRT_CHECK_CHUNKS=1 */

/* json.c: a small strict parser and an append-only string buffer. */
enum { GANRT_JNULL, GANRT_JBOOL, GANRT_JNUM, GANRT_JSTR, GANRT_JARR, GANRT_JOBJ };
typedef struct GanrtJson {
    int type;
    double num;                  /* JNUM, JBOOL */
    char *str;                   /* JSTR */
    int n;                       /* JARR, JOBJ: number of items */
    char **keys;                 /* JOBJ */
    struct GanrtJson *items;
} GanrtJson;
int ganrt_json_parse(const char *s, size_t len, GanrtJson *out, char *err, size_t errlen);
void ganrt_json_free(GanrtJson *j);
const GanrtJson *ganrt_json_get(const GanrtJson *obj, const char *key);
typedef struct GanrtBuf { char *p; size_t len, cap; } GanrtBuf;
void ganrt_buf_printf(GanrtBuf *b, const char *fmt, ...) GANRT_PRINTF(2, 3);
void ganrt_buf_json_str(GanrtBuf *b, const char *s);   /* quoted, escaped */

/* data.c: real batches. */
typedef struct GanrtDataset {
    const GanrtModel *m;
    char *path;                  /* IDX file or image folder, NULL for toy data */
    int64_t count, h, w;         /* IDX: images and their size */
    uint8_t *pix;
    float *img;                  /* folder: count images of data_dim, in [-1, 1] */
    int64_t *perm;               /* order of the current epoch */
    uint64_t seed;
    int64_t epoch, pos;          /* next image is perm[pos] of epoch */
} GanrtDataset;
void ganrt_data_open(GanrtDataset *d, const GanrtModel *m, const char *path_override);
/* Reads the IDX file `path` for model m into d->pix, count, h, w: 0, or -1
 * with "PATH: problem" in err and nothing allocated.  Never exits. */
int ganrt_idx_read(const GanrtModel *m, const char *path, GanrtDataset *d, char *err, size_t errlen);
void ganrt_data_seek(GanrtDataset *d, uint64_t seed, int64_t epoch, int64_t pos);
void ganrt_data_batch(GanrtDataset *d, GanrtRng *r, float *x, int64_t rows);
void ganrt_data_image(const GanrtDataset *d, int64_t i, float *out);
int ganrt_data_modes(const GanrtModel *m, double centres[][2], int max);
void ganrt_data_close(GanrtDataset *d);
/* images.c: every image under dir, as [count, C, H, W] floats in [-1, 1]
 * (malloc'd); 0, or -1 with a message in err. */
int ganrt_images_load(const char *dir, int C, int H, int W, float **out, int64_t *count, char *err, size_t errlen);

/* ckpt.c: safetensors checkpoints. */
typedef struct GanrtState {
    int64_t step, d_updates, g_updates;
    uint64_t seed;
    GanrtRng rng;
    int64_t data_epoch, data_pos;
} GanrtState;
void ganrt_ckpt_save(const GanrtModel *m, const float *arena, const GanrtState *st,
                     const char *path);
void ganrt_ckpt_load(const GanrtModel *m, float *arena, GanrtState *st, const char *path);
/* The same without exiting: 0, or -1 with "PATH: problem" in err (the arena
 * may be partly overwritten; no memory is kept). */
int ganrt_ckpt_read(const GanrtModel *m, float *arena, GanrtState *st, const char *path, char *err,
                    size_t errlen);

/* output.c: running G and writing what it makes. */
void ganrt_generate(const GanrtModel *m, float *arena, const float *z, int64_t rows, float *out);
void ganrt_write_grid(const char *path, const GanrtModel *m, const float *imgs, int64_t count,
                      int cols);
/* per > 0: the points are walks of `per` points, with two more columns first,
 * walk and t (from 0 to 1) */
void ganrt_write_points(const char *path, const GanrtModel *m, const float *pts, int64_t count, int64_t per);
int ganrt_is_image(const GanrtModel *m);

/* commands (train.c, cmds.c); argv[0] is the command name. */
typedef struct GanrtOpts {
    int64_t steps, n;
    uint64_t seed;
    int have_seed, have_n, threads, resume, no_ema, synthetic, lerp;
    const char *out, *data, *ckpt, *noise;
} GanrtOpts;
int ganrt_cmd_train(const GanrtModel *m, const GanrtOpts *o);
int ganrt_cmd_sample(const GanrtModel *m, const GanrtOpts *o);
int ganrt_cmd_interpolate(const GanrtModel *m, const GanrtOpts *o);
int ganrt_cmd_eval(const GanrtModel *m, const GanrtOpts *o);
int ganrt_cmd_info(const GanrtModel *m, const GanrtOpts *o);
int ganrt_cmd_bench(const GanrtModel *m, const GanrtOpts *o);

#endif
