/* rng.c: the runtime's one random number generator.
 *
 * Generator: xoshiro256** (Blackman & Vigna).  ganrt_rng_seed(seed, stream)
 * mixes the user's seed and a stream number with the splitmix64 finalizer
 * and fills the four state words from a splitmix64 sequence, so every use
 * (initialisation, training, fixed sample noise, data order) has its own
 * independent, reproducible stream.  Uniforms are the top 53 bits / 2^53;
 * normals are Box-Muller in double, one normal per two uniforms with
 * nothing cached, so the four state words (printed as 64 hex digits in
 * checkpoints) are the complete state.  Same seed, same numbers, on every
 * machine.
 */
#include "rt.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ganrt_rng_seed(GanrtRng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = mix64(seed) ^ mix64(stream ^ 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++) r->s[i] = mix64(x += 0x9E3779B97F4A7C15ull);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ganrt_rng_next(GanrtRng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double ganrt_rng_uniform(GanrtRng *r) { return (double)(ganrt_rng_next(r) >> 11) * 0x1p-53; }

uint64_t ganrt_rng_below(GanrtRng *r, uint64_t n)
{
    uint64_t lim = -n % n, x;
    while ((x = ganrt_rng_next(r)) < lim) {}
    return x % n;
}

double ganrt_rng_normal(GanrtRng *r)
{
    double u1 = 1.0 - ganrt_rng_uniform(r), u2 = ganrt_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void ganrt_rng_hex(const GanrtRng *r, char out[65])
{
    for (int i = 0; i < 4; i++) snprintf(out + 16 * i, 17, "%016llx", (unsigned long long)r->s[i]);
}

int ganrt_rng_from_hex(GanrtRng *r, const char *hex)
{
    if (strlen(hex) != 64) return -1;
    for (int i = 0; i < 4; i++) {
        uint64_t v = 0;
        for (int k = 0; k < 16; k++) {
            char c = hex[16 * i + k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) return -1;
            v = v << 4 | (uint64_t)d;
        }
        r->s[i] = v;
    }
    return (r->s[0] | r->s[1] | r->s[2] | r->s[3]) ? 0 : -1;
}

void ganrt_fill_noise(const GanrtModel *m, GanrtRng *r, float *z, int64_t rows)
{
    int64_t n = rows * m->noise_dim;
    double lo = m->noise_lo, span = m->noise_hi - m->noise_lo;
    for (int64_t i = 0; i < n; i++)
        z[i] = m->noise_kind == GANRT_NOISE_UNIFORM ? (float)(lo + span * ganrt_rng_uniform(r))
                                                    : (float)ganrt_rng_normal(r);
}
