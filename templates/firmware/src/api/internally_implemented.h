/* MLPerf Tiny API: the part every DUT shares (command parser, input buffer, infer loop).
 * Names follow the reference EEMBC/MLCommons `api/internally_implemented.h`. */
#ifndef TINYRIG_INTERNALLY_IMPLEMENTED_H
#define TINYRIG_INTERNALLY_IMPLEMENTED_H

#include <stddef.h>
#include <stdint.h>

#include "submitter_implemented.h"

#if TH_STREAMING
/* The streaming wakeword's UART path sends 512 audio bytes per `db` command (the reference
 * DUT's EE_CMD_SIZE and the runner's stream_wav_uart.py). */
#define EE_CMD_SIZE 1028u
#else
#define EE_CMD_SIZE 80u
#endif
#define EE_CMD_DELIMITER " "
#define EE_CMD_TERMINATOR '%'

#define EE_MSG_READY "m-ready\r\n"
#define EE_MSG_INIT_DONE "m-init-done\r\n"

void ee_serial_callback(char c);
void ee_serial_command_parser_callback(char *command);
void ee_benchmark_initialize(void);
void ee_infer(size_t n, size_t n_warmup);
/* The bytes loaded with `db`: pointer, how many arrived, and how many `db load` announced. */
uint8_t *ee_get_buffer_pointer(void);
size_t ee_get_buffer_count(void);
size_t ee_get_buffer_expected(void);
/* Splits the next space-separated token off *cursor in place; NULL when none is left. */
char *ee_next_token(char **cursor);

/* Host files named on the console (`tinyrig load`, `audio`, `trace`) stay in one folder: the first
 * accepted path pins it (the bench's private temporary folder). NULL when `path` may be used,
 * else why not. */
const char *tinyrig_host_path_refused(const char *path);
bool tinyrig_host_path_pinned(void);
void tinyrig_host_path_pin(const char *path);

#endif
