/* Reset and vectors for the hand-written mps2-an386 port: FPU on, .data and .bss set up,
 * constructors run, then main(). */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);
int main(void);
void SysTick_Handler(void);
void Reset_Handler(void);

static void Halt_Handler(void)
{
    for (;;) {
    }
}

__attribute__((section(".isr_vector"), used)) void (*const vectors[16])(void) = {
    (void (*)(void))&_estack, Reset_Handler, Halt_Handler, Halt_Handler, Halt_Handler, Halt_Handler,
    Halt_Handler, 0, 0, 0, 0, Halt_Handler, Halt_Handler, 0, Halt_Handler, SysTick_Handler,
};

void Reset_Handler(void)
{
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: CP10, CP11 full access */
    __asm volatile("dsb\n isb" ::: "memory");
    const uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;
    for (void (**ctor)(void) = __init_array_start; ctor < __init_array_end; ++ctor) (*ctor)();
    main();
    Halt_Handler();
}
