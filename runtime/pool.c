/* pool.c: the thread pool behind ganrt_parallel().
 *
 * T threads in all: the caller plus T-1 persistent workers created once by
 * ganrt_pool_init() (T = --threads, default the CPUs this process may run
 * on).  ganrt_parallel(k, arena, n, grain) splits [0, n) into chunks whose
 * boundaries are multiples of grain (about CHUNKS per thread) and every thread,
 * the caller included, claims chunks from a shared counter until none is
 * left; the call returns when all chunks are done.  Kernels compute each
 * item on its own, so results never depend on who ran which chunk; and a
 * worker that the OS has descheduled (another process on the core) does not
 * hold the step up: the others take its chunks.  A job is published by
 * bumping a generation counter; idle workers spin on it briefly (kernels
 * arrive back to back during a step) and then sleep on a condition
 * variable.  Runs serially when n <= grain, T == 1, or when called from
 * inside a kernel.
 */
#define _GNU_SOURCE
#include "rt.h"
#include <pthread.h>
#include <sys/resource.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPIN_PAUSE 4000     /* idle worker: busy-wait iterations, then */
#define SPIN_YIELD 200      /* sched_yield() calls, then sleep */
#define SPIN_CALLER 2000    /* caller waiting for workers: busy-wait, then yield */
/* Chunks per thread of a parallel call: with 16 rather than 4, the thread
 * that finishes first waits for a smaller last chunk (time spent waiting in
 * a training step: dcgan28 5.1% -> 3.0%, dcgan64 3.1% -> 1.2%, mlp 6.9% ->
 * 4.4% of the samples of `perf record`; 32 gained nothing more). */
#define CHUNKS 16

static struct {
    int nthreads, spin_pause;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint_fast64_t gen;
    atomic_int sleepers;
    atomic_uint_fast64_t claim;   /* job generation << 32 | next chunk to claim */
    atomic_int_fast64_t done;     /* chunks of the current job finished */
    atomic_int_fast64_t nchunks;  /* of the current job; 0 while a job is being set up */
    GanrtKernel k;
    float *arena;
    int64_t n, chunk;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
static _Thread_local int in_pool;

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Claims and runs chunks of job `gen` until none is left.  The claim word
 * carries the generation, so a worker that wakes late for an old job can
 * never claim a chunk of a newer one; and the job's fields stay fixed while
 * any of its chunks is claimed and not done (the caller waits for them). */
static void run_chunks(uint32_t gen)
{
    for (;;) {
        uint_fast64_t v = atomic_load_explicit(&P.claim, memory_order_acquire);
        int64_t nchunks = atomic_load_explicit(&P.nchunks, memory_order_acquire);
        if ((uint32_t)(v >> 32) != gen || (int64_t)(v & 0xffffffffu) >= nchunks) return;
        if (!atomic_compare_exchange_weak_explicit(&P.claim, &v, v + 1, memory_order_acq_rel, memory_order_relaxed))
            continue;
        int64_t lo = (int64_t)(v & 0xffffffffu) * P.chunk, hi = lo + P.chunk;
        if (hi > P.n) hi = P.n;
        P.k(P.arena, lo, hi);
        atomic_fetch_add_explicit(&P.done, 1, memory_order_release);
    }
}

static void *worker(void *arg)
{
    (void)arg;
    uint_fast64_t seen = 0, g;
    in_pool = 1;
    for (;;) {
        int spins = 0;
        while ((g = atomic_load_explicit(&P.gen, memory_order_acquire)) == seen) {
            if (++spins < P.spin_pause) { relax(); continue; }
            if (spins < P.spin_pause + SPIN_YIELD) { sched_yield(); continue; }
            pthread_mutex_lock(&P.mu);
            atomic_fetch_add(&P.sleepers, 1);
            while ((g = atomic_load(&P.gen)) == seen) pthread_cond_wait(&P.cv, &P.mu);
            atomic_fetch_sub(&P.sleepers, 1);
            pthread_mutex_unlock(&P.mu);
            break;
        }
        seen = g;
        run_chunks((uint32_t)g);
    }
    return NULL;
}

static int online_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void ganrt_pool_init(int threads)
{
    if (P.nthreads) return;
    struct rlimit rl;   /* the calling thread runs kernels too: let its stack grow as the workers' */
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < ((rlim_t)8 << 20)) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > ((rlim_t)8 << 20) ? (rlim_t)8 << 20 : rl.rlim_max;
        setrlimit(RLIMIT_STACK, &rl);
    }
    if (threads <= 0) threads = online_cpus();
    if (threads > 1024) threads = 1024;
    P.spin_pause = threads > online_cpus() ? 0 : SPIN_PAUSE;   /* oversubscribed: yield at once */
    P.nthreads = 1;
    for (int i = 1; i < threads; i++) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        /* kernels keep their panels on the stack (up to about 600 KB: a
         * col2im product's packed A, see cg.c): not the default of a
         * process whose stack limit is small */
        pthread_attr_setstacksize(&at, (size_t)8 << 20);
        int err = pthread_create(&t, &at, worker, (void *)(intptr_t)i);
        pthread_attr_destroy(&at);
        if (err) {
            ganrt_warn("could only start %d threads", P.nthreads);
            break;
        }
        P.nthreads++;
    }
}

