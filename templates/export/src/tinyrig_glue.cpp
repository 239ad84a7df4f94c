/* tinyrig export: the board services the MLPerf Tiny API shim calls (board.h), carried out by the
 * vendor's port (tinyrig_port.h), and the entry points of tinyrig_benchmark.h. */
#include <stddef.h>
#include <stdint.h>

#include "api/internally_implemented.h"
#include "api/submitter_implemented.h"
#include "board.h"
#include "tinyrig_benchmark.h"

/* A default the vendor's own definition replaces at link time. */
#if defined(__ICCARM__)
#define TINYRIG_WEAK __weak
#else
#define TINYRIG_WEAK __attribute__((weak))
#endif

namespace {

uint32_t g_last_us = 0;
uint64_t g_wrapped_us = 0; /* 2^32 for every wrap of the port's counter seen so far */

}  // namespace

extern "C" {

TINYRIG_WEAK void tinyrig_port_energy_init(uint32_t console_baud)
{
    (void)console_baud;
}

void board_uart_init(uint32_t baud)
{
#if TH_ENERGY_MODE
    tinyrig_port_energy_init(baud);
#else
    (void)baud; /* the vendor brought the console up before tinyrig_benchmark_init() */
#endif
}

void board_uart_putc(char c)
{
    tinyrig_port_console_putc(c);
}

void board_timer_init(void)
{
    g_last_us = tinyrig_port_timer_us();
}

uint64_t board_timer_ticks(void)
{
    uint32_t now = tinyrig_port_timer_us();
    if (now < g_last_us) g_wrapped_us += (uint64_t)1 << 32;
    g_last_us = now;
    return g_wrapped_us | now;
}

void board_pin_init(void) {}

void board_pin_pulse(void)
{
    /* Only energy builds pulse the pin, so a performance port need not write the function. */
#if TH_ENERGY_MODE
    tinyrig_port_timestamp_pin();
#endif
}

/* Window markers are for emulators watching a register; a vendor's board has none. */
void board_pin_mark(void) {}

/* No semihosting on a vendor's board: `tinyrig load` answers with an error and inputs come by `db`. */
int th_fast_load(const char *path, uint8_t *buffer, size_t capacity, size_t *loaded)
{
    (void)path;
    (void)buffer;
    (void)capacity;
    (void)loaded;
    return TH_LOAD_UNAVAILABLE;
}

void tinyrig_benchmark_init(void)
{
    ee_benchmark_initialize();
}

void tinyrig_benchmark_poll(void)
{
    for (int c = tinyrig_port_console_getc(); c >= 0; c = tinyrig_port_console_getc()) {
        ee_serial_callback((char)c);
    }
}

void tinyrig_benchmark_run(void)
{
    tinyrig_benchmark_init();
    for (;;) tinyrig_benchmark_poll();
}

}  // extern "C"
