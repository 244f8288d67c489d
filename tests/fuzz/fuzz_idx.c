/* fuzz_idx.c: libFuzzer target for the IDX image reader (runtime/data.c).
 *
 * The first byte picks the image size the program expects (4x4, 28x28, 1x1
 * or 3x2), the rest is written to a file and read with ganrt_idx_read(),
 * through zlib as a real run reads it (plain or gzip).  A success must
 * return exactly count*h*w pixels; a failure must name the file.  Nothing
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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(path, sizeof path, "%s/fuzz_idx.%d", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm", (int)getpid());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t dims[4][2] = {{4, 4}, {28, 28}, {1, 1}, {3, 2}};
    if (size < 1) return 0;
    GanrtModel m;
    memset(&m, 0, sizeof m);
    m.data_kind = GANRT_DATA_IDX;
    m.data_rank = 3;
    m.data_dim[0] = 1;
    m.data_dim[1] = dims[data[0] & 3][0];
    m.data_dim[2] = dims[data[0] & 3][1];
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f)) abort();
    GanrtDataset d;
    memset(&d, 0, sizeof d);
    char err[512];
    if (ganrt_idx_read(&m, path, &d, err, sizeof err) == 0) {
        if (d.count < 1 || d.h != m.data_dim[1] || d.w != m.data_dim[2] || !d.pix) abort();
        uint64_t sum = 0;   /* touch every pixel: ASan checks the size */
        for (int64_t i = 0; i < d.count * d.h * d.w; i++) sum += d.pix[i];
        if (sum > 255u * (uint64_t)(d.count * d.h * d.w)) abort();
        free(d.pix);
    } else if (strncmp(err, path, strlen(path)) || d.pix) {
        abort();
    }
    unlink(path);
    return 0;
}