int ganrt_pool_threads(void) { return P.nthreads ? P.nthreads : online_cpus(); }

/* GANRT_CHECK_CHUNKS=1: the test of the promise above.  Every parallel call
 * runs its chunks on the calling thread three times from the same arena:
 * as one range, chunk by chunk in order, and chunk by chunk backwards; the
 * three arenas must be bit-identical, else a kernel reads what another
 * chunk writes (a race once threads run them) or depends on where chunks
 * begin.  The first difference stops the program naming the call. */
static struct {
    int64_t floats, calls;
    float *save, *want;
} C;

void ganrt_pool_check_chunks(int64_t arena_floats)
{
    const char *e = getenv("GANRT_CHECK_CHUNKS");
    if (!e || !*e || !strcmp(e, "0") || arena_floats <= 0) return;
    C.floats = arena_floats;
    C.save = malloc((size_t)arena_floats * sizeof(float));
    C.want = malloc((size_t)arena_floats * sizeof(float));
    if (!C.save || !C.want) ganrt_die("GANRT_CHECK_CHUNKS: out of memory");
}

static void check_chunks(GanrtKernel k, float *arena, int64_t n, int64_t chunk)
{
    size_t bytes = (size_t)C.floats * sizeof(float);
    int64_t nchunks = (n + chunk - 1) / chunk;
    C.calls++;
    memcpy(C.save, arena, bytes);
    k(arena, 0, n);
    memcpy(C.want, arena, bytes);
    for (int pass = 0; pass < 2; pass++) {
        memcpy(arena, C.save, bytes);
        for (int64_t i = 0; i < nchunks; i++) {
            int64_t c = pass ? nchunks - 1 - i : i, lo = c * chunk, hi = lo + chunk < n ? lo + chunk : n;
            k(arena, lo, hi);
        }
        if (memcmp(arena, C.want, bytes)) {
            int64_t at = 0;
            while (!memcmp(&arena[at], &C.want[at], sizeof(float))) at++;
            ganrt_die("GANRT_CHECK_CHUNKS: parallel call %lld (%lld items in chunks of %lld) gives "
                      "float %lld = %.9g %s, %.9g as one range",
                      (long long)C.calls, (long long)n, (long long)chunk, (long long)at, arena[at],
                      pass ? "with its chunks run backwards" : "chunk by chunk", C.want[at]);
        }
    }
}

void ganrt_parallel(GanrtKernel k, float *arena, int64_t n, int64_t grain)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (!P.nthreads) ganrt_pool_init(0);
    int t = P.nthreads;
    if (t == 1 || n <= grain || in_pool) {
        k(arena, 0, n);
        return;
    }
    int64_t units = (n + grain - 1) / grain, per = (units + CHUNKS * t - 1) / (CHUNKS * t);
    if (C.floats) {
        check_chunks(k, arena, n, per * grain);
        return;
    }
    /* A worker still leaving the previous job may have read its claim word
     * and be about to compare it with nchunks and claim it.  The claim word
     * moves to the new generation (with nothing to claim) before any field
     * changes, so such a claim fails; before this ordering, a stale worker
     * that read the new, larger nchunks could claim a chunk of a job not yet
     * set up and run it with a mix of old and new fields. */
    uint32_t gen = (uint32_t)atomic_load_explicit(&P.gen, memory_order_relaxed) + 1;
    atomic_store(&P.nchunks, 0);
    atomic_store(&P.claim, (uint_fast64_t)gen << 32);
    P.k = k;
    P.arena = arena;
    P.n = n;
    P.chunk = per * grain;
    atomic_store_explicit(&P.done, 0, memory_order_relaxed);
    int64_t nchunks = (n + P.chunk - 1) / P.chunk;
    atomic_store_explicit(&P.nchunks, nchunks, memory_order_release);
    atomic_store(&P.gen, gen);
    if (atomic_load(&P.sleepers) > 0) {
        pthread_mutex_lock(&P.mu);
        pthread_cond_broadcast(&P.cv);
        pthread_mutex_unlock(&P.mu);
    }
    in_pool = 1;
    run_chunks(gen);
    in_pool = 0;
    for (int spins = 0; atomic_load_explicit(&P.done, memory_order_acquire) < nchunks;)
        if (++spins < SPIN_CALLER) relax();
        else sched_yield();
}
