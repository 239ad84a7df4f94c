/* A port of the tinyrig MLPerf Tiny library ({{ benchmark.id }}) to a Linux or macOS computer: the five
 * functions of tinyrig_port.h over a file descriptor and clock_gettime. Try the library here before
 * any board, and read it as the smallest complete port.
 *
 *   tinyrig_host_port          console on stdin/stdout:  printf 'name%%profile%%' | ./tinyrig_host_port
 *   tinyrig_host_port --pty    console on a new pseudo-terminal whose name is printed on stderr;
 *                              open it like a board's serial port (tinyrig's Dut, the EEMBC runner)
 */
#define _XOPEN_SOURCE 600 /* posix_openpt, grantpt, unlockpt, ptsname */
#define _DEFAULT_SOURCE   /* cfmakeraw */
#define _DARWIN_C_SOURCE  /* cfmakeraw on macOS */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tinyrig_benchmark.h"
#include "tinyrig_port.h"

static int g_console_in = STDIN_FILENO;
static int g_console_out = STDOUT_FILENO;
/* Bytes are sent a line at a time: every protocol line ends in '\n'. */
static char g_line[256];
static size_t g_line_length;

static void flush_line(void)
{
    size_t sent = 0;
    while (sent < g_line_length) {
        ssize_t n = write(g_console_out, g_line + sent, g_line_length - sent);
        if (n < 0 && errno != EINTR) exit(1); /* the host went away */
        if (n > 0) sent += (size_t)n;
    }
    g_line_length = 0;
}

void tinyrig_port_console_putc(char c)
{
    g_line[g_line_length++] = c;
    if (c == '\n' || g_line_length == sizeof(g_line)) flush_line();
}

int tinyrig_port_console_getc(void)
{
    unsigned char c;
    for (;;) {
        ssize_t n = read(g_console_in, &c, 1); /* blocks: nothing else to do meanwhile */
        if (n == 1) return c;
        if (n == 0 || errno != EINTR) exit(0); /* end of input: the session is over */
    }
}

uint32_t tinyrig_port_timer_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint32_t)((uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u);
}

void tinyrig_port_timestamp_pin(void)
{
    /* A computer has no timestamp pin; energy builds are for boards. */
}

/* The console on a pseudo-terminal: this process keeps both ends open, so a host may connect,
 * disconnect and connect again as it would to a board's USB serial port. */
static int open_pty_console(void)
{
    int controller = posix_openpt(O_RDWR | O_NOCTTY);
    if (controller < 0 || grantpt(controller) != 0 || unlockpt(controller) != 0) return -1;
    const char *name = ptsname(controller);
    int device = name ? open(name, O_RDWR | O_NOCTTY) : -1;
    if (device < 0) return -1;
    struct termios raw;
    if (tcgetattr(device, &raw) != 0) return -1;
    cfmakeraw(&raw); /* bytes as they are: no echo, no line editing, no CR/LF translation */
    if (tcsetattr(device, TCSANOW, &raw) != 0) return -1;
    g_console_in = g_console_out = controller;
    fprintf(stderr, "console: %s\n", name);
    fflush(stderr);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--pty") == 0) {
        if (open_pty_console() != 0) {
            fprintf(stderr, "error: cannot open a pseudo-terminal: %s\n", strerror(errno));
            return 1;
        }
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [--pty]\n", argv[0]);
        return 2;
    }
    tinyrig_benchmark_run();
}
