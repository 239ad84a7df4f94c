/*
 * pinwatch: a QEMU TCG plugin that logs every guest store to a "marker" register (the MLPerf Tiny
 * timestamp pin) together with the exact number of guest instructions executed so far.
 *
 * Output: one line per matching store, appended to `out` and flushed at once so the bench can
 * tail it while the guest runs:
 *     <instructions executed so far, including this store> <pc hex> <vaddr hex>
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
 *
 * Why inline counting per instruction: under -icount, an MMIO access that is not the last
 * instruction of a translation block aborts the block and re-executes the access alone, so
 * per-block counters over-count. The per-instruction inline add runs before the instruction,
 * and QEMU does not re-run it when it re-executes the access (that block is built with
 * CF_MEMI_ONLY), so the count at the memory callback includes the store exactly once.
 *
 * Debian ships no qemu-plugin.h, so the few pieces of the version-1 plugin API used here are
 * declared below, copied in shape from QEMU 7.2's include/qemu/qemu-plugin.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU plugin API, version 1 (QEMU 7.2) ---- */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
typedef uint32_t qemu_plugin_meminfo_t;

typedef struct qemu_info_t {
    const char *target_name;
    struct {
        int min;
        int cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus;
            int max_vcpus;
        } system;
    };
} qemu_info_t;

struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_R = 1, QEMU_PLUGIN_MEM_W, QEMU_PLUGIN_MEM_RW };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info,
                                          uint64_t vaddr, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op,
                                                void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_mem_cb_t cb,
                                      enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw,
                                      void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info);
void qemu_plugin_outs(const char *string);

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;
/* ---- end of the API declarations ---- */

/* One counter for the whole machine: exact only with a single vCPU, which install() enforces. */
static uint64_t insn_count;
static uint64_t marker_stores;
#define MAX_ADDRS 4
static uint64_t addrs[MAX_ADDRS];
static int n_addrs;
static uint64_t pc_lo, pc_hi = UINT64_MAX;
static uint64_t skip_lo, skip_hi; /* empty unless given */
static FILE *out;

static void on_store(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr, void *userdata)
{
    (void)vcpu_index;
    /* QEMU 7.2 calls back for loads too despite QEMU_PLUGIN_MEM_W (a read-modify-write of the
     * pin register would log twice): ask the access itself whether it is a store. */
    if (!qemu_plugin_mem_is_store(info))
        return;
    bool watched = false;
    for (int i = 0; i < n_addrs; i++)
        watched |= vaddr - addrs[i] < 4; /* unsigned: also rejects vaddr < addr */
    if (!watched)
        return;
    marker_stores++;
    fprintf(out, "%" PRIu64 " 0x%" PRIx64 " 0x%" PRIx64 "\n", insn_count, (uint64_t)(uintptr_t)userdata, vaddr);
    fflush(out);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (!(pc >= skip_lo && pc < skip_hi))
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
    char msg[128];
    snprintf(msg, sizeof msg, "pinwatch: %" PRIu64 " instructions, %" PRIu64 " marker stores\n",
             insn_count, marker_stores);
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

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    const char *out_path = NULL;

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
        else {
            fprintf(stderr, "pinwatch: unknown argument '%s' (expected addr, out, pc_lo, pc_hi, skip_lo, skip_hi)\n", arg);
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
    out = fopen(out_path, "a");
    if (!out) {
        fprintf(stderr, "pinwatch: cannot open %s: %s\n", out_path, strerror(errno));
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, report_at_exit, NULL);
    return 0;
}
