/*
 * Thumb-2 instruction classifier (see thumb_decode.h). Encodings follow the ARMv7-M
 * Architecture Reference Manual (DDI 0403, chapter A5 "The Thumb Instruction Set Encoding")
 * and the Armv8.1-M manual (DDI 0553) for low-overhead loops and Helium; Helium instructions
 * are sorted into the Cortex-M55's four vector pipelines (load/store, integer, multiply/float,
 * control) as Arm's M55 scheduling model in LLVM (ARMScheduleM55.td) assigns them.
 */
#include "thumb_decode.h"

#include <stddef.h>

static const char *const kind_names[K_COUNT] = {
    [K_ALU] = "alu",
    [K_MUL] = "mul",
    [K_MUL_LONG] = "mul_long",
    [K_DIV] = "div",
    [K_NOP] = "nop",
    [K_IT] = "it",
    [K_LOAD] = "load",
    [K_STORE] = "store",
    [K_LOAD_DUAL] = "load_dual",
    [K_STORE_DUAL] = "store_dual",
    [K_LOAD_MULTI] = "load_multi",
    [K_STORE_MULTI] = "store_multi",
    [K_BRANCH] = "branch",
    [K_BRANCH_COND] = "branch_cond",
    [K_CBZ] = "cbz",
    [K_BRANCH_REG] = "branch_reg",
    [K_TABLE_BRANCH] = "table_branch",
    [K_PRELOAD] = "preload",
    [K_BARRIER] = "barrier",
    [K_SYSREG] = "sysreg",
    [K_WAIT] = "wait",
    [K_EXCEPTION] = "exception",
    [K_FP_ALU] = "fp_alu",
    [K_FP_MAC] = "fp_mac",
    [K_FP_DIV] = "fp_div",
    [K_FP_LOAD] = "fp_load",
    [K_FP_STORE] = "fp_store",
    [K_FP_LOAD_MULTI] = "fp_load_multi",
    [K_FP_STORE_MULTI] = "fp_store_multi",
    [K_FP_MOV_CORE] = "fp_mov_core",
    [K_FP_MOV_CORE2] = "fp_mov_core2",
    [K_MVE_LS] = "mve_load_store",
    [K_MVE_INT] = "mve_int",
    [K_MVE_MUL] = "mve_mul",
    [K_MVE_SYS] = "mve_sys",
    [K_LOOP_START] = "loop_start",
    [K_LOOP_END] = "loop_end",
    [K_UNKNOWN] = "unknown",
};

const char *thumb_kind_name(unsigned kind)
{
    return kind < K_COUNT ? kind_names[kind] : NULL;
}

/* Register mask of Rn; the PC is left out (reading it never stalls, writing it is TF_WRITES_PC). */
static uint16_t reg(unsigned n)
{
    return n < 15 ? (uint16_t)(1u << n) : 0;
}

static uint32_t sign_extend(uint32_t value, unsigned bits)
{
    uint32_t sign = 1u << (bits - 1);
    return (value ^ sign) - sign;
}

static unsigned popcount16(uint16_t v)
{
    return (unsigned)__builtin_popcount(v);
}

unsigned thumb_insn_size(uint16_t hw1)
{
    /* 32-bit encodings start with 0b11101, 0b11110 or 0b11111. */
    return (hw1 >> 11) >= 0x1D ? 4 : 2;
}

static void branch_to(thumb_insn *o, enum thumb_kind kind, uint32_t target, uint16_t extra_flags)
{
    o->kind = (uint8_t)kind;
    o->target = target;
    o->flags |= TF_WRITES_PC | TF_DIRECT | extra_flags;
}

/* ---- 16-bit encodings (ARMv7-M A5.2) ---- */

