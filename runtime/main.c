/* main.c: the command line of a generated program.
 *
 *   prog train  [--steps N] [--out DIR] [--seed S] [--threads T] [--data PATH] [--resume]
 *   prog sample --ckpt FILE [-n N] [-o OUT] [--seed S] [--threads T] [--noise FILE] [--no-ema]
 *   prog interpolate --ckpt FILE [-n N] [--steps S] [-o OUT] [--seed S] [--threads T] [--noise FILE] [--lerp] [--no-ema]
 *   prog eval   --ckpt FILE [-n N] [--seed S] [--threads T] [--data PATH] [--no-ema]
 *   prog info
 *   prog bench  [--steps N] [--threads T] [--seed S] [--data PATH | --synthetic]
 *
 * Options take their value as the next argument or after '='.  `--help`
 * (or -h) on the program or a command prints usage on stdout and exits 0;
 * an unknown command or option, a missing or malformed value prints a
 * message and the usage on stderr and exits 2.  Runtime failures exit 1.
 * The model table is checked and the thread pool started before any
 * command runs.
 */
#include "rt.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { TRAIN = 1, SAMPLE = 2, EVAL = 4, INFO = 8, BENCH = 16, INTERP = 32 };
#define NCMDS 6
enum { O_STEPS, O_OUT, O_SEED, O_THREADS, O_DATA, O_RESUME, O_CKPT, O_N, O_NOISE, O_NO_EMA, O_SYNTHETIC, O_LERP };
static const struct {
    const char *lng, *shrt, *arg, *help;
    int cmds;
} opts[] = {
    [O_STEPS] = {"--steps", NULL, "N",
                 "train until step N (default: the program's steps); bench: steps timed (30); interpolate: images per walk, ends included (10)",
                 TRAIN | BENCH | INTERP},
    [O_OUT] = {"--out", "-o", "DIR", "run directory (default runs/<name>); for sample and interpolate: output file", TRAIN | SAMPLE | INTERP},
    [O_SEED] = {"--seed", NULL, "S", "random seed (default 0)", TRAIN | SAMPLE | EVAL | BENCH | INTERP},
    [O_THREADS] = {"--threads", NULL, "T", "worker threads (default: all CPUs)", TRAIN | SAMPLE | EVAL | BENCH | INTERP},
    [O_DATA] = {"--data", NULL, "PATH", "IDX image file instead of the program's", TRAIN | EVAL | BENCH},
    [O_RESUME] = {"--resume", NULL, NULL, "continue from DIR/last.ckpt", TRAIN},
    [O_CKPT] = {"--ckpt", NULL, "FILE", "checkpoint to load", SAMPLE | EVAL | INTERP},
    [O_N] = {"--num", "-n", "N", "number of samples (sample: 64; eval: 2500, images 1000); interpolate: walks (8)", SAMPLE | EVAL | INTERP},
    [O_NOISE] = {"--noise", NULL, "FILE",
                 "noise rows to use: raw little-endian float32, N x noise size (interpolate: 2N rows, each walk's start and end)",
                 SAMPLE | INTERP},
    [O_NO_EMA] = {"--no-ema", NULL, NULL, "use G's trained weights, not their moving average (`ema G ...`)", SAMPLE | EVAL | INTERP},
    [O_SYNTHETIC] = {"--synthetic", NULL, NULL,
                     "one fixed batch of uniform noise in [-1, 1] as the real data (as bench/torch_ref.py does), no data set loaded",
                     BENCH},
    [O_LERP] = {"--lerp", NULL, NULL, "walk in straight lines (default for normal noise: along great circles, slerp)", INTERP},
};
#define NOPTS (int)(sizeof opts / sizeof opts[0])
static const struct {
    const char *name, *help;
    int bit;
} cmds[] = {
    {"train", "train the GAN, writing metrics, samples and checkpoints", TRAIN},
    {"sample", "write samples of a checkpoint's generator (PNG grid or CSV)", SAMPLE},
    {"eval", "measure a checkpoint's generator (mode coverage on toy data)", EVAL},
    {"info", "describe the model: shapes, tensors, parameters, memory, FLOPs", INFO},
    {"bench", "time training steps (median ms/step), writing nothing", BENCH},
    {"interpolate", "walk G's noise from one sample to another: a row of images per walk", INTERP},
};

static void usage(FILE *f, int cmd)
{
    if (!cmd) {
        fprintf(f, "usage: %s COMMAND [OPTIONS]\n\ncommands:\n", ganrt_prog);
        for (int i = 0; i < NCMDS; i++) fprintf(f, "  %-11s %s\n", cmds[i].name, cmds[i].help);
        fprintf(f, "\nRun '%s COMMAND --help' for the options of a command.\n", ganrt_prog);
        return;
    }
    int i = 0;
    while (cmds[i].bit != cmd) i++;
    fprintf(f, "usage: %s %s [OPTIONS]\n%s\n\noptions:\n", ganrt_prog, cmds[i].name, cmds[i].help);
    for (int k = 0; k < NOPTS; k++) {
        if (!(opts[k].cmds & cmd)) continue;
        char lhs[64];
        snprintf(lhs, sizeof lhs, "%s%s%s%s%s", opts[k].shrt ? opts[k].shrt : "",
                 opts[k].shrt ? ", " : "", opts[k].lng, opts[k].arg ? " " : "",
                 opts[k].arg ? opts[k].arg : "");
        fprintf(f, "  %-20s %s\n", lhs, opts[k].help);
    }
    fprintf(f, "  %-20s %s\n", "-h, --help", "show this help");
}

