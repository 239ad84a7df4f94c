/* th_printf: a small formatter over the board UART, so the firmware needs no libc printf.
 * Supports what the protocol needs: %s %c %d %i %u %x %X with l/ll, width and zero padding. */
#include <stdarg.h>
#include <stdint.h>

#include "board.h"

void board_uart_puts_raw(const char *s)
{
    while (*s) board_uart_putc(*s++);
}

static void put_padded(const char *digits, int len, int width, char pad, int negative)
{
    int total = len + negative;
    if (negative && pad == '0') board_uart_putc('-');
    for (; total < width; ++total) board_uart_putc(pad);
    if (negative && pad != '0') board_uart_putc('-');
    for (int i = len - 1; i >= 0; --i) board_uart_putc(digits[i]);
}

static void put_unsigned(unsigned long long value, unsigned base, int upper, int width, char pad, int negative)
{
    char digits[24];
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int len = 0;
    do {
        digits[len++] = set[value % base];
        value /= base;
    } while (value != 0u);
    put_padded(digits, len, width, pad, negative);
}

void th_vprintf(const char *fmt, va_list args)
{
    for (const char *p = fmt; *p; ++p) {
        if (*p != '%') {
            board_uart_putc(*p);
            continue;
        }
        ++p;
        char pad = ' ';
        int width = 0, longs = 0;
        if (*p == '0') {
            pad = '0';
            ++p;
        }
        while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
        while (*p == 'l') {
            ++longs;
            ++p;
        }
        switch (*p) {
        case 's': {
            const char *s = va_arg(args, const char *);
            board_uart_puts_raw(s ? s : "(null)");
            break;
        }
        case 'c':
            board_uart_putc((char)va_arg(args, int));
            break;
        case 'd':
        case 'i': {
            long long v = longs >= 2 ? va_arg(args, long long) : longs ? va_arg(args, long) : va_arg(args, int);
            unsigned long long magnitude = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            put_unsigned(magnitude, 10u, 0, width, pad, v < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            unsigned long long v = longs >= 2 ? va_arg(args, unsigned long long)
                                   : longs    ? va_arg(args, unsigned long)
                                              : va_arg(args, unsigned int);
            put_unsigned(v, *p == 'u' ? 10u : 16u, *p == 'X', width, pad, 0);
            break;
        }
        case '%':
            board_uart_putc('%');
            break;
        case '\0':
            return;
        default:
            board_uart_putc('%');
            board_uart_putc(*p);
            break;
        }
    }
}

void th_printf(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    th_vprintf(fmt, args);
    va_end(args);
}