static void decode_misc16(uint16_t hw, uint32_t pc, thumb_insn *o)
{
    unsigned rd = hw & 7, rm = (hw >> 3) & 7;
    if ((hw & 0xF500) == 0xB100) { /* CBZ, CBNZ: forward only */
        uint32_t imm = ((hw >> 9) & 1) << 6 | ((hw >> 3) & 0x1F) << 1;
        o->src = reg(rd);
        branch_to(o, K_CBZ, pc + 4 + imm, TF_COND);
    } else if ((hw & 0xFF00) == 0xB000) { /* ADD/SUB SP, SP, #imm */
        o->kind = K_ALU;
        o->src = o->dst = reg(13);
    } else if ((hw & 0xFF00) == 0xB200 || (hw & 0xFF00) == 0xBA00) { /* extend, REV */
        o->kind = K_ALU;
        o->src = reg(rm);
        o->dst = reg(rd);
    } else if ((hw & 0xFE00) == 0xB400) { /* PUSH */
        uint16_t list = (hw & 0xFF) | ((hw & 0x100) ? 1u << 14 : 0);
        o->kind = K_STORE_MULTI;
        o->nregs = (uint8_t)popcount16(list);
        o->src = list | reg(13);
        o->addr = reg(13);
    } else if ((hw & 0xFE00) == 0xBC00) { /* POP */
        uint16_t list = hw & 0xFF;
        o->kind = K_LOAD_MULTI;
        o->nregs = (uint8_t)(popcount16(list) + ((hw >> 8) & 1));
        o->dst = list;
        o->src = o->addr = reg(13);
        if (hw & 0x100)
            o->flags |= TF_WRITES_PC;
    } else if ((hw & 0xFFE8) == 0xB660) { /* CPS */
        o->kind = K_SYSREG;
    } else if ((hw & 0xFF00) == 0xBE00) { /* BKPT (semihosting) */
        o->kind = K_EXCEPTION;
    } else if ((hw & 0xFF00) == 0xBF00) {
        if (hw & 0xF) { /* IT: the block is 4 - (trailing zeros of the mask) instructions */
            o->kind = K_IT;
            o->it_count = (uint8_t)(4 - __builtin_ctz(hw & 0xF));
        } else {
            unsigned hint = (hw >> 4) & 0xF;
            o->kind = (hint == 2 || hint == 3) ? K_WAIT : K_NOP;
        }
    } else {
        o->kind = K_UNKNOWN;
    }
}

