/* fuzz_images.c: libFuzzer target for the image-folder reader
 * (runtime/images.c: stb_image decoding, resizing, colour conversion).
 *
 * The first byte picks the model's image shape (1 or 3 channels; 4x4,
 * 28x28, 7x5 or 64x64); the rest is written as the one file of a folder,
 * which ganrt_images_load() reads as a training run would.  A success must
 * give one image with every value in [-1, 1]; a failure must name the
 * folder.  Nothing may leak either way.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], file[96];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(dir, sizeof dir, "%s/fuzz_images.%d", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm",
             (int)getpid());
    snprintf(file, sizeof file, "%s/img.png", dir);
    if (mkdir(dir, 0700) && access(dir, W_OK)) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int hw[4][2] = {{4, 4}, {28, 28}, {7, 5}, {64, 64}};
    if (size < 1) return 0;
    int C = data[0] & 4 ? 3 : 1, H = hw[data[0] & 3][0], W = hw[data[0] & 3][1];
    FILE *f = fopen(file, "wb");
    if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f)) abort();
    float *out = NULL;
    int64_t count = 0;
    char err[512];
    if (ganrt_images_load(dir, C, H, W, &out, &count, err, sizeof err) == 0) {
        if (count != 1 || !out) abort();
        for (int64_t i = 0; i < (int64_t)C * H * W; i++)
            if (!(out[i] >= -1.0f && out[i] <= 1.0f)) abort();
        free(out);
    } else if (strncmp(err, dir, strlen(dir)) || out) {
        abort();
    }
    unlink(file);
    return 0;
}
