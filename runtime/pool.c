/* pool.c: the thread pool behind ganrt_parallel().
 *
 * T threads in all: the caller plus T-1 persistent workers created once by
 * ganrt_pool_init() (T = --threads, default the CPUs this process may run
 * on).  ganrt_parallel(k, arena, n, grain) splits [0, n) into chunks whose
 * boundaries are multiples of grain (about 4 per thread) and every thread,
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
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define SPIN_PAUSE 4000     /* idle worker: busy-wait iterations, then */
#define SPIN_YIELD 200      /* sched_yield() calls, then sleep */
#define SPIN_CALLER 2000    /* caller waiting for workers: busy-wait, then yield */

static struct {
    int nthreads, spin_pause;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint_fast64_t gen;
    atomic_int sleepers;
    atomic_uint_fast64_t claim;   /* job generation << 32 | next chunk to claim */
    atomic_int_fast64_t done;     /* chunks of the current job finished */
    GanrtKernel k;
    float *arena;
    int64_t n, chunk, nchunks;
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
        if ((uint32_t)(v >> 32) != gen || (int64_t)(v & 0xffffffffu) >= P.nchunks) return;
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
    if (threads <= 0) threads = online_cpus();
    if (threads > 1024) threads = 1024;
    P.spin_pause = threads > online_cpus() ? 0 : SPIN_PAUSE;   /* oversubscribed: yield at once */
    P.nthreads = 1;
    for (int i = 1; i < threads; i++) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
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
    int64_t units = (n + grain - 1) / grain, per = (units + 4 * t - 1) / (4 * t);
    P.k = k;
    P.arena = arena;
    P.n = n;
    P.chunk = per * grain;
    P.nchunks = (n + P.chunk - 1) / P.chunk;
    uint32_t gen = (uint32_t)atomic_load_explicit(&P.gen, memory_order_relaxed) + 1;
    atomic_store_explicit(&P.done, 0, memory_order_relaxed);
    atomic_store_explicit(&P.claim, (uint_fast64_t)gen << 32, memory_order_release);
    atomic_store(&P.gen, gen);
    if (atomic_load(&P.sleepers) > 0) {
        pthread_mutex_lock(&P.mu);
        pthread_cond_broadcast(&P.cv);
        pthread_mutex_unlock(&P.mu);
    }
    in_pool = 1;
    run_chunks(gen);
    in_pool = 0;
    for (int spins = 0; atomic_load_explicit(&P.done, memory_order_acquire) < P.nchunks;)
        if (++spins < SPIN_CALLER) relax();
        else sched_yield();
}