static void decode16(uint16_t hw, uint32_t pc, thumb_insn *o)
{
    o->size = 2;
    unsigned lo3 = hw & 7, mid3 = (hw >> 3) & 7, hi3 = (hw >> 6) & 7, r8 = (hw >> 8) & 7;

    if ((hw >> 14) == 0) { /* shift (immediate), add, subtract, move, compare */
        o->kind = K_ALU;
        unsigned top = hw >> 11;
        if (top <= 2) { /* LSL, LSR, ASR #imm */
            o->src = reg(mid3);
            o->dst = reg(lo3);
        } else if (top == 3) { /* ADD/SUB register or 3-bit immediate */
            o->src = reg(mid3) | ((hw & 0x400) ? 0 : reg(hi3));
            o->dst = reg(lo3);
        } else { /* MOV, CMP, ADD, SUB with an 8-bit immediate on R[10:8] */
            unsigned opc = top & 3;
            if (opc != 0)
                o->src = reg(r8);
            if (opc != 1)
                o->dst = reg(r8);
        }
    } else if ((hw >> 10) == 0x10) { /* data processing (register) */
        unsigned opc = (hw >> 6) & 0xF;
        o->kind = opc == 0xD ? K_MUL : K_ALU;
        o->src = reg(mid3) | ((opc == 0x9 || opc == 0xF) ? 0 : reg(lo3)); /* RSB #0, MVN read Rm only */
        if (opc != 0x8 && opc != 0xA && opc != 0xB) /* TST, CMP, CMN write flags only */
            o->dst = reg(lo3);
    } else if ((hw >> 10) == 0x11) { /* special data processing, branch and exchange */
        unsigned opc = (hw >> 6) & 0xF;
        unsigned rdn = (hw & 7) | ((hw >> 4) & 8), rm4 = (hw >> 3) & 0xF;
        if (opc >= 0xC) { /* BX, BLX register */
            o->kind = K_BRANCH_REG;
            o->flags |= TF_WRITES_PC;
            o->src = reg(rm4);
            if (opc >= 0xE)
                o->dst = reg(14);
        } else {
            o->kind = K_ALU;
            o->src = reg(rm4) | ((opc >> 2) == 2 ? 0 : reg(rdn));
            if ((opc >> 2) == 1 && opc != 4) {
                /* CMP (high registers) */
            } else if (rdn == 15) { /* ADD pc / MOV pc: a branch */
                o->kind = K_BRANCH_REG;
                o->flags |= TF_WRITES_PC;
            } else {
                o->dst = reg(rdn);
            }
        }
    } else if ((hw >> 11) == 0x09) { /* LDR literal */
        o->kind = K_LOAD;
        o->mem_bytes = 4;
        o->flags |= TF_PC_REL;
        o->dst = reg(r8);
    } else if ((hw >> 12) == 0x5) { /* load/store, register offset */
        static const uint8_t bytes[8] = {4, 2, 1, 1, 4, 2, 1, 2};
        unsigned opb = (hw >> 9) & 7;
        o->mem_bytes = bytes[opb];
        o->addr = reg(mid3) | reg(hi3);
        if (opb < 3) {
            o->kind = K_STORE;
            o->src = o->addr | reg(lo3);
        } else {
            o->kind = K_LOAD;
            o->src = o->addr;
            o->dst = reg(lo3);
        }
    } else if ((hw >> 13) == 0x3 || (hw >> 12) == 0x8) { /* load/store word, byte, halfword (imm5) */
        unsigned load = (hw >> 11) & 1;
        o->mem_bytes = (hw >> 12) == 0x8 ? 2 : ((hw >> 12) & 1) ? 1 : 4;
        o->addr = reg(mid3);
        o->kind = load ? K_LOAD : K_STORE;
        o->src = o->addr | (load ? 0 : reg(lo3));
        o->dst = load ? reg(lo3) : 0;
    } else if ((hw >> 12) == 0x9) { /* load/store SP-relative */
        unsigned load = (hw >> 11) & 1;
        o->mem_bytes = 4;
        o->addr = reg(13);
        o->kind = load ? K_LOAD : K_STORE;
        o->src = o->addr | (load ? 0 : reg(r8));
        o->dst = load ? reg(r8) : 0;
    } else if ((hw >> 11) == 0x14) { /* ADR */
        o->kind = K_ALU;
        o->dst = reg(r8);
    } else if ((hw >> 11) == 0x15) { /* ADD Rd, SP, #imm */
        o->kind = K_ALU;
        o->src = reg(13);
        o->dst = reg(r8);
    } else if ((hw >> 12) == 0xB) {
        decode_misc16(hw, pc, o);
    } else if ((hw >> 12) == 0xC) { /* STM / LDM (IA) */
        uint16_t list = hw & 0xFF;
        o->nregs = (uint8_t)popcount16(list);
        o->addr = reg(r8);
        if (hw & 0x800) {
            o->kind = K_LOAD_MULTI;
            o->src = o->addr;
            o->dst = list;
        } else {
            o->kind = K_STORE_MULTI;
            o->src = o->addr | list;
        }
    } else if ((hw >> 12) == 0xD) { /* B<cond>, UDF, SVC */
        unsigned cond = (hw >> 8) & 0xF;
        if (cond >= 0xE)
            o->kind = K_EXCEPTION;
        else
            branch_to(o, K_BRANCH_COND, pc + 4 + sign_extend((uint32_t)(hw & 0xFF) << 1, 9), TF_COND);
    } else if ((hw >> 11) == 0x1C) { /* B (unconditional) */
        branch_to(o, K_BRANCH, pc + 4 + sign_extend((uint32_t)(hw & 0x7FF) << 1, 12), 0);
    } else {
        o->kind = K_UNKNOWN;
    }
}

/* ---- 32-bit encodings (ARMv7-M A5.3, Armv8.1-M additions) ---- */

static void decode_load_store_multiple(uint16_t hw1, uint16_t hw2, thumb_insn *o)
{
    unsigned rn = hw1 & 0xF;
    uint16_t list = hw2;
    if (rn == 15 && (hw1 & 0x10)) { /* CLRM (Armv8.1-M): clears registers, no memory access */
        o->kind = K_ALU;
        o->dst = list & 0x7FFF;
        return;
    }
    o->nregs = (uint8_t)popcount16(list);
    o->addr = reg(rn);
    if (hw1 & 0x10) {
        o->kind = K_LOAD_MULTI;
        o->src = o->addr;
        o->dst = list & 0x7FFF;
        if (list & 0x8000)
            o->flags |= TF_WRITES_PC;
    } else {
        o->kind = K_STORE_MULTI;
        o->src = o->addr | (list & 0x7FFF);
    }
}

