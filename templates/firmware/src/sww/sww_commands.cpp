/* Streaming wakeword commands (see sww_commands.h):
 *   start                start streaming from the audio input; detections pulse the detection pin
 *   stop                 stop, and print the model's output[0] for every hop ("target activations")
 *   state                streaming state and counters
 *   extract_uart_stream  the UART path: the 1024 bytes loaded with `db` are one hop (512 int16
 *                        samples, little-endian); prints its features and the model's outputs
 *   run_model            the model once more on the current feature history
 * and, in tinyrig's namespace, `tinyrig audio PATH` (emulation: the file start streams from)
 * and `tinyrig trace PATH` (emulation: a per-hop record of the next stream, see audio_source.h). */
#include "sww_commands.h"

#include <string.h>

#include "../api/internally_implemented.h"
#include "../api/submitter_implemented.h"
#include "../audio/tinyrig_audio_tables.h"
#include "../model/tinyrig_model.h"
#include "audio_source.h"
#include "sww_stream.h"

namespace {

constexpr size_t kHopBytes = TINYRIG_AUDIO_HOP * 2u;

/* The reference prints features with "%+3d": sign always, right-aligned in three columns. */
void print_signed3(int value)
{
    char text[6];
    unsigned magnitude = (unsigned)(value < 0 ? -value : value);
    int length = 0;
    char digits[4];
    do {
        digits[length++] = (char)('0' + magnitude % 10u);
        magnitude /= 10u;
    } while (magnitude);
    int pos = 0;
    for (int pad = length + 1; pad < 3; ++pad) text[pos++] = ' ';
    text[pos++] = value < 0 ? '-' : '+';
    while (length) text[pos++] = digits[--length];
    text[pos] = '\0';
    th_printf("%s", text);
}

void print_values(const char *prefix, const int8_t *values, int count)
{
    th_printf("%s[", prefix);
    for (int i = 0; i < count; ++i) {
        if (i) th_printf(", ");
        print_signed3(values[i]);
    }
    th_printf("]\r\n");
}

void cmd_extract_uart_stream()
{
    if (sww_status().state != SWW_IDLE) {
        th_printf("e-[extract_uart_stream: streaming is running; send stop first]\r\n");
        return;
    }
    if (ee_get_buffer_count() < kHopBytes) {
        th_printf("e-[extract_uart_stream: needs %u bytes (%u samples) loaded with db, has %u]\r\n", (unsigned)kHopBytes,
                  (unsigned)TINYRIG_AUDIO_HOP, (unsigned)ee_get_buffer_count());
        return;
    }
    const uint8_t *bytes = ee_get_buffer_pointer();
    int16_t hop[TINYRIG_AUDIO_HOP];
    for (size_t i = 0; i < TINYRIG_AUDIO_HOP; ++i)
        hop[i] = (int16_t)(uint16_t)((uint16_t)bytes[2 * i] | ((uint16_t)bytes[2 * i + 1] << 8));
    int8_t features[TINYRIG_AUDIO_MEL_BINS];
    const int8_t *out = sww_process_hop(hop, features);
    print_values("m-features-", features, TINYRIG_AUDIO_MEL_BINS);
    print_values("m-activations-", out, TINYRIG_MODEL_OUTPUT_ELEMENTS);
}

}  // namespace

bool sww_command(const char *command, char *rest)
{
    (void)rest;
    if (strcmp(command, "start") == 0) {
        const char *why = "";
        if (sww_start(&why)) th_printf("Listening for audio ... streaming started.\r\n");
        else th_printf("e-[start: %s]\r\n", why);
    } else if (strcmp(command, "stop") == 0) {
        sww_stop();
    } else if (strcmp(command, "state") == 0) {
        sww_status_t s = sww_status();
        th_printf("m-state-[%s] hops=%lu lost=%lu detections=%lu audio_hops=%lu\r\n", sww_state_name(s.state),
                  (unsigned long)s.hops, (unsigned long)s.lost, (unsigned long)s.detections,
                  (unsigned long)s.audio_hops);
    } else if (strcmp(command, "extract_uart_stream") == 0) {
        cmd_extract_uart_stream();
    } else if (strcmp(command, "run_model") == 0) {
        const int8_t *out = sww_run_model();
        print_values("Output = ", out, TINYRIG_MODEL_OUTPUT_ELEMENTS);
    } else {
        return false;
    }
    return true;
}

bool sww_tinyrig_command(const char *sub, char *rest)
{
    if (strcmp(sub, "audio") == 0) {
        char *path = ee_next_token(&rest);
        uint32_t hops = 0;
        const char *refused = path != nullptr ? tinyrig_host_path_refused(path) : nullptr;
        if (path == nullptr) th_printf("e-[tinyrig audio: expected a file path]\r\n");
        else if (refused != nullptr) th_printf("e-[tinyrig audio: refused '%s': %s]\r\n", path, refused);
        else if (sww_status().state == SWW_STREAMING) th_printf("e-[tinyrig audio: streaming is running]\r\n");
        else if (!audio_source_open(path, &hops))
            th_printf("e-[tinyrig audio: cannot read '%s'%s]\r\n", path,
                      SWW_HAS_AUDIO_SOURCE ? " through semihosting" : ": this board has no emulated audio input");
        else {
            tinyrig_host_path_pin(path);
            th_printf("m-audio-[%lu]\r\n", (unsigned long)hops);
        }
    } else if (strcmp(sub, "trace") == 0) {
        char *path = ee_next_token(&rest);
        const char *refused = path != nullptr ? tinyrig_host_path_refused(path) : nullptr;
        if (path == nullptr) th_printf("e-[tinyrig trace: expected a file path]\r\n");
        /* It writes a host file: only beside the audio file the bench gave first. */
        else if (!tinyrig_host_path_pinned()) th_printf("e-[tinyrig trace: refused '%s': give 'tinyrig audio PATH' first]\r\n", path);
        else if (refused != nullptr) th_printf("e-[tinyrig trace: refused '%s': %s]\r\n", path, refused);
        else if (!audio_source_trace_open(path)) th_printf("e-[tinyrig trace: cannot write '%s']\r\n", path);
        else th_printf("m-trace-[%s]\r\n", path);
    } else {
        return false;
    }
    return true;
}
