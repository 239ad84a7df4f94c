/* The DUT's main loop: initialise, then feed every received character to the protocol parser. */
#include "board.h"
#include "api/internally_implemented.h"
#if TH_STREAMING
#include "sww/sww_stream.h"
#endif

int main(void)
{
    ee_benchmark_initialize();
    for (;;) {
        int c = board_uart_getc();
        if (c >= 0) ee_serial_callback((char)c);
#if TH_STREAMING
        else sww_background(); /* hops that arrived; sleeps until the next when there are none */
#endif
    }
}
