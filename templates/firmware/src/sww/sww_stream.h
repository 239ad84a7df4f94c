/* The streaming wakeword engine: audio hops in, features, the model on every new window,
 * detections on a pin. Shared by the streaming loop (start/stop) and the UART path. */
#ifndef TINYRIG_SWW_STREAM_H
#define TINYRIG_SWW_STREAM_H

#include <stdint.h>

#include "sww_config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SWW_IDLE, SWW_STREAMING, SWW_DRAINED } sww_state_t;

typedef struct {
    sww_state_t state;
    uint32_t hops;       /* hops processed since `start` */
    uint32_t lost;       /* hops overwritten in the ring before they could be processed */
    uint32_t detections; /* detection pulses, the first-frame pulse included */
    uint32_t audio_hops; /* hops in the audio source */
} sww_status_t;

/* Pins and a silent history, at boot. */
void sww_init(void);
/* Silence in the front end and the feature history (the model input is int8 zeros, as the
 * reference's buffer at `start`). */
void sww_reset(void);
/* One hop of TINYRIG_AUDIO_HOP samples through the front end and the model: the model's int8
 * outputs; the hop's features go to `features` (TINYRIG_AUDIO_MEL_BINS bytes). */
const int8_t *sww_process_hop(const int16_t *hop, int8_t *features);
/* The model once more on the current feature history. */
const int8_t *sww_run_model(void);
/* Starts streaming from the audio source; false (and *why) when it cannot. */
int sww_start(const char **why);
/* Stops streaming and prints the reference's answer (the activations of every hop). */
void sww_stop(void);
/* The main loop's idle work: processes hops that arrived, or sleeps until the next one. */
void sww_background(void);
sww_status_t sww_status(void);
const char *sww_state_name(sww_state_t state);

#ifdef __cplusplus
}
#endif

#endif
