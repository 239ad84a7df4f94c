/* MLPerf Tiny device protocol (see protocol.md): command framing, parsing and the infer loop.
 *
 * Everything the host sends passes through here one character at a time. The parser is
 * written to survive any input: commands longer than EE_CMD_SIZE are discarded whole and
 * answered with an error, `db` never writes past the buffer, and bad numbers or hex digits
 * are rejected before anything is stored.
 */
#include "internally_implemented.h"

#include <string.h>

#include "submitter_implemented.h"
#if TH_STREAMING
#include "../sww/sww_commands.h"
#endif

namespace {

char g_cmd[EE_CMD_SIZE + 1];
size_t g_cmd_len = 0;
bool g_cmd_overflow = false;

TINYRIG_DB_BUFFER_PLACE uint8_t g_buffer[MAX_DB_INPUT_SIZE];
size_t g_buffer_expected = 0; /* bytes announced by `db load` */
size_t g_buffer_count = 0;    /* bytes received since */
bool g_have_results = false;   /* an inference ran on the loaded input */

/* `tinyrig load` (and the streaming `tinyrig audio`/`trace`) reach host files, so only the bench's own: files that begin with the
 * input-file header, in one folder, which the first successful load names (QEMU holds the guest
 * until the bench connects, so that is the bench's private temporary folder). Whoever else
 * reaches the console can neither read host files back through `db print` nor, once the bench
 * has loaded, name a pipe outside that folder that would block the emulator. */
char g_load_dir[EE_CMD_SIZE + 1];
size_t g_load_dir_len = 0; /* 0: no folder named yet */

bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
}

/* nullptr when `path` may be loaded, else why not. */
const char *check_load_path(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (path[0] != '/' || slash == nullptr || slash[1] == '\0') return "give an absolute file path";
    /* A scan rather than strstr: newlib's strstr links a 1 KB two-way matcher into every image. */
    for (const char *p = path; *p; ++p) {
        if (p[0] == '/' && (p[1] == '.' || p[1] == '/')) return "no '.', '..' or empty parts";
    }
    for (const char *p = slash + 1; *p; ++p) {
        if (!is_name_char(*p)) return "file names are letters, digits, '_', '-' and '.'";
    }
    size_t dir_length = (size_t)(slash - path) + 1; /* with the trailing '/' */
    if (g_load_dir_len != 0 && (dir_length != g_load_dir_len || memcmp(path, g_load_dir, dir_length) != 0)) {
        return "only files in the folder of the first load";
    }
    return nullptr;
}

/* After the first successful load: later loads must come from the same folder. */
void pin_load_dir(const char *path)
{
    if (g_load_dir_len != 0) return;
    size_t dir_length = (size_t)(strrchr(path, '/') - path) + 1;
    memcpy(g_load_dir, path, dir_length);
    g_load_dir[dir_length] = '\0';
    g_load_dir_len = dir_length;
}

