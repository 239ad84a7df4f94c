/* The sww01 audio front end: one frame of int8 log-mel features per hop of audio.
 *
 * Mirrors the MLPerf Tiny streaming-wakeword reference (see codegen/audio_frontend.py for the
 * steps and the two exact reformulations). Every float operation is written out in a fixed
 * order, one rounding per operation (the build uses -ffp-contract=off), so the host reference
 * tinyrig.hil.dut.audio_features repeats it bit for bit in numpy.
 */
#ifndef TINYRIG_AUDIO_FRONTEND_H
#define TINYRIG_AUDIO_FRONTEND_H

#include <stdint.h>

#include "tinyrig_audio_tables.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    /* The analysis window: the previous hop, then the newest one. */
    int16_t window[TINYRIG_AUDIO_WINDOW];
    /* The sample just before window[0], for the pre-emphasis of window[0]. */
    int16_t before;
    /* 512-point complex FFT in place, real and imaginary parts apart. */
    float re[TINYRIG_AUDIO_WINDOW / 2];
    float im[TINYRIG_AUDIO_WINDOW / 2];
    /* Power spectrum, bins 0..512. */
    float power[TINYRIG_AUDIO_SPECTRUM_BINS];
} tinyrig_audio_frontend_t;

/* Silence before the first hop, as the reference's zero-filled buffers at `start`. */
void tinyrig_audio_reset(tinyrig_audio_frontend_t *fe);

/* Appends TINYRIG_AUDIO_HOP samples and writes the TINYRIG_AUDIO_MEL_BINS int8 features of the
 * window that now ends with them. */
void tinyrig_audio_hop(tinyrig_audio_frontend_t *fe, const int16_t *hop, int8_t *features);

#ifdef __cplusplus
}
#endif

#endif
