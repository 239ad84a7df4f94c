"""The QEMU plugin's cycle model, without QEMU (test_cycle_model_qemu.py runs it under QEMU).

- the model's rules, driven directly through the C library (ctypes): blocks QEMU cuts or aborts
  cost what the uncut stream costs, branches are settled from the executed flow, the flash
  accelerator's rules;
- the instruction classifier against the GNU assembler's encodings;
- the core and board data files: every value has a source, bad files get one clear line.
"""

from __future__ import annotations

import ctypes
import re
import subprocess
from pathlib import Path

import pytest

from tinyrig.boards import BoardError, load_board
from tinyrig.boards.schema import parse_board
from tinyrig.hil.targets import cycle_model as cm
from tinyrig.hil.targets.cycle_model import CycleModelError, cycle_model_for, load_core_timing
from tinyrig.hil.targets.pinwatch import CycleSplit, MarkerLog, MarkerStore, PLUGIN_DIR
from tinyrig_testing import require_tools

# ---- the C model through ctypes -------------------------------------------------------------


class Insn(ctypes.Structure):  # thumb_decode.h: thumb_insn
    _fields_ = [("pc", ctypes.c_uint32), ("target", ctypes.c_uint32), ("flags", ctypes.c_uint16),
                ("dst", ctypes.c_uint16), ("src", ctypes.c_uint16), ("addr", ctypes.c_uint16),
                ("kind", ctypes.c_uint8), ("size", ctypes.c_uint8), ("nregs", ctypes.c_uint8),
                ("mem_bytes", ctypes.c_uint8), ("it_count", ctypes.c_uint8)]


TF_WRITES_PC, TF_COND, TF_DIRECT = 0x2, 0x4, 0x20
Categories = ctypes.c_uint64 * 5


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    require_tools("gcc")
    out = tmp_path_factory.mktemp("cmlib") / "libcyclemodel.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-Wall", "-Wextra", "-Werror", "-o", str(out),
                    str(PLUGIN_DIR / "cycle_model.c"), str(PLUGIN_DIR / "thumb_decode.c")], check=True)
    lib = ctypes.CDLL(str(out))
    lib.cm_model_from_file.restype = ctypes.c_void_p
    lib.cm_model_from_file.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.cm_tb_new.restype = ctypes.c_void_p
    lib.cm_tb_new.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint,
                              ctypes.POINTER(ctypes.POINTER(ctypes.c_uint8)), ctypes.POINTER(ctypes.c_uint)]
    lib.cm_tb_exec.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64]
    lib.cm_tb_insn.restype = ctypes.c_void_p
    lib.cm_tb_insn.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    lib.cm_mem_access.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_bool]
    lib.cm_cycles_at.restype = ctypes.c_uint64
    lib.cm_cycles_at.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.POINTER(Categories)]
    lib.thumb_decode.argtypes = [ctypes.POINTER(ctypes.c_uint8), ctypes.c_uint, ctypes.c_uint32, ctypes.POINTER(Insn)]
    lib.thumb_kind_name.restype = ctypes.c_char_p
    return lib