/* Parses an unsigned decimal without overflow; false for anything else. */
bool parse_size(const char *text, size_t *out)
{
    if (text == nullptr || *text == '\0') return false;
    size_t value = 0;
    for (const char *p = text; *p; ++p) {
        if (*p < '0' || *p > '9') return false;
        size_t digit = (size_t)(*p - '0');
        if (value > (((size_t)-1) - digit) / 10u) return false;
        value = value * 10u + digit;
    }
    *out = value;
    return true;
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* strtok_r is not in every embedded libc; this splits on spaces in place. */
char *next_token(char **cursor)
{
    char *p = *cursor;
    while (*p == ' ') ++p;
    if (*p == '\0') {
        *cursor = p;
        return nullptr;
    }
    char *start = p;
    while (*p && *p != ' ') ++p;
    if (*p) *p++ = '\0';
    *cursor = p;
    return start;
}

void cmd_db(char *rest)
{
    char *sub = next_token(&rest);
    if (sub == nullptr) {
        th_printf("e-[db: expected 'load <N>', 'print' or hex bytes]\r\n");
        return;
    }
    if (strcmp(sub, "load") == 0) {
        size_t n = 0;
        char *count = next_token(&rest);
        if (!parse_size(count, &n) || n == 0 || n > MAX_DB_INPUT_SIZE) {
            th_printf("e-[db load: byte count must be 1..%u, got '%s']\r\n", (unsigned)MAX_DB_INPUT_SIZE,
                      count ? count : "");
            return;
        }
        g_buffer_expected = n;
        g_buffer_count = 0;
        g_have_results = false;
        th_printf("m-[Expecting %u bytes]\r\n", (unsigned)n);
        return;
    }
    if (strcmp(sub, "print") == 0) {
        for (size_t i = 0; i < g_buffer_count; i += 8) {
            th_printf("m-buffer-");
            for (size_t j = i; j < i + 8 && j < g_buffer_count; ++j) {
                th_printf(j == i ? "%02x" : "-%02x", g_buffer[j]);
            }
            th_printf("\r\n");
        }
        return;
    }
#if TH_STREAMING
    /* The streaming wakeword reference's UART path: where the next byte goes (the runner's
     * stream_wav_uart.py rewinds it to resend a chunk) and the buffer as int16 samples. */
    if (strcmp(sub, "getptr") == 0) {
        th_printf("m-buff-ptr-%u\r\n", (unsigned)g_buffer_count);
        return;
    }
    if (strcmp(sub, "setptr") == 0) {
        size_t n = 0;
        char *text = next_token(&rest);
        if (!parse_size(text, &n) || n > g_buffer_expected) {
            th_printf("e-[db setptr: position must be 0..%u, got '%s']\r\n", (unsigned)g_buffer_expected, text ? text : "");
            return;
        }
        g_buffer_count = n;
        return;
    }
    if (strcmp(sub, "print_i16") == 0) {
        size_t n = g_buffer_count / 2u;
        char *text = next_token(&rest);
        if (text != nullptr && (!parse_size(text, &n) || n > g_buffer_count / 2u)) {
            th_printf("e-[db print_i16: count must be 0..%u, got '%s']\r\n", (unsigned)(g_buffer_count / 2u), text);
            return;
        }
        th_printf("[");
        for (size_t i = 0; i < n; ++i) {
            int value = (int16_t)(uint16_t)(g_buffer[2 * i] | (g_buffer[2 * i + 1] << 8));
            th_printf("%d%s", value, i + 1 == n ? "]" : ", ");
            if (i % 16u == 15u && i + 1 < n) th_printf("\r\n");
        }
        th_printf(n ? "\r\n" : "]\r\n");
        return;
    }
#endif
    if (g_buffer_expected == 0) {
        th_printf("e-[db: no 'db load <N>' before data]\r\n");
        return;
    }
    size_t digits = strlen(sub);
    if (digits % 2u != 0u) {
        th_printf("e-[db: odd number of hex digits (%u)]\r\n", (unsigned)digits);
        return;
    }
    for (size_t i = 0; i < digits; ++i) {
        if (hex_value(sub[i]) < 0) {
            th_printf("e-[db: not a hex digit '%c' at position %u]\r\n", sub[i], (unsigned)i);
            return;
        }
    }
    if (g_buffer_count + digits / 2u > g_buffer_expected) {
        th_printf("e-[db: %u more bytes would exceed the %u announced by db load]\r\n", (unsigned)(digits / 2u),
                  (unsigned)g_buffer_expected);
        return;
    }
    for (size_t i = 0; i < digits; i += 2) {
        g_buffer[g_buffer_count++] = (uint8_t)((hex_value(sub[i]) << 4) | hex_value(sub[i + 1]));
    }
    if (g_buffer_count == g_buffer_expected) th_printf("m-load-done\r\n");
#if TH_STREAMING
    else th_printf("m-[%u bytes received]\r\n", (unsigned)g_buffer_count); /* stream_wav_uart.py checks it */
#endif
}

void cmd_infer(char *rest)
{
    size_t n = 0;
    size_t warmup = 10;
    char *n_text = next_token(&rest);
    char *w_text = next_token(&rest);
    if (!parse_size(n_text, &n) || n == 0) {
        th_printf("e-[infer: N must be a whole number > 0, got '%s']\r\n", n_text ? n_text : "");
        return;
    }
    if (w_text != nullptr && !parse_size(w_text, &warmup)) {
        th_printf("e-[infer: W must be a whole number >= 0, got '%s']\r\n", w_text);
        return;
    }
    if (g_buffer_expected == 0 || g_buffer_count != g_buffer_expected) {
        th_printf("e-[infer: no complete input loaded (%u of %u bytes); use db load first]\r\n",
                  (unsigned)g_buffer_count, (unsigned)g_buffer_expected);
        return;
    }
    if (g_buffer_count != MAX_DB_INPUT_SIZE) {
        th_printf("e-[infer: %s takes %u input bytes, %u were loaded]\r\n", TH_MODEL_ID,
                  (unsigned)MAX_DB_INPUT_SIZE, (unsigned)g_buffer_count);
        return;
    }
    ee_infer(n, warmup);
}

#if TH_HAS_FAST_LOAD
/* `tinyrig batch PATH`: the accuracy fast path in emulation. One command, one semihosting file,
 * many inferences back to back, so a dataset costs one console round trip per batch instead of
 * one per input. The file is "TRBT", the input size and the stride (uint32 little-endian each),
 * then the data: input i is the input-size bytes at data offset i * stride, for every i whose
 * bytes lie wholly inside. Concatenated inputs use stride = input size; an ad01 test file goes
 * as it is with the dataset's stride, and is cut into windows here rather than on the host.
 * Each input is read straight into the db buffer (no second copy in RAM), answered with the
 * `m-results-[...]` line `infer` prints, and its raw output tensor is appended to PATH.raw for
 * the bench's bit-exactness check (the hex of ad01's 640-byte output would triple the console
 * traffic). The batch file obeys `tinyrig load`'s folder rule, and PATH.raw lies beside it. */
constexpr uint32_t kBatchHeaderBytes = 12u;

uint32_t read_u32_le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Opens and checks a batch file: nullptr and the input count, or why it cannot be run. */
const char *open_batch(const char *path, int32_t *handle, uint32_t *stride, uint32_t *count)
{
    *handle = th_semihost_open(path, 0);
    if (*handle < 0) return "cannot open it through semihosting";
    int32_t length = th_semihost_length(*handle);
    uint8_t header[kBatchHeaderBytes];
    if (length < (int32_t)kBatchHeaderBytes || !th_semihost_read(*handle, header, kBatchHeaderBytes) ||
        memcmp(header, "TRBT", 4) != 0) {
        return "not a batch file written by the bench";
    }
    uint32_t input_bytes = read_u32_le(header + 4), data_bytes = (uint32_t)length - kBatchHeaderBytes;
    *stride = read_u32_le(header + 8);
    if (input_bytes != MAX_DB_INPUT_SIZE) return "its input size is not this model's";
    if (*stride == 0u) return "its stride is 0";
    if (data_bytes < input_bytes) return "it holds no whole input";
    *count = (data_bytes - input_bytes) / *stride + 1u;
    return nullptr;
}

void cmd_batch(char *rest)
{
    char *path = next_token(&rest);
    if (path == nullptr) {
        th_printf("e-[tinyrig batch: expected a file path]\r\n");
        return;
    }
    const char *refused = check_load_path(path);
    if (refused != nullptr) {
        th_printf("e-[tinyrig batch: refused '%s': %s]\r\n", path, refused);
        return;
    }
    int32_t input_file = -1, raw_file = -1;
    uint32_t stride = 0, count = 0;
    const char *problem = open_batch(path, &input_file, &stride, &count);
    char raw_path[EE_CMD_SIZE + sizeof(".raw")];
    size_t path_length = strlen(path); /* at most EE_CMD_SIZE: it came in one command */
    memcpy(raw_path, path, path_length);
    memcpy(raw_path + path_length, ".raw", sizeof(".raw"));
    if (problem == nullptr && (raw_file = th_semihost_open(raw_path, 1)) < 0) problem = "cannot create its .raw file";
    if (problem != nullptr) {
        th_printf("e-[tinyrig batch: '%s': %s]\r\n", path, problem);
    } else {
        pin_load_dir(path);
        uint32_t done = 0;
        for (; done < count; ++done) {
            g_have_results = false; /* until this input's inference has run */
            if (!th_semihost_seek(input_file, kBatchHeaderBytes + done * stride) ||
                !th_semihost_read(input_file, g_buffer, MAX_DB_INPUT_SIZE)) {
                th_printf("e-[tinyrig batch: input %u: cannot read it]\r\n", (unsigned)done);
                break;
            }
            g_buffer_expected = g_buffer_count = MAX_DB_INPUT_SIZE;
            th_load_tensor();
            th_infer();
            g_have_results = true;
            th_results();
            size_t raw_length = 0;
            const uint8_t *raw = th_raw_output(&raw_length);
            if (!th_semihost_write(raw_file, raw, (uint32_t)raw_length)) {
                th_printf("e-[tinyrig batch: input %u: cannot write its raw output]\r\n", (unsigned)done);
                break;
            }
        }
        if (done == count) th_printf("m-batch-done-%u\r\n", (unsigned)count);
    }
    if (raw_file >= 0) th_semihost_close(raw_file);
    if (input_file >= 0) th_semihost_close(input_file);
}
#endif

void cmd_tinyrig(char *rest)
{
    char *sub = next_token(&rest);
    if (sub != nullptr && strcmp(sub, "caps") == 0) {
        th_printf("m-caps-[raw,ticks%s%s]\r\n", TH_HAS_FAST_LOAD ? ",load,batch" : "",
                  TH_STREAMING && TH_HAS_FAST_LOAD ? ",audio" : "");
    } else if (sub != nullptr && strcmp(sub, "raw") == 0) {
        if (!g_have_results) {
            th_printf("e-[tinyrig raw: no inference has run on the loaded input]\r\n");
            return;
        }
        size_t length = 0;
        const uint8_t *raw = th_raw_output(&length);
        th_printf("m-raw-[");
        for (size_t i = 0; i < length; ++i) th_printf("%02x", raw[i]);
        th_printf("]\r\n");
    } else if (sub != nullptr && strcmp(sub, "ticks") == 0) {
        uint64_t start = 0, end = 0;
        uint32_t hz = 0;
        th_last_window_ticks(&start, &end, &hz);
        th_printf("m-ticks-%llu-%llu-%lu\r\n", (unsigned long long)start, (unsigned long long)end,
                  (unsigned long)hz);
    } else if (sub != nullptr && strcmp(sub, "load") == 0) {
        /* Fast input path for emulation: the host names a file that semihosting reads. */
        char *path = next_token(&rest);
        size_t loaded = 0;
        const char *refused = path != nullptr ? check_load_path(path) : nullptr;
        int status = TH_LOAD_OK;
        if (path == nullptr) {
            th_printf("e-[tinyrig load: expected a file path]\r\n");
        } else if (refused != nullptr) {
            th_printf("e-[tinyrig load: refused '%s': %s]\r\n", path, refused);
        } else if ((status = th_fast_load(path, g_buffer, MAX_DB_INPUT_SIZE, &loaded)) != TH_LOAD_OK) {
            static const char *const reasons[] = {"", "cannot open it through semihosting",
                                                  "not an input file written by the bench",
                                                  "its byte count is 0, over the input buffer or not the file's size",
                                                  "no semihosting host on this target"};
            th_printf("e-[tinyrig load: '%s': %s]\r\n", path,
                      status > 0 && status < 5 ? reasons[status] : "unknown failure");
        } else {
            pin_load_dir(path);
            g_buffer_expected = loaded;
            g_buffer_count = loaded;
            g_have_results = false;
            th_printf("m-load-done-%u\r\n", (unsigned)loaded);
        }
#if TH_HAS_FAST_LOAD
    } else if (sub != nullptr && strcmp(sub, "batch") == 0) {
        cmd_batch(rest);
#endif
#if TH_STREAMING
    } else if (sub != nullptr && sww_tinyrig_command(sub, rest)) {
#endif
    } else {
        th_printf("e-[tinyrig: expected 'caps', 'raw', 'ticks', 'load <path>'%s%s]\r\n",
                  TH_HAS_FAST_LOAD ? ", 'batch <path>'" : "", TH_STREAMING ? ", 'audio <path>' or 'trace <path>'" : "");
    }
}

}  // namespace

