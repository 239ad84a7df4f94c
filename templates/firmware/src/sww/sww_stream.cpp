/* The streaming wakeword engine (see sww_stream.h), following the MLPerf Tiny reference DUT
 * (th_process_chunk_and_cont_streaming): the processing pin is high from the moment a hop is
 * taken until its detection is signalled; a detection is output[0] above the threshold, and
 * the first frame after `start` always pulses the detection pin, which the runner uses as the
 * time origin of every later detection. The reference DUT has no suppression of its own: the
 * interface board drops pulses within 10 ms of the last one and the runner debounces false
 * positives over 1 s (tinyrig.hil.modes.sww_scoring does both). */
#include "sww_stream.h"

#include <string.h>

#include "../api/submitter_implemented.h"
#include "../audio/tinyrig_audio_frontend.h"
#include "../board.h"
#include "../model/tinyrig_model.h"
#include "audio_ring.h"
#include "audio_source.h"

static_assert(SWW_FRAMES * TINYRIG_AUDIO_MEL_BINS == TINYRIG_MODEL_INPUT_BYTES, "model input is frames x mel bins");
static_assert(!TINYRIG_MODEL_OUTPUT_IS_FLOAT && TINYRIG_MODEL_OUTPUT_BYTES >= 1, "the detection reads an int8 output");

namespace {

constexpr int kOutputs = TINYRIG_MODEL_OUTPUT_BYTES;

tinyrig_audio_frontend_t g_frontend;
/* Feature frames as a ring: g_next_frame is the oldest frame, and where the next one goes. */
int8_t g_frames[SWW_FRAMES][TINYRIG_AUDIO_MEL_BINS];
uint32_t g_next_frame;
audio_ring_t g_ring;
int16_t g_hop[TINYRIG_AUDIO_HOP]; /* the hop being processed, copied out of the ring */
int8_t g_activations[SWW_ACTIVATION_LOG];
uint32_t g_activation_count;
sww_status_t g_status;
bool g_first_frame;
int8_t g_hop_features[TINYRIG_AUDIO_MEL_BINS];

/* The model input is the last SWW_FRAMES frames, oldest first. It lives in the arena, which
 * the layers reuse, so it is laid out again before every inference. */
const int8_t *invoke_on_history()
{
    uint8_t *input = static_cast<uint8_t *>(tinyrig_model_input());
    size_t older = (SWW_FRAMES - g_next_frame) * TINYRIG_AUDIO_MEL_BINS;
    memcpy(input, g_frames[g_next_frame], older);
    memcpy(input + older, g_frames[0], g_next_frame * TINYRIG_AUDIO_MEL_BINS);
    tinyrig_model_invoke();
    return static_cast<const int8_t *>(tinyrig_model_output());
}

void print_activations()
{
    /* The reference's layout (ee_print_vals_int8): 16 values a line inside one [ ]. */
    th_printf("[");
    for (uint32_t i = 0; i < g_activation_count; ++i) {
        th_printf("%d%s", g_activations[i], i + 1 == g_activation_count ? "" : ", ");
        if (i % 16u == 15u && i + 1 < g_activation_count) th_printf("\r\n");
    }
    th_printf("]\r\n");
}

void process_stream_hop(const int16_t *hop, uint32_t index)
{
    board_processing_pin_high();
    const int8_t *out = sww_process_hop(hop, g_hop_features);
    if (out[0] > SWW_DETECT_THRESHOLD || g_first_frame) {
        board_detect_pin_pulse();
        g_first_frame = false;
        g_status.detections++;
    }
    if (g_activation_count < SWW_ACTIVATION_LOG) g_activations[g_activation_count++] = out[0];
    g_status.hops++;
    board_processing_pin_low();
    audio_source_trace(index, g_hop_features, out);
}

}  // namespace

void sww_init(void)
{
    board_stream_pins_init();
    sww_reset();
}

