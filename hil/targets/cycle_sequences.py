"""Short instruction sequences whose cycle counts the cores' manuals state, run under QEMU with the
cycle model: the model's self-check (benchmarks/cycle_model.py prints it, the tests assert it).

Each sequence is assembled into one bare-metal image between two stores to the board's
timestamp-pin register, with an ISB on either side (it neither pipelines, folds nor dual-issues
with anything) so that the marker stores and the sequence cannot interact; an empty sequence,
measured the same way, is subtracted.

    results = run_sequences(load_board("qemu-mps2-an386"), M4_SEQUENCES)
    for r in results: print(r.sequence.name, r.cycles, r.sequence.expected)
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tinyrig.boards import Board
from tinyrig.hil.targets.cycle_model import CycleModel, cycle_model_for
from tinyrig.hil.targets.pinwatch import MarkerLog, build_plugin, plugin_args
from tinyrig.hil.targets.qemu import qemu_binary

M4_TRM = "Cortex-M4 TRM r0p1"


@dataclass(frozen=True)
class Sequence:
    name: str
    asm: str           # the measured instructions (GNU as, unified syntax; ';' separates lines)
    expected: int      # cycles the documentation states (with P = the core data's branch_refill)
    source: str        # where it says so
    setup: str = ""    # run before the first marker


# Registers on entry to every sequence: r1, r2, r3 point to word-aligned RAM buffers 256 bytes
# apart (r1's first word holds r2), r5 = 0, r7 = 0, r8 = 3, r9 = 5, r4 = the marker register.
M4_SEQUENCES = (
    Sequence("LDR; LDR pipelined", "ldr r0, [r1]; ldr r6, [r2]", 3,
             f"{M4_TRM} 3.3.2: LDR R0,[R1]; LDR R1,[R2] normally three cycles"),
    Sequence("LDR; STR pipelined", "ldr r0, [r1, r7]; str r0, [r3, #20]", 3,
             f"{M4_TRM} 3.3.2: LDR R0,[R1,R2]; STR R0,[R3,#20] normally three cycles"),
    Sequence("three LDRs pipelined", "ldr r0, [r1, r7]; ldr r6, [r2]; ldr r10, [r3, #4]", 4,
             f"{M4_TRM} 3.3.2: LDR R0,[R1,R5]; LDR R1,[R2]; LDR R2,[R3,#4] normally four cycles"),
    Sequence("LDR forming the next address", "ldr r0, [r1]; ldr r6, [r0]", 4,
             f"{M4_TRM} 3.3.2: no pipelining when the first LDR's result forms the next address (2 + 2)"),
    Sequence("STR; LDR", "str r0, [r3]; ldr r6, [r2]", 4,
             f"{M4_TRM} 3.3.2: nothing is pipelined after a store (2 + 2)"),
    Sequence("address after ADD (AGU stall)", "add r0, r1, #4; ldr r6, [r0]", 4,
             f"{M4_TRM} 3.3.2: address dependent on the preceding data processing: one stall (1 + 2 + 1)"),
    Sequence("LDRD", "ldrd r6, r10, [r1]", 3, f"{M4_TRM} 3.3.2: LDRD three cycles"),
    Sequence("STRD", "strd r6, r10, [r3]", 3, f"{M4_TRM} 3.3.2: STRD three cycles"),
    Sequence("LDM of 3", "ldmia r1, {r0, r6, r10}", 4, f"{M4_TRM} Table 3-1: LDM 1 + N"),
    Sequence("STM of 8", "stmia r3, {r0, r5, r6, r7, r8, r9, r10, r11}", 9,
             f"{M4_TRM} 3.3.2: an eight-element store takes nine cycles"),
    Sequence("PUSH 2; POP 2", "push {r6, r10}; pop {r6, r10}", 6, f"{M4_TRM} Table 3-1: PUSH, POP 1 + N"),
    Sequence("BL; PUSH {lr}; POP {pc}", "bl seq_push_pop_pc", 9,
             f"{M4_TRM} Table 3-1: BL 1 + P, PUSH 1 + N, POP with PC 1 + N + P (P = 2)"),
    Sequence("BL; BX LR", "bl seq_return", 6, f"{M4_TRM} Table 3-1: BL 1 + P, BX 1 + P (P = 2)"),
    Sequence("B (taken)", "b 1f; nop; 1:", 3, f"{M4_TRM} Table 3-1: B 1 + P (P = 2)"),
    Sequence("CMP; BEQ taken", "cmp r5, #0; beq 1f; nop; 1:", 4,
             f"{M4_TRM} Table 3-1: CMP 1, B<cc> taken 1 + P"),
    Sequence("CMP; BEQ not taken", "cmp r5, #1; beq 1f; nop; 1:", 3,
             f"{M4_TRM} Table 3-1: CMP 1, B<cc> not taken 1, NOP 1"),
    Sequence("BNE loop, 9 taken + 1 not", "movs r0, #10; 1: subs r0, #1; bne 1b", 39,
             f"{M4_TRM} Table 3-1: MOVS 1, 10 x SUBS 1, 9 x BNE taken 1 + P, 1 x BNE not taken 1"),
    Sequence("CBZ taken", "cbz r5, 1f; nop; 1:", 3, f"{M4_TRM} Table 3-1: CBZ taken 1 + P"),
    Sequence("CBNZ not taken", "cbnz r5, 1f; nop; 1:", 2, f"{M4_TRM} Table 3-1: CBNZ not taken 1, NOP 1"),
    Sequence("TBB", "tbb [pc, r5]; 2: .byte (3f - 2b) / 2, (3f - 2b) / 2; 3:", 4,
             f"{M4_TRM} Table 3-1: TBB 2 + P"),
    Sequence("IT folded after a 16-bit instruction", "movs r0, #1; it ne; movne r6, r7", 2,
             f"{M4_TRM} Table 3-1: IT folds onto a preceding 16-bit instruction (1 + 0 + 1)"),
    Sequence("IT after a 32-bit instruction", "add.w r0, r5, #1; it ne; movne r6, r7", 3,
             f"{M4_TRM} Table 3-1: IT 1 when it cannot fold (1 + 1 + 1)"),
    Sequence("MUL, SMLAD, SMULL", "mul r6, r7, r8; smlad r6, r7, r8, r6; smull r6, r10, r8, r9", 3,
             f"{M4_TRM} Table 3-1: MUL 1, SMLAD 1, SMULL 1"),
    Sequence("SDIV", "sdiv r6, r9, r8", 7, f"{M4_TRM} Table 3-1: SDIV 2 to 12 (data dependent); the model's fixed choice, 7"),
    Sequence("LDR halfword-aligned", "ldr r6, [r1, #2]", 3, f"{M4_TRM} 3.3.2: halfword-aligned word access +1 (2 + 1)"),
    Sequence("LDR byte-aligned", "ldr r6, [r1, #1]", 4, f"{M4_TRM} 3.3.2: byte-aligned word access +2 (2 + 2)"),
    Sequence("LDRH byte-aligned", "ldrh r6, [r1, #1]", 3, f"{M4_TRM} 3.3.2: byte-aligned halfword access +1 (2 + 1)"),
    Sequence("VADD.F32", "vadd.f32 s0, s1, s2", 1, f"{M4_TRM} Table 7-1: VADD 1"),
    Sequence("VMLA.F32", "vmla.f32 s0, s1, s2", 3, f"{M4_TRM} Table 7-1: VMLA 3"),
    Sequence("VDIV.F32", "vdiv.f32 s0, s1, s2", 14, f"{M4_TRM} Table 7-1: VDIV 14"),
    Sequence("VLDR.32", "vldr s0, [r1]", 2, f"{M4_TRM} Table 7-1: VLDR.32 2"),
)

M7_MODEL = "tinyrig M7 dual-issue rule (cores/cortex-m7.toml)"
M7_SEQUENCES = (
    Sequence("two independent ADDs dual-issue", "add r0, r1, r7; add r6, r8, r9", 1, f"{M7_MODEL}: two ALUs, no dependency"),
    Sequence("dependent ADDs do not", "add r0, r1, r7; add r6, r0, r9", 2, f"{M7_MODEL}: the second reads the first's result"),
    Sequence("two LDRs dual-issue", "ldr r0, [r1]; ldr r6, [r2]", 1, f"{M7_MODEL}: two load ports"),
    Sequence("two STRs do not", "str r0, [r3]; str r6, [r3, #8]", 2, f"{M7_MODEL}: one store port"),
    Sequence("MUL then its use", "mul r6, r8, r9; add r0, r6, r7", 3, f"{M7_MODEL}: multiply latency 2 (one stall)"),
)

M55_MODEL = "Cortex-M55 dual-beat model (cores/cortex-m55.toml)"
M55_SEQUENCES = (
    Sequence("VLDRB; VMLAV; VLDRB; VMLAV overlap", "vldrb.u8 q0, [r1]; vmlav.s8 r0, q0, q1; vldrb.u8 q2, [r2]; vmlav.s8 r6, q2, q1",
             4, f"{M55_MODEL}: different pipes overlap beats, one cycle each"),
    Sequence("VLDRB; VLDRB serialise", "vldrb.u8 q0, [r1]; vldrb.u8 q2, [r2]", 3,
             f"{M55_MODEL}: same (load/store) pipe, the second waits one cycle"),
    Sequence("VMLAV; VMLAV serialise", "vmlav.s8 r0, q0, q1; vmlav.s8 r6, q2, q1", 3,
             f"{M55_MODEL}: same (multiply) pipe, the second waits one cycle"),
    Sequence("VADD; VMUL; VSTRW overlap", "vadd.i32 q0, q1, q2; vmul.i32 q3, q1, q2; vstrw.32 q0, [r3]", 3,
             f"{M55_MODEL}: integer, multiply, load/store pipes"),
    Sequence("DLS; 4 x NOP; LE (loop cache)", "mov r6, #4; dls lr, r6; 2: nop; le lr, 2b", 10,
             f"{M55_MODEL}: MOV 1, DLS 1, 4 NOPs, first LE 1 + P (P = 3), cached LEs 0"),
    Sequence("LDR then its use", "ldr r0, [r1]; add r6, r0, r7", 3, f"{M55_MODEL}: load latency 2 (one stall)"),
)


@dataclass(frozen=True)
class SequenceResult:
    sequence: Sequence
    cycles: int
    instructions: int

    @property
    def matches(self) -> bool:
        return self.cycles == self.sequence.expected


class SequenceError(RuntimeError):
    """A sequence image could not be built or run."""


def _lines(asm: str) -> str:
    return "\n".join(f"    {part.strip()}" for part in asm.split(";") if part.strip())


def _image_source(board: Board, sequences: tuple[Sequence, ...]) -> str:
    stack = board.ram.base + 0x10000
    buffer = board.ram.base + 0x8000
    body = []
    for i, seq in enumerate((Sequence("calibration", "", 0, ""),) + tuple(sequences)):
        body.append(f"    @ {seq.name}\n    bl seq_registers\n{_lines(seq.setup)}\n    str r5, [r4]\n    isb\n"
                    f"{_lines(seq.asm)}\n    isb\n    str r5, [r4]\n")
    return f"""
    .syntax unified
    .thumb
    .text
