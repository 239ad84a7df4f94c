/*
 * Cycle model of a Cortex-M core, driven by the instructions QEMU executes.
 *
 * Every translation block gets a static cost when it is translated: each instruction is charged
 * by its kind (core data: cores/<core>.toml) and by what the pipeline state left by the
 * instruction before it allows (load pipelining, address-generation stalls, IT folding, the
 * M7's dual issue, the M55's beat-wise vector pipes). At run time one callback per block adds
 * that cost and settles what only the executed flow knows: whether the conditional branch that
 * ended the previous block was taken, the pipeline state carried in from the previous block,
 * a block cut short by an I/O access, the flash accelerator's hits and misses. Memory callbacks
 * add unaligned-access penalties and flash data wait states.
 *
 * Everything depends only on the executed instruction stream, never on where QEMU happened to
 * cut it into blocks, so the counts are deterministic and as exact as the instruction counts.
 * No QEMU dependency here: pinwatch.c feeds it (and tests drive it directly).
 */
#ifndef TINYRIG_CYCLE_MODEL_H
#define TINYRIG_CYCLE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "thumb_decode.h"

/* Where cycles go, for the per-window breakdown. */
enum cm_category { CM_LOAD_STORE, CM_MULTIPLY, CM_BRANCH, CM_FETCH, CM_OTHER, CM_CATEGORIES };

typedef struct cm_params {
    uint16_t cost[K_COUNT];        /* base cycles per instruction kind */
    uint16_t branch_refill;        /* P: pipeline refill after a taken branch */
    uint16_t load_pipelining;      /* cycles a single load/store saves after a single load (M4: 1) */
    uint16_t agu_stall;            /* address depends on the previous data-processing result */
    uint16_t load_use_stall;       /* the next instruction reads what a single load loaded */
    uint16_t mul_use_stall;        /* the next instruction reads what a multiply wrote */
    uint16_t it_folding;           /* IT after a 16-bit instruction is free */
    uint16_t unaligned_two_part;   /* halfword-aligned word or byte-aligned halfword access */
    uint16_t unaligned_three_part; /* byte-aligned word access */
    uint16_t literal_load_extra;   /* LDR [pc, #imm] fetch contention */
    uint16_t fp_double_extra;      /* double-precision FP data processing */
    uint16_t mve_beat_cycles;      /* cycles a Helium instruction holds its pipe (0: no vector pipes) */
    uint16_t dual_issue;           /* pair independent instructions (Cortex-M7 style) */
    uint16_t loop_end_cached;      /* LE when the loop is in the low-overhead-branch cache */
    /* flash (board data); wait_states = 0 turns the flash model off */
    uint32_t flash_lo, flash_hi;
    uint16_t flash_wait_states;
    uint16_t flash_read_bytes;     /* bytes per flash read (the accelerator's block) */
    uint16_t flash_prefetch;       /* sequential instruction prefetch */
    uint16_t flash_cache_prefetched; /* prefetched lines also fill the instruction cache */
    uint16_t icache_sets, icache_ways; /* instruction cache: sets x ways of read_bytes blocks */
    uint16_t dcache_sets, dcache_ways; /* data cache for constant reads */
    uint16_t cache_unified;        /* one cache (the instruction cache's shape) serves fetch and data reads
                                      alike, as the Cortex-M33's ICACHE on the STM32U5/L5 C-AHB bus */
} cm_params;

/* Sets every field to its "absent" value (costs 1, features off, no flash model). */
void cm_params_default(cm_params *p);

/* Reads `key value` lines (# comments) into `p`. On error returns false with one line in `err`. */
bool cm_params_read(FILE *file, const char *path, cm_params *p, char *err, size_t err_len);

struct cm_tb;
typedef struct cm_tb cm_tb;
typedef struct cm_model cm_model;

cm_model *cm_model_new(const cm_params *p);

/* Reads a parameter file and builds the model; NULL with one line in `err` on failure. */
cm_model *cm_model_from_file(const char *path, char *err, size_t err_len);

/* Builds the static record of one translation block from its instructions' bytes. */
cm_tb *cm_tb_new(const cm_model *m, uint64_t pc, unsigned n, const uint8_t *const *bytes, const unsigned *lens);

/* The block starts executing; `insns` is the instruction counter at that moment. */
void cm_tb_exec(cm_model *m, cm_tb *tb, uint64_t insns);

/* Whether `in` needs a memory callback (unaligned penalties, flash data wait states). */
bool cm_wants_mem_callback(const cm_model *m, const thumb_insn *in);

/* What a data access at `vaddr` costs beyond the instruction's static cost. */
void cm_mem_access(cm_model *m, const thumb_insn *in, uint64_t vaddr, unsigned bytes, bool store);

/* The decoded instruction at index `i` of `tb` (for memory-callback user data). */
const thumb_insn *cm_tb_insn(const cm_tb *tb, unsigned i);

/* Cycles up to and including the instruction at `pc` of the executing block, split into the
 * categories; what the current block charged for instructions after `pc` is left out. */
uint64_t cm_cycles_at(const cm_model *m, uint64_t pc, uint64_t categories[CM_CATEGORIES]);

#endif