char *ee_next_token(char **cursor) { return next_token(cursor); }

const char *tinyrig_host_path_refused(const char *path) { return check_load_path(path); }

bool tinyrig_host_path_pinned(void) { return g_load_dir_len != 0; }

void tinyrig_host_path_pin(const char *path) { pin_load_dir(path); }
uint8_t *ee_get_buffer_pointer(void) { return g_buffer; }
size_t ee_get_buffer_count(void) { return g_buffer_count; }
size_t ee_get_buffer_expected(void) { return g_buffer_expected; }

void ee_infer(size_t n, size_t n_warmup)
{
    th_load_tensor();
    th_printf("m-warmup-start-%u\r\n", (unsigned)n_warmup);
    for (size_t i = 0; i < n_warmup; ++i) th_infer();
    th_printf("m-warmup-done\r\n");
    th_printf("m-infer-start-%u\r\n", (unsigned)n);
    th_timestamp();
    th_pre();
    for (size_t i = 0; i < n; ++i) th_infer();
    th_post();
    th_timestamp();
    th_printf("m-infer-done\r\n");
    g_have_results = true;
    th_results();
}

void ee_serial_command_parser_callback(char *command)
{
#if TH_STREAMING
    /* The streaming wakeword reference echoes every command; its UART tools check the echo. */
    th_printf("Received command: %s\r\n", command);
#endif
    char *rest = command;
    char *tok = next_token(&rest);
    if (tok == nullptr) {
        /* An empty command (a lone '%') only asks whether the device is there. */
    } else if (strcmp(tok, "name") == 0) {
        th_printf("m-name-dut-[%s]\r\n", TH_VENDOR_NAME_STRING);
    } else if (strcmp(tok, "profile") == 0) {
        th_printf("m-profile-[%s]\r\n", TH_FIRMWARE_VERSION);
        th_printf("m-model-[%s]\r\n", TH_MODEL_ID);
    } else if (strcmp(tok, "help") == 0) {
        th_printf("%s\r\n", TH_FIRMWARE_VERSION);
        th_printf("help         : this text\r\n");
        th_printf("name         : the DUT name\r\n");
        th_printf("profile      : firmware version and model id\r\n");
        th_printf("timestamp    : a timestamp (performance: m-lap-us; energy: a pin pulse)\r\n");
        th_printf("db load N    : get ready to receive N input bytes\r\n");
        th_printf("db HH..      : append hex bytes to the input\r\n");
        th_printf("db print     : print the input bytes\r\n");
        th_printf("infer N [W]  : W warm-up then N timed inferences, then the results\r\n");
        th_printf("results      : the scores of the last inference\r\n");
        th_printf("tinyrig caps : tinyrig extensions (raw, ticks, load, batch)\r\n");
#if TH_STREAMING
        th_printf("start        : stream from the audio input; detections pulse the detection pin\r\n");
        th_printf("stop         : stop streaming; print output[0] of every hop\r\n");
        th_printf("state        : streaming state and counters\r\n");
        th_printf("db getptr    : where the next db byte goes; db setptr N moves it\r\n");
        th_printf("db print_i16 : the input bytes as int16 samples\r\n");
        th_printf("extract_uart_stream : the 1024 loaded bytes as one hop: features and outputs\r\n");
        th_printf("run_model    : the model on the current feature history\r\n");
        th_printf("tinyrig audio PATH / tinyrig trace PATH : emulation: audio file, per-hop record\r\n");
#endif
    } else if (strcmp(tok, "timestamp") == 0) {
        th_timestamp();
    } else if (strcmp(tok, "db") == 0) {
        cmd_db(rest);
    } else if (strcmp(tok, "infer") == 0) {
        cmd_infer(rest);
    } else if (strcmp(tok, "results") == 0) {
        if (g_have_results) th_results();
        else th_printf("e-[results: no inference has run on the loaded input]\r\n");
    } else if (strcmp(tok, "tinyrig") == 0) {
        cmd_tinyrig(rest);
#if TH_STREAMING
    } else if (sww_command(tok, rest)) {
#endif
    } else {
        th_printf("e-[Unknown command: %s]\r\n", tok);
    }
    th_printf(EE_MSG_READY);
}

