/*
 * pinwatch: a QEMU TCG plugin that logs every guest store to a "marker" register (the MLPerf Tiny
 * timestamp pin) together with the exact number of guest instructions executed so far.
 *
 * Output: one line per matching store, appended to `out` and flushed at once so the bench can
 * tail it while the guest runs:
 *     <instructions executed so far, including this store> <pc hex> <vaddr hex>
 * and, with the cycle model on (cycles=PATH), five more numbers: estimated cycles so far
 * (this store included), and of them those in loads/stores, multiplies, branches and flash
 * instruction-fetch stalls (cycle_model.h).
 *
 * Arguments (QEMU 7.2: -plugin file=pinwatch.so,addr=0x40028000,out=/tmp/marks.log):
 *     addr=0x...            marker register; stores with vaddr in [addr, addr+4) are logged.
 *                           Up to MAX_ADDRS of them (the streaming wakeword's detection and
 *                           processing pins may sit in other registers than the timestamp pin).
 *     out=PATH              log file (appended to)
 *     pc_lo=0x..,pc_hi=0x.. optional: only instructions in [pc_lo, pc_hi) get the memory
 *                           callback (a helper call per store, the costly part); every
 *                           instruction is still counted.
 *     skip_lo=0x..,skip_hi=0x.. optional: instructions in [skip_lo, skip_hi) are not counted.
 *                           tinyrig passes the timer's wrap interrupt handler: when a wrap falls
 *                           inside a window depends on when the host's bytes arrived at boot,
 *                           so counting it would make window counts differ between runs.
 *     cycles=PATH           optional: the cycle model's parameters (`key value` lines, written
 *                           by tinyrig.hil.targets.cycle_model from the core and board data).
 *
 * Why inline counting per instruction: under -icount, an MMIO access that is not the last
 * instruction of a translation block aborts the block and re-executes the access alone, so
 * per-block counters over-count. The per-instruction inline add runs before the instruction,
 * and QEMU does not re-run it when it re-executes the access (that block is built with
 * CF_MEMI_ONLY), so the count at the memory callback includes the store exactly once.
 *
 * The cycle model adds one callback per translation block (cycle_model.h says why that is
 * exact) and memory callbacks only on the loads/stores whose cost depends on the address.
 *
 * Debian ships no qemu-plugin.h; qemu_plugin_api.h declares the pieces used here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cycle_model.h"
#include "qemu_plugin_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

/* One counter for the whole machine: exact only with a single vCPU, which install() enforces. */
static uint64_t insn_count;
static uint64_t marker_stores;
#define MAX_ADDRS 4
static uint64_t addrs[MAX_ADDRS];
static int n_addrs;
static uint64_t pc_lo, pc_hi = UINT64_MAX;
static uint64_t skip_lo, skip_hi; /* empty unless given */
static FILE *out;

static cm_model *model; /* NULL: no cycle model */

static bool counted(uint64_t pc)
{
    return !(pc >= skip_lo && pc < skip_hi);
}

/* Whether vaddr falls in one of the watched 4-byte registers. */
static bool watched(uint64_t vaddr)
{
    for (int i = 0; i < n_addrs; i++)
        if (vaddr - addrs[i] < 4) /* unsigned: also rejects vaddr < addr */
            return true;
    return false;
}

static void log_store(uint64_t pc, uint64_t vaddr)
{
    marker_stores++;
    fprintf(out, "%" PRIu64 " 0x%" PRIx64 " 0x%" PRIx64, insn_count, pc, vaddr);
    if (model) {
        uint64_t split[CM_CATEGORIES];
        uint64_t cycles = cm_cycles_at(model, pc, split);
        fprintf(out, " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, cycles, split[CM_LOAD_STORE],
                split[CM_MULTIPLY], split[CM_BRANCH], split[CM_FETCH]);
    }
    fputc('\n', out);
    fflush(out);
}

static void on_store(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr, void *userdata)
{
    (void)vcpu_index;
    /* QEMU 7.2 calls back for loads too despite QEMU_PLUGIN_MEM_W (a read-modify-write of the
     * pin register would log twice): ask the access itself whether it is a store. */
    if (!qemu_plugin_mem_is_store(info))
        return;
    if (!watched(vaddr))
        return;
    log_store((uint64_t)(uintptr_t)userdata, vaddr);
}

/* With the cycle model: the access's cost, then the marker check (user data: the decoded
 * instruction, which carries its PC). */
static void on_access(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr, void *userdata)
{
    (void)vcpu_index;
    const thumb_insn *in = userdata;
    bool store = qemu_plugin_mem_is_store(info);
    if (counted(in->pc))
        cm_mem_access(model, in, vaddr, 1u << qemu_plugin_mem_size_shift(info), store);
    if (store && in->pc >= pc_lo && in->pc < pc_hi && watched(vaddr))
        log_store(in->pc, vaddr);
}

static void on_tb_exec(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    cm_tb_exec(model, userdata, insn_count);
}