class Model:
    """Drives the C model the way pinwatch.c does: blocks of halfwords, an instruction counter."""

    def __init__(self, lib, params: dict[str, int], tmp_path: Path):
        self.lib, self.insns, self.keep = lib, 0, []
        path = tmp_path / f"params-{id(self)}.txt"
        path.write_text("".join(f"{k} {v}\n" for k, v in params.items()))
        err = ctypes.create_string_buffer(512)
        self.m = lib.cm_model_from_file(str(path).encode(), err, len(err))
        assert self.m, err.value.decode()

    def block(self, pc: int, *insns: tuple[int, ...]):
        """A translation block; each instruction is a tuple of halfwords."""
        arrays = [(ctypes.c_uint8 * 4)(*b"".join(h.to_bytes(2, "little") for h in hws).ljust(4, b"\0")) for hws in insns]
        self.keep.append(arrays)
        ptrs = (ctypes.POINTER(ctypes.c_uint8) * len(insns))(*[ctypes.cast(a, ctypes.POINTER(ctypes.c_uint8)) for a in arrays])
        lens = (ctypes.c_uint * len(insns))(*[2 * len(hws) for hws in insns])
        return self.lib.cm_tb_new(self.m, pc, len(insns), ptrs, lens)

    def run(self, tb, executed: int):
        """Starts `tb`; `executed` of its instructions will have run when the next block starts."""
        self.lib.cm_tb_exec(self.m, tb, self.insns)
        self.insns += executed

    def cycles(self, pc: int = 0) -> int:
        return self.lib.cm_cycles_at(self.m, pc, ctypes.byref(Categories()))

    def split(self) -> list[int]:
        cats = Categories()
        self.lib.cm_cycles_at(self.m, 0, ctypes.byref(cats))
        return list(cats)


def m4_params() -> dict[str, int]:
    return load_core_timing("cortex-m4").cycles


LDR_R0_R1, LDR_R6_R2, STR_R5_R4 = (0x6808,), (0x6816,), (0x6025,)
ADDS_R0_1, CMP_R0_0, NOP, NOP_W = (0x3001,), (0x2800,), (0xBF00,), (0xF3AF, 0x8000)
BEQ_PLUS4 = (0xD002,)  # beq to its pc + 4 + 4


def test_blocks_cut_anywhere_cost_the_same(lib, tmp_path):
    """QEMU may end a block anywhere (icount budget, page end): the pipelined LDR; LDR pair costs
    3 cycles whether or not the cut falls between them."""
    whole = Model(lib, m4_params(), tmp_path)
    whole.run(whole.block(0x100, LDR_R0_R1, LDR_R6_R2, ADDS_R0_1), 3)
    cut = Model(lib, m4_params(), tmp_path)
    cut.run(cut.block(0x100, LDR_R0_R1), 1)
    cut.run(cut.block(0x102, LDR_R6_R2, ADDS_R0_1), 2)
    assert whole.cycles() == cut.cycles() == 2 + 1 + 1


def test_block_aborted_by_an_io_access_is_charged_once(lib, tmp_path):
    """An MMIO store mid-block makes QEMU stop after it and run the rest as a new block: what was
    charged in advance for the rest is taken back."""
    aborted = Model(lib, m4_params(), tmp_path)
    aborted.run(aborted.block(0x100, STR_R5_R4, ADDS_R0_1, ADDS_R0_1), 1)  # only the store ran
    aborted.run(aborted.block(0x102, ADDS_R0_1, ADDS_R0_1), 2)
    whole = Model(lib, m4_params(), tmp_path)
    whole.run(whole.block(0x100, STR_R5_R4, ADDS_R0_1, ADDS_R0_1), 3)
    assert aborted.cycles() == whole.cycles() == 2 + 1 + 1


def test_marker_cycles_leave_out_the_rest_of_the_block(lib, tmp_path):
    model = Model(lib, m4_params(), tmp_path)
    model.run(model.block(0x100, ADDS_R0_1, STR_R5_R4, ADDS_R0_1, ADDS_R0_1), 4)
    assert model.cycles(0x102) == 1 + 2  # up to and including the store at 0x102
    assert model.cycles() == 1 + 2 + 1 + 1


@pytest.mark.parametrize("next_pc, penalty", [(0x10C, 2), (0x106, 0), (0x200, 0)],
                         ids=["taken", "not taken", "exception entry"])
def test_conditional_branch_settled_by_the_next_executed_pc(lib, tmp_path, next_pc, penalty):
    """BEQ at 0x104 targets 0x10C, falls through to 0x106; anything else (an interrupt handler)
    is neither, and charges no refill."""
    model = Model(lib, m4_params(), tmp_path)
    model.run(model.block(0x100, ADDS_R0_1, CMP_R0_0, BEQ_PLUS4), 3)
    model.run(model.block(next_pc, NOP), 1)
    assert model.cycles() == 3 + penalty + 1
    assert model.split()[2] == 1 + penalty  # the branch category: BEQ and its refill