void ee_serial_callback(char c)
{
    if (c == EE_CMD_TERMINATOR) {
        if (g_cmd_overflow) {
            th_printf("e-[Command too long: over %u characters]\r\n", (unsigned)EE_CMD_SIZE);
            th_printf(EE_MSG_READY);
        } else {
            g_cmd[g_cmd_len] = '\0';
            ee_serial_command_parser_callback(g_cmd);
        }
        g_cmd_len = 0;
        g_cmd_overflow = false;
        return;
    }
    /* The protocol is printable ASCII: line endings, control characters and stray high bytes
     * (line noise) carry no meaning, and must never be echoed back in an error line. */
    if ((unsigned char)c < 0x20u || (unsigned char)c > 0x7Eu) return;
    if (g_cmd_len >= EE_CMD_SIZE) {
        g_cmd_overflow = true;
        return;
    }
    g_cmd[g_cmd_len++] = c;
}

void ee_benchmark_initialize(void)
{
    th_serialport_initialize();
    th_timestamp_initialize();
    th_final_initialize();
    th_printf(TH_ENERGY_MODE ? "m-timestamp-mode-energy\r\n" : "m-timestamp-mode-performance\r\n");
    th_printf(EE_MSG_INIT_DONE);
    th_printf(EE_MSG_READY);
}