static void decode_dual_exclusive_table(uint16_t hw1, uint16_t hw2, thumb_insn *o)
{
    unsigned rn = hw1 & 0xF, rt = hw2 >> 12, rt2 = (hw2 >> 8) & 0xF;
    unsigned p = (hw1 >> 8) & 1, u = (hw1 >> 7) & 1, w = (hw1 >> 5) & 1, load = (hw1 >> 4) & 1;
    o->addr = reg(rn);
    if (!p && !w) {
        if (!u) { /* LDREX / STREX */
            o->mem_bytes = 4;
        } else {
            unsigned op3 = (hw2 >> 4) & 0xF;
            if (load && op3 <= 1) { /* TBB, TBH */
                o->kind = K_TABLE_BRANCH;
                o->flags |= TF_WRITES_PC;
                o->addr |= reg(hw2 & 0xF);
                o->src = o->addr;
                return;
            }
            /* LDREXB/H, STREXB/H, and the Armv8-M load-acquire / store-release forms */
            static const uint8_t bytes[4] = {1, 2, 4, 4};
            o->mem_bytes = bytes[op3 & 3];
        }
        o->kind = load ? K_LOAD : K_STORE;
        o->src = o->addr | (load ? 0 : reg(rt));
        o->dst = load ? reg(rt) : 0; /* a store-exclusive's status register is not tracked */
        return;
    }
    if (rn == 15)
        o->flags |= TF_PC_REL;
    o->kind = load ? K_LOAD_DUAL : K_STORE_DUAL;
    o->src = o->addr | (load ? 0 : reg(rt) | reg(rt2));
    o->dst = load ? reg(rt) | reg(rt2) : 0;
}

static void decode_dp_register_forms(uint16_t hw1, uint16_t hw2, thumb_insn *o, int immediate)
{
    unsigned rn = hw1 & 0xF, rd = (hw2 >> 8) & 0xF, op = (hw1 >> 5) & 0xF, s = (hw1 >> 4) & 1;
    o->kind = K_ALU;
    o->src = reg(rn) | (immediate ? 0 : reg(hw2 & 0xF));
    /* TST, TEQ, CMN, CMP are AND, EOR, ADD, SUB with Rd = PC and S set: flags only */
    if (rd == 15 && s && (op == 0x0 || op == 0x4 || op == 0x8 || op == 0xD))
        return;
    o->dst = reg(rd);
}

static void decode_plain_immediate(uint16_t hw1, uint16_t hw2, thumb_insn *o)
{
    unsigned rn = hw1 & 0xF, rd = (hw2 >> 8) & 0xF, op = (hw1 >> 4) & 0x1F;
    o->kind = K_ALU;
    o->src = reg(rn);
    if (op == 0x0C || op == 0x16) /* MOVT and BFI/BFC keep part of Rd */
        o->src |= reg(rd);
    o->dst = reg(rd);
}

/* Armv8.1-M low-overhead loops (WLS, DLS, LE and their tail-predicated forms) and VCTP live
 * where ARMv7-M has the (M-profile undefined) BLX immediate encoding. */
static void decode_loop_branch(uint16_t hw1, uint16_t hw2, uint32_t pc, thumb_insn *o)
{
    unsigned rn = hw1 & 0xF;
    o->kind = K_NOP; /* branch-future hints and anything unrecognised here: one issue slot */
    if ((hw1 & 0xFF80) != 0xF000)
        return;
    if (hw2 == 0xE801) { /* VCTP */
        o->kind = K_MVE_SYS;
        o->flags |= TF_MVE;
        o->src = reg(rn);
    } else if (hw2 == 0xE001) { /* DLS, DLSTP; LCTP when Rn = PC */
        o->kind = rn == 15 ? K_ALU : K_LOOP_START;
        o->src = reg(rn);
        o->dst = rn == 15 ? 0 : reg(14);
    } else if ((hw2 & 0xF001) == 0xC001) {
        uint32_t imm = ((uint32_t)(hw2 >> 1) & 0x3FF) << 2 | ((hw2 >> 11) & 1) << 1;
        if (rn == 15) { /* LE, LETP: back to the loop start while LR counts down */
            branch_to(o, K_LOOP_END, pc + 4 - imm, TF_COND);
            o->src = o->dst = reg(14);
        } else { /* WLS, WLSTP: skips the loop when the count is zero */
            branch_to(o, K_LOOP_START, pc + 4 + imm, TF_COND);
            o->src = reg(rn);
            o->dst = reg(14);
        }
    }
}

