/* The port: the five functions a vendor writes to run this MLPerf Tiny library on a board.
 *
 * The library calls nothing else of the platform (no malloc, no printf, no RTOS): console bytes,
 * a microsecond clock and the energy-mode timestamp pin are all it needs. Bring the clocks, the
 * console UART, a timer and the pin up with your SDK first, then call tinyrig_benchmark_run()
 * (tinyrig_benchmark.h). README.md shows these functions for STM32Cube, MCUXpresso, Zephyr and
 * ESP-IDF.
 */
#ifndef TINYRIG_PORT_H
#define TINYRIG_PORT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sends one byte to the host on the benchmark console (blocking until it is queued). */
void tinyrig_port_console_putc(char c);

/* The next byte from the host (0..255), or -1 when none is waiting. It may also block until a
 * byte arrives: the library only reads when it has nothing else to do. */
int tinyrig_port_console_getc(void);

/* A free-running microsecond count. 32 bits are enough: the library widens it, so it may wrap
 * (every 71.6 minutes) as long as it is read at least once per wrap, which a benchmark window is. */
uint32_t tinyrig_port_timer_us(void);

/* Energy mode only: one timestamp for the energy monitor. Drive the timestamp pin low for at
 * least a microsecond, then back high (MLPerf Tiny's energy runner watches for the falling edge). */
void tinyrig_port_timestamp_pin(void);

/* Optional, energy mode only: called once before anything is printed. Switch the console to
 * `console_baud` (9600, the energy runner's IO manager rate) and set the timestamp pin high.
 * The library's default does nothing. */
void tinyrig_port_energy_init(uint32_t console_baud);

#ifdef __cplusplus
}
#endif

#endif
