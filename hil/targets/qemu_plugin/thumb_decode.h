/*
 * Thumb-2 instruction classifier for the cycle model: from an instruction's bytes to what its
 * timing depends on (its kind, registers, branch target, memory access size).
 *
 * Covers ARMv7E-M (Cortex-M4/M7), the FPv4/FPv5 floating-point instructions and the ARMv8.1-M
 * additions (low-overhead loops, Helium/MVE by execution pipeline). It classifies; it does not
 * execute, so operands are decoded only as far as timing needs them.
 */
#ifndef TINYRIG_THUMB_DECODE_H
#define TINYRIG_THUMB_DECODE_H

#include <stdint.h>

/* What an instruction costs is looked up by kind (the core data files name them, see
 * cycle_model.c's kind names). Order matters only to the name table. */
enum thumb_kind {
    K_ALU,             /* data processing, moves, shifts, compares, extends, bit fields, saturation */
    K_MUL,             /* 32-bit result multiply / multiply-accumulate, incl. SMLAD & co (DSP) */
    K_MUL_LONG,        /* 64-bit result: SMULL, UMULL, SMLAL, UMLAL, SMLALD, UMAAL ... */
    K_DIV,             /* SDIV, UDIV */
    K_NOP,             /* NOP and hints (YIELD, SEV) */
    K_IT,              /* IT */
    K_LOAD,            /* single load: LDR, LDRH, LDRB, LDRSH, LDRSB, LDREX, LDA ... */
    K_STORE,           /* single store */
    K_LOAD_DUAL,       /* LDRD */
    K_STORE_DUAL,      /* STRD */
    K_LOAD_MULTI,      /* LDM, POP: base cost, plus one cycle per register */
    K_STORE_MULTI,     /* STM, PUSH: base cost, plus one cycle per register */
    K_BRANCH,          /* B, BL: always taken */
    K_BRANCH_COND,     /* B<cc>: taken or not, from the executed flow */
    K_CBZ,             /* CBZ, CBNZ */
    K_BRANCH_REG,      /* BX, BLX, MOV pc, ADD pc */
    K_TABLE_BRANCH,    /* TBB, TBH */
    K_PRELOAD,         /* PLD, PLI */
    K_BARRIER,         /* DMB, DSB, ISB */
    K_SYSREG,          /* MRS, MSR, CPS */
    K_WAIT,            /* WFI, WFE */
    K_EXCEPTION,       /* SVC, BKPT, UDF */
    K_FP_ALU,          /* VADD, VSUB, VMUL, VNMUL, VABS, VNEG, VCMP, VCVT, VMOV (FP), VSEL ... */
    K_FP_MAC,          /* VMLA, VMLS, VNMLA, VNMLS, VFMA, VFMS, VFNMA, VFNMS */
    K_FP_DIV,          /* VDIV, VSQRT */
    K_FP_LOAD,         /* VLDR (one word; a double adds one) */
    K_FP_STORE,        /* VSTR */
    K_FP_LOAD_MULTI,   /* VLDM, VPOP: base cost plus one cycle per word */
    K_FP_STORE_MULTI,  /* VSTM, VPUSH */
    K_FP_MOV_CORE,     /* VMOV between a core and an FP register, VMRS, VMSR */
    K_FP_MOV_CORE2,    /* VMOV between two core registers and two S / one D register */
    K_MVE_LS,          /* Helium load/store pipe: VLDR*, VSTR*, gathers, VLD2/VLD4 ... */
    K_MVE_INT,         /* Helium integer pipe: VADD, VSUB, VQADD, VSHR, VRSHL, VMAX, VDUP ... */
    K_MVE_MUL,         /* Helium multiply / float pipe: VMUL, VMLA, VQRDMULH, VMLAV, VADDV, VCMP ... */
    K_MVE_SYS,         /* Helium control: VPST, VCTP, VPNOT */
    K_LOOP_START,      /* DLS, DLSTP, WLS, WLSTP (WLS branches when the count is zero) */
    K_LOOP_END,        /* LE, LETP, LCTP */
    K_UNKNOWN,
    K_COUNT
};

/* flags */
#define TF_WIDE 0x0001       /* 32-bit encoding */
#define TF_WRITES_PC 0x0002  /* a branch: always taken unless TF_COND */
#define TF_COND 0x0004       /* conditional branch: taken or not decided by the executed flow */
#define TF_PC_REL 0x0008     /* literal load ([pc, #imm]) */
#define TF_DOUBLE 0x0010     /* double-precision FP operation */
#define TF_DIRECT 0x0020     /* branch target known from the encoding (target field valid) */
#define TF_MVE 0x0040        /* Helium instruction (executes in beats) */
#define TF_IT_BLOCK 0x0080   /* inside an IT block (set by the caller, see thumb_it_*) */

typedef struct thumb_insn {
    uint32_t pc;
    uint32_t target;    /* direct branch target (TF_DIRECT) */
    uint16_t flags;
    uint16_t dst;       /* core registers written by the data path (not base writeback), bit n = Rn */
    uint16_t src;       /* core registers read */
    uint16_t addr;      /* core registers that form a memory address */
    uint8_t kind;       /* enum thumb_kind */
    uint8_t size;       /* 2 or 4 bytes */
    uint8_t nregs;      /* registers (multi) or words (FP multi) transferred */
    uint8_t mem_bytes;  /* single load/store access size (1, 2, 4), else 0 */
    uint8_t it_count;   /* K_IT: instructions in the block */
} thumb_insn;

/* Decode one instruction at `pc` from its first bytes (little-endian halfwords, as QEMU hands
 * them to plugins). `len` is 2 or 4. */
void thumb_decode(const uint8_t *bytes, unsigned len, uint32_t pc, thumb_insn *out);

/* Width of the instruction starting with halfword `hw1`: 4 for a 32-bit encoding, else 2. */
unsigned thumb_insn_size(uint16_t hw1);

/* Kind names as the core data files spell them ("alu", "load", ...); NULL past the end. */
const char *thumb_kind_name(unsigned kind);

#endif