static void decode_branch_misc(uint16_t hw1, uint16_t hw2, uint32_t pc, thumb_insn *o)
{
    unsigned op1 = (hw2 >> 12) & 7;
    uint32_t s = (hw1 >> 10) & 1, j1 = (hw2 >> 13) & 1, j2 = (hw2 >> 11) & 1;
    if ((op1 & 5) == 0) {
        unsigned op = (hw1 >> 4) & 0x7F;
        if ((op & 0x38) != 0x38) { /* B<cond> (T3) */
            uint32_t imm = s << 20 | j2 << 19 | j1 << 18 | (uint32_t)(hw1 & 0x3F) << 12 | (uint32_t)(hw2 & 0x7FF) << 1;
            branch_to(o, K_BRANCH_COND, pc + 4 + sign_extend(imm, 21), TF_COND);
        } else if (op == 0x38 || op == 0x39) { /* MSR */
            o->kind = K_SYSREG;
            o->src = reg(hw1 & 0xF);
        } else if (op == 0x3A) { /* hints */
            unsigned hint = hw2 & 0xFF;
            o->kind = (hint == 2 || hint == 3) ? K_WAIT : K_NOP;
        } else if (op == 0x3B) { /* CLREX, DSB, DMB, ISB */
            o->kind = ((hw2 >> 4) & 0xF) == 2 ? K_ALU : K_BARRIER;
        } else if (op == 0x3E || op == 0x3F) { /* MRS */
            o->kind = K_SYSREG;
            o->dst = reg((hw2 >> 8) & 0xF);
        } else if (op == 0x7F) {
            o->kind = K_EXCEPTION; /* UDF */
        } else {
            o->kind = K_UNKNOWN;
        }
    } else if ((op1 & 5) == 1 || (op1 & 5) == 5) { /* B (T4), BL */
        uint32_t i1 = !(j1 ^ s), i2 = !(j2 ^ s);
        uint32_t imm = s << 24 | i1 << 23 | i2 << 22 | (uint32_t)(hw1 & 0x3FF) << 12 | (uint32_t)(hw2 & 0x7FF) << 1;
        branch_to(o, K_BRANCH, pc + 4 + sign_extend(imm, 25), 0);
        if (op1 & 4)
            o->dst = reg(14);
    } else {
        decode_loop_branch(hw1, hw2, pc, o);
    }
}

static void decode_store_single(uint16_t hw1, uint16_t hw2, thumb_insn *o)
{
    unsigned rn = hw1 & 0xF, rt = hw2 >> 12, size = (hw1 >> 5) & 3;
    o->kind = K_STORE;
    o->mem_bytes = (uint8_t)(1u << size);
    o->addr = reg(rn);
    if (!(hw1 & 0x80) && (hw2 & 0x0FC0) == 0) /* register offset */
        o->addr |= reg(hw2 & 0xF);
    o->src = o->addr | reg(rt);
}

static void decode_load_single(uint16_t hw1, uint16_t hw2, thumb_insn *o)
{
    unsigned rn = hw1 & 0xF, rt = hw2 >> 12, size = (hw1 >> 5) & 3;
    o->mem_bytes = (uint8_t)(1u << size);
    if (rn == 15) {
        o->flags |= TF_PC_REL;
    } else {
        o->addr = reg(rn);
        if (!(hw1 & 0x80) && (hw2 & 0x0FC0) == 0)
            o->addr |= reg(hw2 & 0xF);
    }
    o->src = o->addr;
    if (rt == 15 && size != 2) { /* PLD, PLI */
        o->kind = K_PRELOAD;
        o->mem_bytes = 0;
        return;
    }
    o->kind = K_LOAD;
    o->dst = reg(rt);
    if (rt == 15)
        o->flags |= TF_WRITES_PC;
}

static void decode_multiply(uint16_t hw1, uint16_t hw2, thumb_insn *o, int long_form)
{
    unsigned rn = hw1 & 0xF, rm = hw2 & 0xF, hi = (hw2 >> 8) & 0xF, lo = hw2 >> 12;
    o->src = reg(rn) | reg(rm);
    if (!long_form) {
        o->kind = K_MUL;
        o->src |= reg(lo); /* Ra (PC = no accumulate) */
        o->dst = reg(hi);
        return;
    }
    unsigned op1 = (hw1 >> 4) & 7, op2 = (hw2 >> 4) & 0xF;
    if ((op1 == 1 || op1 == 3) && op2 == 0xF) {
        o->kind = K_DIV;
        o->dst = reg(hi);
        return;
    }
    o->kind = K_MUL_LONG;
    o->dst = reg(lo) | reg(hi);
    if (op1 >= 4) /* accumulating forms read RdLo:RdHi */
        o->src |= o->dst;
}