vectors:
    .word {stack:#x}
    .word reset
    .global reset
    .type reset, %function
reset:
    ldr r0, =0xE000ED88          @ CPACR: full access to CP10/CP11 (FPU, Helium)
    ldr r1, [r0]
    orr r1, r1, #(0xF << 20)
    str r1, [r0]
    dsb
    isb
    ldr r1, ={buffer:#x}
    add r2, r1, #0x100
    str r2, [r1]                 @ r1's first word points at r2's buffer
{''.join(body)}
    movs r0, #0x20               @ semihosting SYS_EXIT_EXTENDED
    adr r1, exit_block
    bkpt 0xAB
    b .
    .align 2
exit_block:
    .word 0x20026, 0
    .ltorg

    .type seq_registers, %function
seq_registers:
    ldr r4, ={board.timestamp_pin.register:#x}
    ldr r1, ={buffer:#x}
    add r2, r1, #0x100
    add r3, r1, #0x200
    movs r5, #0
    movs r7, #0
    mov r8, #3
    mov r9, #5
    bx lr
    .ltorg

    .type seq_push_pop_pc, %function
seq_push_pop_pc:
    push {{lr}}
    pop {{pc}}
    .type seq_return, %function
seq_return:
    bx lr
"""


def _compile(board: Board, source: str, workdir: Path) -> Path:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        raise SequenceError("arm-none-eabi-gcc not found on PATH (Debian package: gcc-arm-none-eabi)")
    arch = {"cortex-m55": ["-mcpu=cortex-m55"]}.get(board.core, [f"-mcpu={board.core}", "-mfpu=fpv4-sp-d16",
                                                                  "-mfloat-abi=hard"])
    src, elf = workdir / "sequences.S", workdir / "sequences.elf"
    src.write_text(source)
    proc = subprocess.run([gcc, *arch, "-mthumb", "-nostdlib", f"-Wl,-Ttext={board.flash.base:#x}",
                           "-Wl,--entry=reset", "-o", str(elf), str(src)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SequenceError(f"arm-none-eabi-gcc failed on {src}:\n{proc.stderr}")
    return elf


def run_sequences(board: Board, sequences: tuple[Sequence, ...], model: CycleModel | None = None,
                  workdir: Path | None = None, timeout_s: float = 30.0) -> list[SequenceResult]:
    """Runs `sequences` on `board`'s QEMU machine with `model` (default: the board's own) and
    returns the cycles and instructions the model gives each, calibration subtracted."""
    model = model or cycle_model_for(board)
    with tempfile.TemporaryDirectory(prefix="tinyrig-sequences-") as tmp:
        folder = Path(workdir) if workdir is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        elf = _compile(board, _image_source(board, sequences), folder)
        log = folder / "marks.txt"
        log.unlink(missing_ok=True)
        cmd = [qemu_binary(), "-M", board.emulator.qemu_machine, "-nographic", "-monitor", "none",
               "-icount", "shift=0", "-semihosting-config", "enable=on,target=native",
               *plugin_args(build_plugin(), board.timestamp_pin.register, log,
                            cycles=model.write(folder / "cycle-model.txt")),
               "-kernel", str(elf)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        if proc.returncode != 0:
            raise SequenceError(f"QEMU exited with {proc.returncode}: {proc.stderr.strip()}")
        marks = MarkerLog(log).read_new()
    if len(marks) != 2 * (len(sequences) + 1):
        raise SequenceError(f"expected {2 * (len(sequences) + 1)} marker stores, got {len(marks)}")
    spans = [(b.cycles - a.cycles, b.instructions - a.instructions) for a, b in zip(marks[::2], marks[1::2])]
    (cal_cycles, cal_insns), rest = spans[0], spans[1:]
    return [SequenceResult(seq, cycles - cal_cycles, insns - cal_insns) for seq, (cycles, insns) in zip(sequences, rest)]
