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
#include <string.h>

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

/* The oldest hop still in the ring and its number in the stream, or NULL when the consumer has
 * taken every completed hop; hops overwritten before it got there are counted lost. A hop stays
 * intact until hop + SWW_RING_HOPS completes. */
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

/* Consumer: copies the oldest intact hop into `hop` (TINYRIG_AUDIO_HOP samples) and gives its
 * number in the stream; 0 when every completed hop has been taken. The hop is copied before it
 * is processed because processing outlasts a hop: in overload the ring is full and the very next
 * completion reuses the oldest hop's slot, which a pointer into the ring would then read half
 * old, half new. A copy that the producer overtook (hop + SWW_RING_HOPS completed meanwhile) is
 * counted lost and the next hop tried, as a double-buffered DMA consumer does. */
static inline int audio_ring_take(audio_ring_t *ring, int16_t *hop, uint32_t *index)
{
    for (;;) {
        const int16_t *slot = audio_ring_next(ring, index);
        if (slot == NULL) return 0;
        __asm volatile("" ::: "memory"); /* the copy reads the slot after `produced` was read ... */
        memcpy(hop, slot, sizeof ring->slot[0]);
        __asm volatile("" ::: "memory"); /* ... and is done before it is read again */
        if (ring->produced - *index <= SWW_RING_HOPS) {
            ring->consumed++;
            return 1;
        }
        /* Overwritten during the copy: the next audio_ring_next counts it lost. */
    }
}

#endif
