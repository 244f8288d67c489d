/* fuzz_ckpt.c: libFuzzer target for the checkpoint reader (runtime/ckpt.c
 * and the JSON parser it uses).
 *
 * The model is the hand-written one of tests/rt_fake_model.c (12 tensors,
 * source hash 0123456789abcdef), linked in.  The bytes are written to a
 * file and loaded with ganrt_ckpt_read() into an arena, as `--resume` and
 * `sample --ckpt` load them.  A success must leave a valid state (the RNG
 * not all zero, counts in range); a failure must name the file.  Nothing
 * may leak either way.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static float *arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(path, sizeof path, "%s/fuzz_ckpt.%d", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm", (int)getpid());
    ganrt_check_model(&ganc_model);
    arena = ganrt_arena_alloc(&ganc_model);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f)) abort();
    GanrtState st;
    memset(&st, 0, sizeof st);
    char err[512];
    if (ganrt_ckpt_read(&ganc_model, arena, &st, path, err, sizeof err) == 0) {
        if (st.step < 0 || st.d_updates < 0 || st.g_updates < 0 || st.data_epoch < 0 ||
            st.data_pos < 0 || !(st.rng.s[0] | st.rng.s[1] | st.rng.s[2] | st.rng.s[3]))
            abort();
    } else if (strncmp(err, path, strlen(path))) {
        abort();
    }
    unlink(path);
    return 0;
}
