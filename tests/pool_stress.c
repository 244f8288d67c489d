/* pool_stress.c: ganrt_parallel() under back-to-back jobs of changing sizes.
 *
 * Each job adds its own constant to every float of its range exactly once,
 * so a chunk run twice, skipped, run with another job's kernel or bounds, or
 * still running when the call returns leaves a wrong sum.  Jobs alternate
 * between kernels and sizes (small and large chunk counts), which is what
 * lets a worker leaving one job meet the set-up of the next.
 * Usage: pool_stress THREADS JOBS; exit 0 and "ok" when every sum is right.
 * GANRT_CHECK_CHUNKS=1 pool_stress check: the checker must stop a kernel
 * whose result depends on its chunk bounds (exit 1). */
#include "ganrt.h"
#include "rt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 4096

static void add1(float *a, int64_t lo, int64_t hi) { for (int64_t i = lo; i < hi; i++) a[i] += 1.0f; }
static void add2(float *a, int64_t lo, int64_t hi) { for (int64_t i = lo; i < hi; i++) a[i] += 2.0f; }
/* reads what add1/add2 wrote: a late chunk of the previous job shows here */
static void copy(float *a, int64_t lo, int64_t hi) { for (int64_t i = lo; i < hi; i++) a[N + i] = a[i]; }

/* depends on where its chunk begins: what GANRT_CHECK_CHUNKS must catch */
static void chunky(float *a, int64_t lo, int64_t hi) { for (int64_t i = lo; i < hi; i++) a[i] = (float)lo; }

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "check")) {   /* GANRT_CHECK_CHUNKS=1 pool_stress check */
        float *a = calloc(N, sizeof(float));
        ganrt_pool_init(2);
        ganrt_pool_check_chunks(N);
        ganrt_parallel(add1, a, N, 16);
        ganrt_parallel(chunky, a, N, 16);
        printf("not caught\n");
        return 0;
    }
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    long jobs = argc > 2 ? atol(argv[2]) : 200000;
    float *a = calloc(2 * N, sizeof(float));
    double want[N] = {0};
    ganrt_pool_init(threads);
    unsigned r = 12345;
    for (long j = 0; j < jobs; j++) {
        r = r * 1103515245u + 12345u;
        int64_t n = 1 + (r >> 8) % N, grain = 1 + (r >> 20) % 64;
        int two = (r >> 30) & 1;
        ganrt_parallel(two ? add2 : add1, a, n, grain);
        for (int64_t i = 0; i < n; i++) want[i] += two ? 2 : 1;
        if (j % 64 == 0) {
            ganrt_parallel(copy, a, N, 16);
            for (int64_t i = 0; i < N; i++)
                if (a[N + i] != (float)want[i]) {
                    printf("job %ld: float %lld is %g, want %g\n", j, (long long)i, a[N + i], want[i]);
                    return 1;
                }
        }
    }
    for (int64_t i = 0; i < N; i++)
        if (a[i] != (float)want[i]) {
            printf("end: float %lld is %g, want %g\n", (long long)i, a[i], want[i]);
            return 1;
        }
    printf("ok\n");
    free(a);
    return 0;
}
