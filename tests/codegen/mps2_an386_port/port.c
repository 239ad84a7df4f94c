/* A hand-written port of a tinyrig export to QEMU's mps2-an386 (Cortex-M4): the CMSDK UART0 as the
 * console and SysTick as the microsecond clock, straight from the registers. It stands for what a
 * vendor writes with their own SDK, and shares nothing with tinyrig's board templates. */
#include <stdint.h>

#include "tinyrig_benchmark.h"
#include "tinyrig_port.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

/* CMSDK APB UART0 (Arm AN386 application note; QEMU's cmsdk-apb-uart). */
#define UART0_DATA REG(0x40004000u)
#define UART0_STATE REG(0x40004004u) /* bit 0: TX buffer full, bit 1: RX buffer full */
#define UART0_CTRL REG(0x40004008u)  /* bit 0: TX enable, bit 1: RX enable */
#define UART0_BAUDDIV REG(0x40004010u)

/* SysTick (Armv7-M ARM, B3.3), clocked by the 25 MHz core clock: one interrupt per millisecond. */
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define CPU_HZ 25000000u
#define TICKS_PER_US (CPU_HZ / 1000000u)
#define TICKS_PER_MS (CPU_HZ / 1000u)

static volatile uint32_t g_ms;

void SysTick_Handler(void)
{
    g_ms++;
}

void tinyrig_port_console_putc(char c)
{
    while (UART0_STATE & 1u) {
    }
    UART0_DATA = (uint8_t)c;
}

int tinyrig_port_console_getc(void)
{
    return (UART0_STATE & 2u) ? (int)(UART0_DATA & 0xFFu) : -1;
}

uint32_t tinyrig_port_timer_us(void)
{
    uint32_t ms, ticks_down;
    do { /* again if the millisecond interrupt came between the two reads */
        ms = g_ms;
        ticks_down = SYST_CVR;
    } while (ms != g_ms);
    return ms * 1000u + (TICKS_PER_MS - 1u - ticks_down) / TICKS_PER_US;
}

void tinyrig_port_timestamp_pin(void)
{
    /* This port runs performance builds only. */
}

int main(void)
{
    UART0_BAUDDIV = CPU_HZ / 115200u;
    UART0_CTRL = 3u;
    SYST_RVR = TICKS_PER_MS - 1u;
    SYST_CVR = 0u;
    SYST_CSR = 7u; /* processor clock, interrupt, enable */
    tinyrig_benchmark_run();
}