/* Helium instructions in the 0b111x_1111 space (A-profile's Advanced SIMD data processing). */
static void decode_mve_dp(uint16_t hw1, uint16_t hw2, thumb_insn *o)
{
    o->flags |= TF_MVE;
    o->kind = K_MVE_INT;
    if (!(hw1 & 0x80)) { /* three registers of the same length: opcode in hw2[11:8] */
        unsigned opc = (hw2 >> 8) & 0xF;
        /* VMUL/VMLA (9), VQDMULH/VQRDMULH (11) and the float operations (12..15) use the
         * multiply/float pipe; adds, logic, shifts, min/max the integer pipe. */
        if (opc == 0x9 || opc == 0xB || opc >= 0xC)
            o->kind = K_MVE_MUL;
        return;
    }
    if (hw2 & 0x10) /* shift by immediate, modified immediate (VMOV/VMVN/VORR/VBIC #imm) */
        return;
    if ((hw1 & 0x30) == 0x30) { /* two registers, miscellaneous: VCVT goes to the float pipe */
        if (((hw2 >> 9) & 3) == 3)
            o->kind = K_MVE_MUL;
        return;
    }
    o->kind = K_MVE_MUL; /* three registers of different lengths: VMULL, VQDMULL */
}

/* Helium instructions in the 0b111x_1110 coprocessor-14/15 space: reductions to core registers,
 * vector-by-scalar forms, narrowing moves, predication. */
static void decode_mve_cp(uint16_t hw1, uint16_t hw2, thumb_insn *o)
{
    o->flags |= TF_MVE;
    if ((hw1 & 0xFFB1) == 0xFE31 && (hw2 & 0x0FFF) == 0x0F4D) { /* VPST, VPNOT */
        o->kind = K_MVE_SYS;
        return;
    }
    if ((hw1 & 0xFFB1) == 0xFE31 && (hw2 & 0x0F51) == 0x0F01) { /* VPSEL */
        o->kind = K_MVE_INT;
        return;
    }
    if ((hw1 & 0xFF81) == 0xFE01 && (hw2 & 0x0F01) == 0x0F01) { /* VCMP, VPT (vector) */
        o->kind = K_MVE_MUL;
        return;
    }
    if ((hw1 & 0xFF81) == 0xFE01 && (hw2 & 0x0F40) == 0x0F40) { /* VCMP, VPT (scalar) */
        o->kind = K_MVE_MUL;
        return;
    }
    if (hw1 & 0x80) {
        /* Reductions to core registers. VMAXV/VMINV/VMAXAV/VMINAV and VABAV use the integer
         * pipe; VMLADAV/VMLAV/VMLALDAV/VRMLALDAVH/VADDV/VADDLV the multiply pipe. VMOVL and
         * VSHLC share this space (hw1[5:3] = 0b101, hw2[11:8] = 0b1111) and are integer too. */
        o->kind = K_MVE_MUL;
        if ((hw1 & 0xEFF0) == 0xEEE0 && (hw2 & 0x0F0F) == 0x0F00) /* VMAXV, VMINV (integer) */
            o->kind = K_MVE_INT;
        else if ((hw1 & 0xEFF0) == 0xEE20 || (hw1 & 0xEFF0) == 0xEE60) /* VMAXAV, VMINAV */
            o->kind = K_MVE_INT;
        else if ((hw1 & 0xEF80) == 0xEE80 && (hw2 & 0x0F01) == 0x0F01) /* VABAV */
            o->kind = K_MVE_INT;
        else if ((hw1 & 0xEFA0) == 0xEEA0 && (hw1 & 0x0007) == 0 && (hw2 & 0x0F00) == 0x0F00 &&
                 (hw2 & 0x0041) == 0x0040) /* VMOVL (VSHLL by 0) */
            o->kind = K_MVE_INT;
        else if ((hw1 & 0xEFE0) == 0xEEA0 && (hw2 & 0x0FC0) == 0x0FC0) /* VSHLC */
            o->kind = K_MVE_INT;
        if (o->kind == K_MVE_MUL || o->kind == K_MVE_INT) {
            unsigned rda = (hw2 >> 12) & 0xE;
            if ((hw2 & 0x0F00) == 0x0E00 || (hw2 & 0x0F00) == 0x0F00)
                o->dst = reg(rda) | reg(rda + 1);
        }
        return;
    }
    /* Vector-by-scalar (Rm in hw2[3:0], hw2[6] set; VIDUP and relatives too) and the narrowing
     * and multiply-high forms. */
    unsigned opc = (hw2 >> 8) & 0xF;
    unsigned b5 = (hw2 >> 5) & 1, b12 = (hw2 >> 12) & 1, u = (hw1 >> 12) & 1;
    if (hw2 & 0x0040) {
        o->src = reg(hw2 & 0xF);
        if (opc == 0xE) {
            /* VMLA/VMLAS (b5 = 0), VMUL (b12 = 1, b5 = 1, U = 0), VQDMULH/VQRDMULH (b12 = 0, b5 = 1):
             * multiply pipe. VBRSR (U = 1, b12 = 1, b5 = 1) and VRSHL/VQRSHL/VSHL/VQSHL by a core
             * register (size field 0b11 in hw1[5:4]) are integer. */
            if ((hw1 & 0x30) == 0x30 && b12)
                o->kind = K_MVE_INT;
            else if (u && b12 && b5)
                o->kind = K_MVE_INT;
            else
                o->kind = K_MVE_MUL;
        } else {
            o->kind = K_MVE_INT; /* VADD/VSUB/VQADD/VQSUB/VHADD/VHSUB by scalar, VIDUP/VDDUP ... */
            if ((hw1 & 0x30) == 0x30 && (hw2 & 0x1000)) /* float forms of VADD/VSUB/VFMA by scalar */
                o->kind = K_MVE_MUL;
        }
        return;
    }
    /* VMOVN/VQMOVN/VQMOVUN (hw2[11:8] = 0b1110, hw2[0] = 1, size field hw1[5:4] = 0b11): integer;
     * VMULH/VRMULH (same bits, a real size) and VMULL: multiply pipe */
    if ((hw2 & 0x0F01) == 0x0E01 && (hw1 & 0x30) == 0x30)
        o->kind = K_MVE_INT;
    else
        o->kind = K_MVE_MUL;
}

