/* Where streamed audio comes from. Under emulation: a file of 16 kHz mono int16 samples that
 * the firmware reads through semihosting, one hop per tick of an audio clock made from the
 * board timer, so the audio arrives in virtual time as fast as an I2S link would deliver it.
 * On a board: none yet (the MLPerf Tiny interface board plays audio over I2S; tinyrig has no
 * I2S driver), so only the UART path (extract_uart_stream) feeds the front end there. */
#ifndef TINYRIG_AUDIO_SOURCE_H
#define TINYRIG_AUDIO_SOURCE_H

#include <stdint.h>

#include "audio_ring.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens the audio file; false when it cannot be read (or no source exists on this board). */
int audio_source_open(const char *path, uint32_t *hops);
/* Opens (truncates) a file that gets one 48-byte record per processed hop: the hop's number
 * (uint32, little-endian), its 40 int8 features, the model's 3 int8 outputs and a zero byte. */
int audio_source_trace_open(const char *path);
int audio_source_ready(void);
uint32_t audio_source_hops(void);
/* Starts the audio clock: hop n of the file lands in the ring n + 1 ticks later. */
void audio_source_start(audio_ring_t *ring);
void audio_source_stop(void);
/* Every hop of the file has been delivered, and the consumer has taken them all. */
int audio_source_exhausted(const audio_ring_t *ring);
void audio_source_trace(uint32_t index, const int8_t *features, const int8_t *outputs);

#ifdef __cplusplus
}
#endif

#endif