static void translate_with_cycles(struct qemu_plugin_tb *tb, size_t n)
{
    const uint8_t **bytes = calloc(n ? n : 1, sizeof *bytes);
    unsigned *lens = calloc(n ? n : 1, sizeof *lens);
    if (!bytes || !lens) {
        fprintf(stderr, "pinwatch: out of memory\n");
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        bytes[i] = qemu_plugin_insn_data(insn);
        lens[i] = (unsigned)qemu_plugin_insn_size(insn);
    }
    uint64_t start = qemu_plugin_tb_vaddr(tb);
    cm_tb *record = cm_tb_new(model, start, (unsigned)n, bytes, lens);
    free(bytes);
    free(lens);
    if (!record) {
        fprintf(stderr, "pinwatch: out of memory\n");
        abort();
    }
    if (counted(start))
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_exec, QEMU_PLUGIN_CB_NO_REGS, record);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        const thumb_insn *decoded = cm_tb_insn(record, (unsigned)i);
        if (counted(pc))
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, 1);
        bool marker = pc >= pc_lo && pc < pc_hi;
        if (marker || (counted(pc) && cm_wants_mem_callback(model, decoded)))
            qemu_plugin_register_vcpu_mem_cb(insn, on_access, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
                                             (void *)decoded);
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    if (model) {
        translate_with_cycles(tb, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (counted(pc))
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count, 1);
        /* The PC travels as the callback's user data: 7.2 gives the callback no PC of its own. */
        if (pc >= pc_lo && pc < pc_hi)
            qemu_plugin_register_vcpu_mem_cb(insn, on_store, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_W,
                                             (void *)(uintptr_t)pc);
    }
}

static void report_at_exit(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    char msg[160];
    uint64_t split[CM_CATEGORIES];
    uint64_t cycles = model ? cm_cycles_at(model, 0, split) : 0;
    snprintf(msg, sizeof msg, "pinwatch: %" PRIu64 " instructions, %" PRIu64 " marker stores, %" PRIu64
             " estimated cycles\n", insn_count, marker_stores, cycles);
    qemu_plugin_outs(msg); /* shown with -d plugin */
    fflush(out);
}

static bool parse_u64(const char *text, uint64_t *value)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || end == text || *end != '\0')
        return false;
    *value = v;
    return true;
}

static bool load_cycle_model(const char *path)
{
    char err[512];
    model = cm_model_from_file(path, err, sizeof err);
    if (!model)
        fprintf(stderr, "pinwatch: %s\n", err);
    return model != NULL;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    const char *out_path = NULL;
    const char *cycles_path = NULL;

    if (info->system_emulation && info->system.max_vcpus > 1) {
        fprintf(stderr, "pinwatch: needs a single vCPU (the instruction counter is shared)\n");
        return -1;
    }
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        if (!eq) {
            fprintf(stderr, "pinwatch: argument '%s' is not key=value\n", arg);
            return -1;
        }
        size_t klen = (size_t)(eq - arg);
        const char *val = eq + 1;
        bool ok = true;
        if (klen == 3 && !strncmp(arg, "out", 3))
            out_path = val;
        else if (klen == 4 && !strncmp(arg, "addr", 4)) {
            if (n_addrs == MAX_ADDRS) {
                fprintf(stderr, "pinwatch: at most %d addr= arguments\n", MAX_ADDRS);
                return -1;
            }
            ok = parse_u64(val, &addrs[n_addrs++]);
        }
        else if (klen == 5 && !strncmp(arg, "pc_lo", 5))
            ok = parse_u64(val, &pc_lo);
        else if (klen == 5 && !strncmp(arg, "pc_hi", 5))
            ok = parse_u64(val, &pc_hi);
        else if (klen == 7 && !strncmp(arg, "skip_lo", 7))
            ok = parse_u64(val, &skip_lo);
        else if (klen == 7 && !strncmp(arg, "skip_hi", 7))
            ok = parse_u64(val, &skip_hi);
        else if (klen == 6 && !strncmp(arg, "cycles", 6))
            cycles_path = val;
        else {
            fprintf(stderr, "pinwatch: unknown argument '%s' (expected addr, out, pc_lo, pc_hi, skip_lo, skip_hi, "
                    "cycles)\n", arg);
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "pinwatch: bad number in '%s'\n", arg);
            return -1;
        }
    }
    if (!n_addrs || !out_path) {
        fprintf(stderr, "pinwatch: needs addr=0x... and out=PATH\n");
        return -1;
    }
    if (pc_lo >= pc_hi) {
        fprintf(stderr, "pinwatch: empty pc range [0x%" PRIx64 ", 0x%" PRIx64 ")\n", pc_lo, pc_hi);
        return -1;
    }
    if (cycles_path && !load_cycle_model(cycles_path))
        return -1;
    out = fopen(out_path, "a");
    if (!out) {
        fprintf(stderr, "pinwatch: cannot open %s: %s\n", out_path, strerror(errno));
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, report_at_exit, NULL);
    return 0;
}