def flash_params(**overrides) -> dict[str, int]:
    board = load_board("nucleo-l4r5zi")
    model = cycle_model_for(load_board("qemu-mps2-an386"), timing=board)
    params = model.params()
    params.update(flash_lo=0x08000000, flash_hi=0x08200000, **overrides)
    return params


def test_flash_sequential_code_runs_at_the_flash_read_rate(lib, tmp_path):
    """5 wait states, 64-bit reads, prefetch: after the first miss (5 stalls) each 8-byte block
    takes WS + 1 = 6 cycles to read, so two NOP.W per block stall 4, four NOPs stall 2."""
    wide = Model(lib, flash_params(), tmp_path)
    wide.run(wide.block(0x08001000, *[NOP_W] * 32), 32)
    assert wide.cycles() == 32 + 5 + 15 * 4
    narrow = Model(lib, flash_params(), tmp_path)
    narrow.run(narrow.block(0x08001000, *[NOP] * 32), 32)
    assert narrow.cycles() == 32 + 5 + 7 * 2
    assert narrow.split()[3] == 5 + 7 * 2  # all in the fetch category


def test_flash_instruction_cache_keeps_missed_lines_only(lib, tmp_path):
    """Run twice: the first block was a miss, so it is cached; the prefetched ones were not (the
    RM's rule) and stall again. Filling with prefetched lines too makes the rerun free."""
    for fill, rerun in ((0, 32 + 15 * 4), (1, 32)):
        model = Model(lib, flash_params(flash_cache_prefetched=fill), tmp_path)
        tb = model.block(0x08001000, *[NOP_W] * 32)
        model.run(tb, 32)
        first = model.cycles()
        model.run(tb, 32)
        assert model.cycles() - first == rerun


def test_flash_data_reads_go_through_the_data_cache(lib, tmp_path):
    model = Model(lib, flash_params(), tmp_path)
    tb = model.block(0x20000000, LDR_R0_R1)  # code in RAM: no fetch stalls
    model.run(tb, 1)
    ldr = lib.cm_tb_insn(tb, 0)
    base = model.cycles()
    for address, stall in ((0x08002000, 5), (0x08002004, 0), (0x08002008, 5), (0x08002000, 0), (0x20001000, 0)):
        before = model.cycles()
        lib.cm_mem_access(model.m, ldr, address, 4, False)
        assert model.cycles() - before == stall, hex(address)
    assert model.cycles() - base == 10


@pytest.mark.parametrize("unified", (0, 1))
def test_one_cache_for_fetch_and_data_lets_constants_evict_code(lib, tmp_path, unified):
    """cache_unified (the Cortex-M33's ICACHE on the STM32U5/L5): constant reads from flash take
    the instruction cache's ways, so code cached before them misses again. With a data cache of
    its own (unified 0) the code stays cached. One set of 2 ways of 8-byte blocks, no prefetch."""
    caches = dict(icache_sets=1, icache_ways=2, dcache_sets=0 if unified else 1, dcache_ways=0 if unified else 2)
    model = Model(lib, flash_params(flash_prefetch=0, cache_unified=unified, **caches), tmp_path)
    code_a, code_b = model.block(0x08001000, *[NOP] * 4), model.block(0x08001100, *[NOP] * 4)
    ram = model.block(0x20000000, LDR_R0_R1)
    ldr = lib.cm_tb_insn(ram, 0)
    for tb in (code_a, code_b):  # each a miss: 4 NOPs + 5 wait states; both now cached
        before = model.cycles()
        model.run(tb, 4)
        assert model.cycles() - before == 4 + 5
    model.run(ram, 1)
    for address in (0x08002000, 0x08002008):  # two constant blocks, each a miss
        before = model.cycles()
        lib.cm_mem_access(model.m, ldr, address, 4, False)
        assert model.cycles() - before == 5
    before = model.cycles()
    model.run(code_a, 4)
    assert model.cycles() - before == 4 + (5 if unified else 0)


