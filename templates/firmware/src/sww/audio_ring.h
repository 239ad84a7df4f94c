/* The ring buffer between the audio input (producer: the I2S DMA, or its emulation in an
 * interrupt) and the processing loop (consumer), in whole hops.
 *
 * The producer never waits: hop n goes to slot n % SWW_RING_HOPS whether or not the consumer
 * has taken the hop that was there, as a circular DMA does. The consumer finds out when it
 * comes back: hops overwritten before it reached them are counted as lost and skipped.
 */
#ifndef TINYRIG_AUDIO_RING_H
#define TINYRIG_AUDIO_RING_H

#include <stddef.h>
#include <stdint.h>

#include "../audio/tinyrig_audio_tables.h"
#include "sww_config.h"

typedef struct {
    int16_t slot[SWW_RING_HOPS][TINYRIG_AUDIO_HOP];
    volatile uint32_t produced; /* hops the producer has completed */
    uint32_t consumed;          /* hops the consumer has processed or skipped as lost */
    uint32_t lost;
} audio_ring_t;

static inline void audio_ring_reset(audio_ring_t *ring)
{
    ring->produced = 0u;
    ring->consumed = 0u;
    ring->lost = 0u;
}

/* Producer: where the next hop goes, then its completion. */
static inline int16_t *audio_ring_write_slot(audio_ring_t *ring)
{
    return ring->slot[ring->produced % SWW_RING_HOPS];
}

static inline void audio_ring_commit(audio_ring_t *ring)
{
    ring->produced = ring->produced + 1u;
}

/* Consumer: the oldest hop still in the ring and its number in the stream, or NULL when it has
 * taken every completed hop. A hop stays intact until hop + SWW_RING_HOPS completes. */
static inline const int16_t *audio_ring_next(audio_ring_t *ring, uint32_t *index)
{
    uint32_t produced = ring->produced;
    if (produced - ring->consumed > SWW_RING_HOPS) {
        ring->lost += produced - SWW_RING_HOPS - ring->consumed;
        ring->consumed = produced - SWW_RING_HOPS;
    }
    if (ring->consumed == produced) return NULL;
    *index = ring->consumed;
    return ring->slot[ring->consumed % SWW_RING_HOPS];
}

static inline void audio_ring_release(audio_ring_t *ring)
{
    ring->consumed++;
}

#endif