static void decode_coprocessor(uint16_t hw1, uint16_t hw2, thumb_insn *o)
{
    unsigned cp = (hw2 >> 8) & 0xF, rn = hw1 & 0xF, rt = hw2 >> 12;
    int helium = (cp & 0xE) == 0xE, fp = (cp & 0xE) == 0xA;
    o->kind = K_UNKNOWN;
    if ((hw1 & 0xEF00) == 0xEF00) {
        decode_mve_dp(hw1, hw2, o);
    } else if ((hw1 & 0xEE00) == 0xEC00) { /* loads, stores and 64-bit transfers */
        if (helium) {
            o->flags |= TF_MVE;
            if ((hw1 & 0x01A0) == 0) { /* VMOV two 32-bit lanes <-> two core registers */
                o->kind = K_MVE_INT;
                o->src = reg(rn) | reg(rt);
                o->dst = (hw1 & 0x10) ? reg(rn) | reg(rt) : 0;
            } else {
                o->kind = K_MVE_LS;
                o->addr = reg(rn);
                o->src = o->addr;
            }
        } else if (fp) {
            unsigned p = (hw1 >> 8) & 1, w = (hw1 >> 5) & 1, load = (hw1 >> 4) & 1;
            if ((hw1 & 0xFFE0) == 0xEC40) { /* VMOV two core registers <-> two S or one D */
                o->kind = K_FP_MOV_CORE2;
                o->src = load ? 0 : reg(rn) | reg(rt);
                o->dst = load ? reg(rn) | reg(rt) : 0;
                return;
            }
            o->addr = reg(rn);
            o->src = o->addr;
            if (rn == 15)
                o->flags |= TF_PC_REL;
            if (cp == 11)
                o->flags |= TF_DOUBLE;
            if (p && !w) { /* VLDR, VSTR */
                o->kind = load ? K_FP_LOAD : K_FP_STORE;
                o->nregs = cp == 11 ? 2 : 1;
            } else { /* VLDM, VSTM, VPUSH, VPOP: imm8 counts words */
                o->kind = load ? K_FP_LOAD_MULTI : K_FP_STORE_MULTI;
                o->nregs = (uint8_t)(hw2 & 0xFF);
            }
        }
    } else if (fp) { /* 0b111x_1110 with coprocessor 10/11 */
        if (hw2 & 0x10) { /* transfers between core and FP/vector registers */
            unsigned to_core = (hw1 >> 4) & 1;
            o->kind = K_FP_MOV_CORE;
            if (cp == 11 && (hw1 & 0x80) && !to_core) { /* VDUP (Helium) */
                o->kind = K_MVE_INT;
                o->flags |= TF_MVE;
            }
            if (to_core)
                o->dst = reg(rt);
            else
                o->src = reg(rt);
        } else if ((hw1 & 0xFF00) == 0xFE00) { /* VSEL, VMAXNM, VRINT*, VCVT* (FPv5) */
            o->kind = K_FP_ALU;
        } else {
            unsigned opc = ((hw1 >> 5) & 4) | ((hw1 >> 4) & 3);
            static const uint8_t kinds[8] = {K_FP_MAC, K_FP_MAC, K_FP_ALU, K_FP_ALU,
                                             K_FP_DIV, K_FP_MAC, K_FP_MAC, K_FP_ALU};
            o->kind = kinds[opc];
            /* in the "other" group, VSQRT is opc2 = 0001 with opc3 = 0b11 */
            if (opc == 7 && (hw1 & 0xF) == 1 && ((hw2 >> 6) & 3) == 3)
                o->kind = K_FP_DIV;
        }
        if (cp == 11 && !(hw2 & 0x10))
            o->flags |= TF_DOUBLE;
    } else if (helium) {
        decode_mve_cp(hw1, hw2, o);
    }
}

