/* The sww01 audio front end (see tinyrig_audio_frontend.h). */
#include "tinyrig_audio_frontend.h"

#include <math.h>
#include <string.h>

#define HALF (TINYRIG_AUDIO_WINDOW / 2)

void tinyrig_audio_reset(tinyrig_audio_frontend_t *fe)
{
    memset(fe->window, 0, sizeof fe->window);
    fe->before = 0;
}

/* Pre-emphasis, window and the even/odd packing of the real FFT, straight into bit-reversed
 * order: sample 2n is the real part and 2n+1 the imaginary part of complex input n.
 * 32 s[i] - 31 s[i-1] is the pre-emphasised sample x 2^20 exactly, and the window table is
 * pre-scaled by 2^-20, so one rounded multiply gives the reference's windowed sample. */
static void window_into_fft(tinyrig_audio_frontend_t *fe)
{
    const int16_t *s = fe->window;
    int32_t previous = fe->before;
    for (int n = 0; n < HALF; ++n) {
        int32_t even = s[2 * n], odd = s[2 * n + 1];
        int32_t y_even = 32 * even - 31 * previous;
        int32_t y_odd = 32 * odd - 31 * even;
        previous = odd;
        int slot = tinyrig_audio_bit_reverse[n];
        fe->re[slot] = (float)y_even * tinyrig_audio_window[2 * n];
        fe->im[slot] = (float)y_odd * tinyrig_audio_window[2 * n + 1];
    }
}

/* Radix-2 decimation-in-time butterflies on the bit-reversed input: natural-order output.
 * W_size^j = W_1024^(j * 1024 / size), read from the one 1024-point twiddle table. */
static void fft_512(float *re, float *im)
{
    /* Size-2 butterflies multiply by W^0 = 1: adds and subtracts only. */
    for (int a = 0; a < HALF; a += 2) {
        float ar = re[a], ai = im[a], br = re[a + 1], bi = im[a + 1];
        re[a] = ar + br;
        im[a] = ai + bi;
        re[a + 1] = ar - br;
        im[a + 1] = ai - bi;
    }
    for (int size = 4; size <= HALF; size <<= 1) {
        int half = size >> 1;
        int stride = TINYRIG_AUDIO_WINDOW / size;
        for (int j = 0; j < half; ++j) {
            float wr = tinyrig_audio_twiddles[2 * j * stride];
            float wi = tinyrig_audio_twiddles[2 * j * stride + 1];
            for (int a = j; a < HALF; a += size) {
                int b = a + half;
                float br = re[b], bi = im[b];
                float tr = wr * br - wi * bi;
                float ti = wr * bi + wi * br;
                float ar = re[a], ai = im[a];
                re[a] = ar + tr;
                im[a] = ai + ti;
                re[b] = ar - tr;
                im[b] = ai - ti;
            }
        }
    }
}

/* The 1024-point real spectrum from the packed 512-point one, then the power spectrum as the
 * reference computes it: the magnitude (sqrt), squared, times 1/1024. */
static void power_spectrum(tinyrig_audio_frontend_t *fe)
{
    const float *re = fe->re, *im = fe->im;
    const float inv_n = 1.0f / (float)TINYRIG_AUDIO_WINDOW;
    float dc = re[0] + im[0];
    float nyquist = re[0] - im[0];
    float magnitude = sqrtf(dc * dc);
    fe->power[0] = (magnitude * magnitude) * inv_n;
    for (int k = 1; k < HALF; ++k) {
        float zr = re[k], zi = im[k], nr = re[HALF - k], ni = im[HALF - k];
        float even_r = (zr + nr) * 0.5f;
        float even_i = (zi - ni) * 0.5f;
        float odd_r = (zi + ni) * 0.5f;
        float odd_i = (nr - zr) * 0.5f;
        float c = tinyrig_audio_twiddles[2 * k], s = tinyrig_audio_twiddles[2 * k + 1];
        float xr = even_r + (c * odd_r - s * odd_i);
        float xi = even_i + (c * odd_i + s * odd_r);
        magnitude = sqrtf(xr * xr + xi * xi);
        fe->power[k] = (magnitude * magnitude) * inv_n;
    }
    /* The reference squares the Nyquist bin's real value without a square root. */
    fe->power[HALF] = (nyquist * nyquist) * inv_n;
}

/* Mel filters (sequential dot products), then the int8 level: how many of the 255 sorted
 * thresholds the energy reaches (see codegen/audio_frontend.py). */
static void mel_features(const tinyrig_audio_frontend_t *fe, int8_t *features)
{
    const float *weight = tinyrig_audio_mel_weights;
    for (int f = 0; f < TINYRIG_AUDIO_MEL_BINS; ++f) {
        const float *bins = fe->power + tinyrig_audio_mel_start[f];
        int length = tinyrig_audio_mel_length[f];
        float energy = 0.0f;
        for (int j = 0; j < length; ++j) energy = energy + weight[j] * bins[j];
        weight += length;
        int lo = 0, hi = TINYRIG_AUDIO_LEVELS;
        while (lo < hi) {
            int mid = (lo + hi) >> 1;
            if (energy >= tinyrig_audio_thresholds[mid]) lo = mid + 1;
            else hi = mid;
        }
        features[f] = (int8_t)(lo - 128);
    }
}

void tinyrig_audio_hop(tinyrig_audio_frontend_t *fe, const int16_t *hop, int8_t *features)
{
    fe->before = fe->window[TINYRIG_AUDIO_HOP - 1];
    memmove(fe->window, fe->window + TINYRIG_AUDIO_HOP, (TINYRIG_AUDIO_WINDOW - TINYRIG_AUDIO_HOP) * sizeof(int16_t));
    memcpy(fe->window + (TINYRIG_AUDIO_WINDOW - TINYRIG_AUDIO_HOP), hop, TINYRIG_AUDIO_HOP * sizeof(int16_t));
    window_into_fft(fe);
    fft_512(fe->re, fe->im);
    power_spectrum(fe);
    mel_features(fe, features);
}