def test_unaligned_accesses_pay_the_trm_penalties(lib, tmp_path):
    model = Model(lib, m4_params(), tmp_path)
    tb = model.block(0x100, LDR_R0_R1)
    model.run(tb, 1)
    ldr = lib.cm_tb_insn(tb, 0)
    for address, size, penalty in ((0x20000000, 4, 0), (0x20000002, 4, 1), (0x20000001, 4, 2), (0x20000003, 4, 2),
                                   (0x20000001, 2, 1)):
        before = model.cycles()
        lib.cm_mem_access(model.m, ldr, address, size, False)
        assert model.cycles() - before == penalty, (hex(address), size)


def test_zero_wait_flash_charges_no_fetch(lib, tmp_path):
    model = Model(lib, m4_params(), tmp_path)
    model.run(model.block(0x08001000, *[NOP_W] * 32), 32)
    assert model.cycles() == 32 and model.split()[3] == 0


def test_bad_parameter_file_is_one_clear_line(lib, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("cost.alu 1\ncost.teleport 3\n")
    err = ctypes.create_string_buffer(512)
    assert not lib.cm_model_from_file(str(path).encode(), err, len(err))
    assert err.value.decode() == f"{path}:2: unknown key or value out of range: cost.teleport 3"


# ---- the classifier against the assembler ---------------------------------------------------

CASES = [  # (assembly, kind, extra checks)
    ("adds r0, r1, r2", "alu", {"dst": 1 << 0}), ("add.w r0, r1, r2, lsl #2", "alu", {}), ("movw r0, #1234", "alu", {}),
    ("cmp r0, #3", "alu", {"dst": 0}), ("sel r0, r1, r2", "alu", {}), ("ssat r0, #8, r1", "alu", {}),
    ("sxtb16 r0, r1", "alu", {}), ("csel r0, r1, r2, eq", "alu", {}),
    ("mul r0, r1, r0", "mul", {}), ("smlad r0, r1, r2, r3", "mul", {}), ("smmlar r0, r1, r2, r3", "mul", {}),
    ("smull r0, r1, r2, r3", "mul_long", {"dst": 0b11}), ("smlal r0, r1, r2, r3", "mul_long", {}),
    ("sdiv r0, r1, r2", "div", {}), ("udiv r0, r1, r2", "div", {}),
    ("nop", "nop", {}), ("it eq; moveq r0, r1", "it", {"it_count": 1}),
    ("itte ne; movne r0, r1; movne r0, r1; moveq r0, r1", "it", {"it_count": 3}), ("wfi", "wait", {}),
    ("ldr r0, [r1]", "load", {"dst": 1, "addr": 1 << 1, "mem_bytes": 4}), ("ldr r0, [r1, r2]", "load", {"addr": 0b110}),
    ("ldrb.w r0, [r1, #-4]", "load", {"mem_bytes": 1}), ("ldrsh r0, [r1, r2]", "load", {"mem_bytes": 2}),
    ("ldr r0, [pc, #8]", "load", {"addr": 0}), ("ldrex r0, [r1]", "load", {}),
    ("str r0, [r1, #4]", "store", {"addr": 1 << 1}), ("strh.w r0, [r1, r2, lsl #1]", "store", {"mem_bytes": 2}),
    ("strex r0, r1, [r2]", "store", {}), ("ldrd r0, r1, [r2]", "load_dual", {"dst": 0b11}),
    ("strd r0, r1, [r2, #8]!", "store_dual", {}), ("ldmia r0!, {r1, r2, r3}", "load_multi", {"nregs": 3}),
    ("pop {r4, pc}", "load_multi", {"nregs": 2, "flags": TF_WRITES_PC}), ("push {r4, lr}", "store_multi", {"nregs": 2}),
    ("stmdb sp!, {r4-r11, lr}", "store_multi", {"nregs": 9}), ("ldr.w pc, [r0]", "load", {"flags": TF_WRITES_PC}),
    ("b.w .+100", "branch", {"target": +100}), ("bl .+100", "branch", {"target": +100, "dst": 1 << 14}),
    ("beq.w .+100", "branch_cond", {"target": +100, "flags": TF_COND}), ("bne .-20", "branch_cond", {"target": -20}),
    ("cbz r0, .+20", "cbz", {"target": +20, "flags": TF_COND}), ("bx lr", "branch_reg", {"flags": TF_WRITES_PC}),
    ("blx r3", "branch_reg", {}), ("mov pc, r0", "branch_reg", {"flags": TF_WRITES_PC}),
    ("tbb [r0, r1]", "table_branch", {}), ("tbh [r0, r1, lsl #1]", "table_branch", {}), ("pld [r0]", "preload", {}),
    ("dmb", "barrier", {}), ("mrs r0, primask", "sysreg", {}), ("cpsid i", "sysreg", {}),
    ("svc 1", "exception", {}), ("bkpt 0xab", "exception", {}),
    ("vadd.f32 s0, s1, s2", "fp_alu", {}), ("vcvt.s32.f32 s0, s0", "fp_alu", {}), ("vfma.f32 s0, s1, s2", "fp_mac", {}),
    ("vmla.f32 s0, s1, s2", "fp_mac", {}), ("vdiv.f32 s0, s1, s2", "fp_div", {}), ("vsqrt.f32 s0, s1", "fp_div", {}),
    ("vldr s0, [r0]", "fp_load", {"nregs": 1}), ("vstr d0, [r0]", "fp_store", {"nregs": 2}),
    ("vpush {s16-s19}", "fp_store_multi", {"nregs": 4}), ("vldmia r0!, {s0-s3}", "fp_load_multi", {"nregs": 4}),
    ("vmov r0, s0", "fp_mov_core", {"dst": 1}), ("vmrs APSR_nzcv, fpscr", "fp_mov_core", {}),
    ("vmov r0, r1, d0", "fp_mov_core2", {}),
    ("vldrb.u8 q0, [r1], #16", "mve_load_store", {"addr": 1 << 1}), ("vstrw.32 q0, [r1]", "mve_load_store", {}),
    ("vldrw.u32 q0, [q1, #8]", "mve_load_store", {}), ("vld20.8 {q0, q1}, [r0]", "mve_load_store", {}),
    ("vmlava.s8 r0, q0, q1", "mve_mul", {}), ("vmladav.s16 r0, q0, q1", "mve_mul", {}), ("vaddv.s32 r0, q0", "mve_mul", {}),
    ("vmul.i32 q0, q1, q2", "mve_mul", {}), ("vmul.i32 q0, q1, r2", "mve_mul", {}), ("vqrdmulh.s32 q0, q1, r2", "mve_mul", {}),
    ("vqrdmulh.s32 q0, q1, q2", "mve_mul", {}), ("vmulh.u32 q6, q6, q4", "mve_mul", {}), ("vmullb.s16 q0, q1, q2", "mve_mul", {}),
    ("vcmp.s32 gt, q0, q1", "mve_mul", {}), ("vfma.f32 q0, q1, q2", "mve_mul", {}),
    ("vadd.i32 q0, q1, q2", "mve_int", {}), ("vadd.i32 q0, q1, r2", "mve_int", {}), ("vqadd.s32 q0, q1, r1", "mve_int", {}),
    ("vrshl.s32 q0, r2", "mve_int", {}), ("vshr.s32 q0, q1, #3", "mve_int", {}), ("vmax.s32 q0, q1, q2", "mve_int", {}),
    ("vmaxv.s8 r0, q0", "mve_int", {}), ("vdup.32 q0, r1", "mve_int", {}), ("vmovnb.i32 q7, q6", "mve_int", {}),
    ("vmovlb.s8 q0, q1", "mve_int", {}), ("vpsel q0, q1, q2", "mve_int", {}), ("vbrsr.32 q0, q1, r2", "mve_int", {}),
    ("vpst; vaddt.i32 q0, q1, q2", "mve_sys", {}), ("vctp.8 r2", "mve_sys", {}),
    ("dls lr, r2", "loop_start", {}), ("wls lr, r2, .+20", "loop_start", {"target": +20, "flags": TF_COND}),
    ("le lr, .-20", "loop_end", {"target": -20, "flags": TF_COND}), ("letp lr, .-20", "loop_end", {"target": -20}),
]


def test_classifier_agrees_with_the_assembler(lib, tmp_path):
    require_tools("arm-none-eabi-as", "arm-none-eabi-objdump")
    source = "    .syntax unified\n    .thumb\n" + "".join(f"case{i}:\n" + "".join(f"    {part.strip()}\n" for part in asm.split(";"))
                      for i, (asm, _, _) in enumerate(CASES))
    (tmp_path / "cases.S").write_text(source)
    obj = tmp_path / "cases.o"
    subprocess.run(["arm-none-eabi-as", "-march=armv8.1-m.main+mve.fp+fp.dp+dsp", "-o", str(obj),
                    str(tmp_path / "cases.S")], check=True, capture_output=True)
    dump = subprocess.run(["arm-none-eabi-objdump", "-d", "-m", "armv8.1-m.main", str(obj)],
                          check=True, capture_output=True, text=True).stdout
    first: dict[int, tuple[int, bytes]] = {}
    case = None
    for line in dump.splitlines():
        label = re.match(r"^[0-9a-f]+ <case(\d+)>:", line)
        if label:
            case = int(label.group(1))
            continue
        insn = re.match(r"^\s*([0-9a-f]+):\s+([0-9a-f]{4})(?: ([0-9a-f]{4}))?\s", line)
        if insn and case is not None and case not in first:
            hws = [int(h, 16) for h in insn.groups()[1:] if h]
            first[case] = (int(insn.group(1), 16), b"".join(h.to_bytes(2, "little") for h in hws))
    assert len(first) == len(CASES)
    wrong = []
    for i, (asm, kind, checks) in enumerate(CASES):
        pc, data = first[i]
        out = Insn()
        lib.thumb_decode((ctypes.c_uint8 * 4)(*data.ljust(4, b"\0")), len(data), 0x1000 + pc, ctypes.byref(out))
        got = {"kind": lib.thumb_kind_name(out.kind).decode()}
        for key, want in checks.items():
            value = getattr(out, key)
            if key == "target":
                value -= 0x1000 + pc
            elif key == "flags":
                value &= want
            got[key] = value
        expected = {"kind": kind, **checks}
        if got != expected:
            wrong.append(f"{asm}: got {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)


# ---- the data files -------------------------------------------------------------------------


def test_core_files_give_every_value_with_a_source():
    for path in sorted(cm.CORES_DIR.glob("*.toml")):
        timing = load_core_timing(path.stem)
        assert set(timing.cycles) == {f"cost.{k}" for k in cm.KINDS} | set(cm.PIPELINE)
        assert all(timing.sources[key].strip() for key in timing.cycles)
    for board in ("qemu-mps2-an386", "qemu-mps3-an547"):
        assert load_core_timing(load_board(board).core).core == load_board(board).core


def test_python_and_c_agree_on_the_names():
    c_kinds = re.findall(r'\[K_\w+\] = "(\w+)"', (PLUGIN_DIR / "thumb_decode.c").read_text())
    assert tuple(c_kinds) == cm.KINDS
    c_fields = set(re.findall(r"FIELD(?:16|32)\((\w+)\),", (PLUGIN_DIR / "cycle_model.c").read_text()))
    assert set(cm.PIPELINE) < set(c_fields)
    assert set(c_fields) - set(cm.PIPELINE) == set(cycle_model_for(
        load_board("qemu-mps2-an386"), timing=load_board("nucleo-l4r5zi")).params()) - set(load_core_timing("cortex-m4").cycles)


@pytest.mark.parametrize("text, message", [
    ('core = "cortex-m4"\n[cost]\nalu = 1\n', "field 'cost.alu': must be { cycles = n, source = \"...\" }"),
    ('core = "cortex-m4"\n[cost]\nalu = { cycles = 1, source = "" }\n', "field 'cost.alu': source must name"),
    ('core = "cortex-m4"\n[cost]\nwarp = { cycles = 1, source = "x" }\n', "field 'cost.warp': unknown"),
    ('core = "cortex-m4"\n[pipeline]\nbranch_refill = { cycles = -1, source = "x" }\n', "cycles must be an integer"),
    ('core = "cortex-m4"\n', "no value for 'cost.alu'"),
    ('core = "cortex-m7"\n', "field 'core' is 'cortex-m7' but the file is named cortex-m4.toml"),
])
def test_bad_core_file_is_one_clear_line(tmp_path, text, message):
    (tmp_path / "cortex-m4.toml").write_text(text)
    with pytest.raises(CycleModelError) as info:
        load_core_timing("cortex-m4", tmp_path)
    assert message in str(info.value) and str(tmp_path / "cortex-m4.toml") in str(info.value)
    assert "\n" not in str(info.value)


def test_board_timing_is_validated(tmp_path):
    base = (Path(load_board("nucleo-l4r5zi").path)).read_text()
    path = tmp_path / "nucleo-l4r5zi.toml"
    path.write_text(base.replace("flash_dcache_ways = 4\n", ""))
    with pytest.raises(BoardError, match=r"field 'timing.flash_dcache_ways': is 0 with 8 lines"):
        parse_board(path)
    path.write_text(base.replace("flash_dcache_ways = 4\n", "flash_dcache_ways = 4\nflash_cache_unified = true\n"))
    with pytest.raises(BoardError, match=r"field 'timing.flash_cache_unified': is true: the one cache takes the "
                                         r"flash_icache_\* shape; give those and no flash_dcache_\*"):
        parse_board(path)
    path.write_text(base.replace('source = "RM0432', 'origin = "RM0432'))
    with pytest.raises(BoardError, match=r"field 'timing.source': is required"):
        parse_board(path)


def test_timing_needs_a_described_board_of_the_same_core():
    an386 = load_board("qemu-mps2-an386")
    with pytest.raises(CycleModelError, match="nucleo-h7a3zi-q has a cortex-m7"):
        cycle_model_for(an386, timing=load_board("nucleo-h7a3zi-q"))
    nrf = load_board("nrf52840-dk")  # a Cortex-M4 board without [timing]
    with pytest.raises(CycleModelError, match="nrf52840-dk has no \\[timing\\] table"):
        cycle_model_for(an386, timing=nrf)
    predicted = cycle_model_for(an386, timing=load_board("nucleo-l4r5zi"))
    assert predicted.clock_hz == 120_000_000 and predicted.params()["flash_wait_states"] == 5
    assert predicted.params()["flash_lo"] == an386.flash.base  # where the emulated firmware's code is
    assert predicted.seconds(120_000) == pytest.approx(1e-3)


def test_marker_log_reads_cycles_and_their_split(tmp_path):
    path = tmp_path / "marks.txt"
    path.write_text("4 0x1e 0x40028000\n100 0x20 0x40028000 180 60 40 30 10\n")
    plain, timed = MarkerLog(path).read_new()
    assert plain == MarkerStore(4, 0x1E, 0x40028000) and plain.cycles is None
    assert timed.cycles == 180 and timed.cycle_split == CycleSplit(60, 40, 30, 10, other=40)
    assert timed.cycle_split - CycleSplit(10, 10, 10, 0, 10) == CycleSplit(50, 30, 20, 10, 30)