static void decode32(uint16_t hw1, uint16_t hw2, uint32_t pc, thumb_insn *o)
{
    unsigned op1 = (hw1 >> 11) & 3, op2 = (hw1 >> 4) & 0x7F;
    o->size = 4;
    o->flags |= TF_WIDE;
    if (op1 == 1) {
        if ((op2 & 0x64) == 0x00)
            decode_load_store_multiple(hw1, hw2, o);
        else if ((op2 & 0x64) == 0x04)
            decode_dual_exclusive_table(hw1, hw2, o);
        else if ((op2 & 0x60) == 0x20)
            decode_dp_register_forms(hw1, hw2, o, 0);
        else
            decode_coprocessor(hw1, hw2, o);
    } else if (op1 == 2) {
        if (hw2 & 0x8000)
            decode_branch_misc(hw1, hw2, pc, o);
        else if (hw1 & 0x200)
            decode_plain_immediate(hw1, hw2, o);
        else
            decode_dp_register_forms(hw1, hw2, o, 1);
    } else {
        if ((op2 & 0x71) == 0x00)
            decode_store_single(hw1, hw2, o);
        else if ((op2 & 0x67) == 0x01 || (op2 & 0x67) == 0x03 || (op2 & 0x67) == 0x05)
            decode_load_single(hw1, hw2, o);
        else if ((op2 & 0x70) == 0x20) { /* data processing (register): shifts, extends, SIMD, misc */
            o->kind = K_ALU;
            o->src = reg(hw1 & 0xF) | reg(hw2 & 0xF);
            o->dst = reg((hw2 >> 8) & 0xF);
        } else if ((op2 & 0x78) == 0x30)
            decode_multiply(hw1, hw2, o, 0);
        else if ((op2 & 0x78) == 0x38)
            decode_multiply(hw1, hw2, o, 1);
        else if (op2 & 0x40)
            decode_coprocessor(hw1, hw2, o);
        else
            o->kind = K_UNKNOWN;
    }
}

void thumb_decode(const uint8_t *bytes, unsigned len, uint32_t pc, thumb_insn *out)
{
    thumb_insn o = {0};
    o.pc = pc;
    uint16_t hw1 = (uint16_t)(bytes[0] | bytes[1] << 8);
    if (len >= 4 && thumb_insn_size(hw1) == 4)
        decode32(hw1, (uint16_t)(bytes[2] | bytes[3] << 8), pc, &o);
    else
        decode16(hw1, pc, &o);
    *out = o;
}