static _Noreturn void bad_usage(int cmd, const char *fmt, const char *what)
{
    fprintf(stderr, "%s: error: ", ganrt_prog);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    usage(stderr, cmd);
    exit(2);
}

static int64_t number(int cmd, const char *opt, const char *s, int64_t lo, int64_t hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s needs an integer in [%lld, %lld], not '%%s'", opt,
                 (long long)lo, (long long)hi);
        bad_usage(cmd, msg, s);
    }
    return v;
}

static void parse(int cmd, int argc, char **argv, GanrtOpts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout, cmd);
            exit(0);
        }
        size_t len = eq && !strncmp(a, "--", 2) ? (size_t)(eq - a) : strlen(a);
        int k = 0;
        for (; k < NOPTS; k++)
            if ((strlen(opts[k].lng) == len && !strncmp(a, opts[k].lng, len)) ||
                (opts[k].shrt && !strcmp(a, opts[k].shrt)))
                break;
        if (k == NOPTS || !(opts[k].cmds & cmd)) bad_usage(cmd, "unknown option '%s'", a);
        const char *v = NULL;
        if (opts[k].arg) {
            if (len < strlen(a)) v = eq + 1;
            else if (i + 1 < argc) v = argv[++i];
            else bad_usage(cmd, "option '%s' needs a value", a);
        } else if (len < strlen(a)) bad_usage(cmd, "option '%s' takes no value", a);
        switch (k) {
        case O_STEPS: o->steps = number(cmd, "--steps", v, 0, INT64_MAX / 2); break;
        case O_OUT: o->out = v; break;
        case O_SEED: o->seed = (uint64_t)number(cmd, "--seed", v, 0, INT64_MAX); o->have_seed = 1; break;
        case O_THREADS: o->threads = (int)number(cmd, "--threads", v, 1, 1024); break;
        case O_DATA: o->data = v; break;
        case O_RESUME: o->resume = 1; break;
        case O_CKPT: o->ckpt = v; break;
        case O_N: o->n = number(cmd, "-n", v, 1, 10000000); o->have_n = 1; break;
        case O_NOISE: o->noise = v; break;
        case O_NO_EMA: o->no_ema = 1; break;
        case O_SYNTHETIC: o->synthetic = 1; break;
        case O_LERP: o->lerp = 1; break;
        }
    }
    if ((cmd & (SAMPLE | EVAL | INTERP)) && !o->ckpt)
        bad_usage(cmd, "%s needs --ckpt FILE", cmd == SAMPLE ? "sample" : cmd == EVAL ? "eval" : "interpolate");
    if (cmd == INTERP && o->steps >= 0 && (o->steps < 2 || o->steps > 10000))
        bad_usage(cmd, "%s", "interpolate: --steps needs 2 to 10000 images per walk");
    if (cmd == INTERP && o->have_n && o->n * (o->steps >= 0 ? o->steps : 10) > 1000000)
        bad_usage(cmd, "%s", "interpolate: at most 1000000 images (-n walks times --steps)");
    if (o->out && !*o->out) bad_usage(cmd, "%s", "empty --out");
}

int main(int argc, char **argv)
{
    const GanrtModel *m = &ganc_model;
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    ganrt_prog = slash ? slash + 1 : argc > 0 ? argv[0] : "ganrt";
    if (argc < 2) bad_usage(0, "%s", "missing command");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout, 0);
        return 0;
    }
    int cmd = 0;
    for (int i = 0; i < NCMDS; i++)
        if (!strcmp(argv[1], cmds[i].name)) cmd = cmds[i].bit;
    if (!cmd) bad_usage(0, "unknown command '%s'", argv[1]);
    GanrtOpts o = {.steps = -1};
    parse(cmd, argc - 2, argv + 2, &o);
    ganrt_check_model(m);
    if (cmd != INFO) ganrt_pool_init(o.threads);
    ganrt_pool_check_chunks(m->arena_floats);
    switch (cmd) {
    case TRAIN: return ganrt_cmd_train(m, &o);
    case SAMPLE: return ganrt_cmd_sample(m, &o);
    case EVAL: return ganrt_cmd_eval(m, &o);
    case BENCH: return ganrt_cmd_bench(m, &o);
    case INTERP: return ganrt_cmd_interpolate(m, &o);
    default: return ganrt_cmd_info(m, &o);
    }
}