void sww_reset(void)
{
    tinyrig_audio_reset(&g_frontend);
    memset(g_frames, 0, sizeof g_frames);
    g_next_frame = 0;
}

const int8_t *sww_process_hop(const int16_t *hop, int8_t *features)
{
    tinyrig_audio_hop(&g_frontend, hop, g_frames[g_next_frame]);
#if defined(TINYRIG_PROFILE) && TINYRIG_PROFILE
    board_pin_mark(); /* profile builds: the front end's end (benchmarks/sww_frontend.py) */
#endif
    memcpy(features, g_frames[g_next_frame], TINYRIG_AUDIO_MEL_BINS);
    g_next_frame = (g_next_frame + 1u) % SWW_FRAMES;
    return invoke_on_history();
}

const int8_t *sww_run_model(void) { return invoke_on_history(); }

int sww_start(const char **why)
{
    if (g_status.state != SWW_IDLE) {
        *why = "streaming already in progress; send stop first";
        return 0;
    }
    if (!audio_source_ready()) {
        *why = SWW_HAS_AUDIO_SOURCE ? "no audio file: give one with 'tinyrig audio PATH' first"
                                    : "this board has no audio input (tinyrig has no I2S driver); use extract_uart_stream";
        return 0;
    }
    sww_reset();
    audio_ring_reset(&g_ring);
    g_activation_count = 0;
    g_first_frame = true;
    g_status = sww_status_t{SWW_STREAMING, 0, 0, 0, audio_source_hops()};
#if TH_ENERGY_MODE
    th_timestamp(); /* the start of the energy measurement */
#endif
    /* The reference pulses the processing pin at start to line up the duty-cycle, energy and
     * detection records; the bench leaves it out of the duty cycle (it precedes the audio). */
    board_processing_pin_high();
    board_processing_pin_low();
    audio_source_start(&g_ring);
    return 1;
}

void sww_stop(void)
{
    if (g_status.state == SWW_IDLE) {
        th_printf("Streaming is already stopped. Ignoring stop request\r\n");
        return;
    }
    if (g_status.state == SWW_STREAMING) audio_source_stop();
    g_status.lost = g_ring.lost;
    g_status.state = SWW_IDLE;
#if TH_ENERGY_MODE
    th_timestamp(); /* the end of the energy measurement */
#endif
    th_printf("Streaming stopped.\r\n");
    th_printf("m-stream-[hops=%lu,lost=%lu,detections=%lu,audio_hops=%lu]\r\n", (unsigned long)g_status.hops,
              (unsigned long)g_status.lost, (unsigned long)g_status.detections, (unsigned long)g_status.audio_hops);
    th_printf("target activations: \r\n");
    print_activations();
}

void sww_background(void)
{
    if (g_status.state != SWW_STREAMING) return;
    uint32_t index = 0;
    if (audio_ring_take(&g_ring, g_hop, &index)) {
        process_stream_hop(g_hop, index);
        return;
    }
    if (audio_source_exhausted(&g_ring)) {
        audio_source_stop();
        g_status.lost = g_ring.lost;
        g_status.state = SWW_DRAINED;
        board_pin_mark(); /* under emulation: tells the bench the audio has run out */
        return;
    }
    /* Sleep until the next hop arrives. Interrupts are masked around the check so a hop that
     * lands between the check and WFI still wakes it (WFI wakes on a pending interrupt even
     * when PRIMASK masks it; the interrupt is taken after cpsie). */
    __asm volatile("cpsid i" ::: "memory");
    if (g_ring.produced == g_ring.consumed) __asm volatile("wfi" ::: "memory");
    __asm volatile("cpsie i" ::: "memory");
}

sww_status_t sww_status(void)
{
    sww_status_t status = g_status;
    status.lost = g_ring.lost;
    return status;
}

const char *sww_state_name(sww_state_t state)
{
    switch (state) {
    case SWW_STREAMING: return "streaming";
    case SWW_DRAINED: return "drained";
    default: return "idle";
    }
}
