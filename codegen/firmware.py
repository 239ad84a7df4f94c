"""Render a complete PlatformIO firmware project for one board, one benchmark and one model.

The board file gives the memory map and drivers, the benchmark table gives the input
conversion and result printing, and the inference engine gives the model as C++. Everything
else is a Jinja2 template in templates/firmware/. The project carries its own copy of the
offline PlatformIO platform (offline_platform.py), so it builds wherever PlatformIO runs.

The model sources, the MLPerf Tiny API shim and the console formatter are shared with the SDK
export (export.py): `model_sources`, `render_api_shim` and `stamp_firmware_tag` serve both.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jinja2
import numpy as np

import tinyrig
from tinyrig.benchmarks import Benchmark
from tinyrig.boards import Board
from tinyrig.boards.drivers import uses_fault_record
from tinyrig.codegen.audio_emit import audio_frontend_files
from tinyrig.codegen.audio_frontend import SPEC
from tinyrig.codegen.emit import with_layers_in_ram
from tinyrig.codegen.engine import CompiledModel, compile_model
from tinyrig.codegen.offline_platform import BUNDLE_DIR, bundle_offline_platform, bundled_platform
from tinyrig.codegen.tflite_reader import read_model_bytes

MANIFEST_NAME = "tinyrig.json"
STACK_BYTES = 8 * 1024
# RAM the harness takes beyond the model's arena, scratch and constants, the main stack and the
# buffers harness_ram_bytes counts (console, command line, drivers, libc): 236 B or less in every
# reference build on qemu-mps2-an386 (kws01's link: 36,340 B = 16,000 arena + 11,440 scratch + 8,192
# stack + 490 input + 218). Kept 17 times over, as harness_ram_bytes is a prediction for an MCU the
# emulated link cannot check (prepare_firmware falls back to flash should an MCU's own link overflow).
HARNESS_OTHER_RAM_BYTES = 4 * 1024
# The streaming wakeword's audio front end and hop buffers beside its activation log (sww01's link on
# nucleo-l4r5zi: 58,864 B of harness, 40,000 of them the log), with the same kind of margin.
STREAMING_OTHER_RAM_BYTES = 32 * 1024
# The streaming firmware's buffer sizes that do not depend on the model (sww_config.h): hops its
# audio ring holds and activations its log keeps.
STREAMING_BUFFERS = {"ring_hops": 4, "activation_log": 40000}
README_NAME = "README.md"
# A generated project is meant to be committed: its build output is not.
GITIGNORE = ".pio/\n.pio-*.log\n"
# pyOCD's GDB server port, as the offline platform's builder (`-t gdbserver`) uses it too.
GDB_PORT = 3333
TAG_PLACEHOLDER = "@FIRMWARE_TAG@"

# The MLPerf Tiny API shim (protocol parser, th_* calls) and th_printf: template -> output path.
# They talk to the board only through board.h, so an SDK export renders them unchanged over its
# own board.h, which maps those calls onto a vendor's port.
API_SHIM_SOURCES = {
    "src/console.c": "src/console.c",
    "src/api/internally_implemented.h": "src/api/internally_implemented.h",
    "src/api/internally_implemented.cpp": "src/api/internally_implemented.cpp",
    "src/api/submitter_implemented.h.j2": "src/api/submitter_implemented.h",
    "src/api/submitter_implemented.cpp.j2": "src/api/submitter_implemented.cpp",
}


def _templates_dir() -> Path:
    # Installed, the templates are the package tinyrig.templates; in a source tree, templates/.
    from tinyrig import templates

    return Path(templates.__file__).resolve().parent / "firmware"


@dataclass
class FirmwareProject:
    """A rendered project: where it is and what went into it."""

    directory: Path
    board: str
    benchmark: str
    model_sha256: str
    source_sha256: str
    arena_bytes: int
    arena_lower_bound: int
    total_macs: int
    weight_bytes: int
    # The board file the project was rendered from, so `tinyrig build --project` finds a user's own again.
    board_file: str = ""
    # The model's constants are copied to RAM at reset (place_constants), not read from flash: all of
    # them, or where not all fit the layers' in ram_constant_layers (constant_bytes_in_ram of weight_bytes).
    constants_in_ram: bool = False
    ram_constant_layers: list[int] = field(default_factory=list)
    constant_bytes_in_ram: int = 0
    tinyrig_version: str = tinyrig.__version__
    files: list[str] = field(default_factory=list)

    def manifest(self) -> dict:
        data = asdict(self)
        data["directory"] = str(self.directory)
        return data

    @classmethod
    def load(cls, directory: Path) -> "FirmwareProject":
        data = json.loads((Path(directory) / MANIFEST_NAME).read_text())
        data["directory"] = Path(directory)
        # A project moved to another machine keeps its board file in .tinyrig/.
        board_copy = Path(directory) / board_copy_path(data["board"])
        if not Path(data.get("board_file") or "").is_file() and board_copy.is_file():
            data["board_file"] = str(board_copy)
        return cls(**data)


def board_copy_path(board_name: str) -> str:
    """Where a project keeps its board file (named as the board, as board files must be)."""
    return f"{BUNDLE_DIR}/{board_name}.toml"


def template_environment(directory: Path | None = None) -> jinja2.Environment:
    """The Jinja2 set-up every generated source is rendered with (templates/firmware by default)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory or _templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _board_sources(board: Board) -> dict[str, str]:
    """Template -> output path for the board layer, one driver per peripheral family."""
    sources = {
        "src/board.h.j2": "src/board.h",
        "src/startup.c.j2": "src/startup.c",
        f"drivers/clock_{board.clock_driver}.c.j2": "src/clock.c",
        f"drivers/uart_{board.console.driver}.c.j2": "src/uart.c",
        f"drivers/timer_{board.timer.driver}.c.j2": "src/timer.c",
        f"drivers/pin_{board.timestamp_pin.driver}.c.j2": "src/timestamp_pin.c",
        "drivers/exit.c.j2": "src/exit.c",
        "src/semihosting.c.j2": "src/semihosting.c",
        "src/main.cpp": "src/main.cpp",
        "linker.ld.j2": "linker.ld",
    }
    if uses_fault_record(board):
        # Only boards whose drivers wait on hardware flags get these (the emulated images stay as they were).
        sources["drivers/faults.h.j2"] = "src/board_faults.h"
        sources["drivers/faults.c.j2"] = "src/board_faults.c"
    return sources


def db_buffer_region(board: Board, benchmark: Benchmark) -> str:
    """The further RAM region (memory.extra) that holds the buffer the host fills with `db load`
    (MAX_DB_INPUT_SIZE bytes), or "" for the main RAM: the first region large enough. The buffer
    is written before it is read, so a region neither copied nor zeroed at reset suits it, and it
    frees the main RAM for the model: vww01's 27,648 B on b-l475e-iot01a, whose 96 KiB SRAM1 could
    not hold vww01 otherwise (101,364 B with it)."""
    return next((region.name for region in board.extra_ram if region.size >= benchmark.input_bytes), "")


def harness_ram_bytes(benchmark: Benchmark, compiled: CompiledModel, board: Board | None = None) -> int:
    """Main RAM the firmware takes besides the model and the main stack, from what sizes the API shim's
    buffers (templates/firmware/src/api): the input the host fills with `db` (MAX_DB_INPUT_SIZE; in a
    further region of `board` where db_buffer_region finds one), for float inputs also the features
    kept as sent and their quantised copy; for the streaming wakeword its activation log and audio
    front end; HARNESS_OTHER_RAM_BYTES for the rest."""
    in_main = board is None or not db_buffer_region(board, benchmark)
    ram = (benchmark.input_bytes if in_main else 0) + HARNESS_OTHER_RAM_BYTES
    if benchmark.conversion == "float32_quantize":
        ram += compiled.input.elements * 4 + compiled.input.elements  # g_features, g_staged
    if benchmark.streaming:
        ram += STREAMING_BUFFERS["activation_log"] + STREAMING_OTHER_RAM_BYTES
    return ram


@dataclass(frozen=True)
class ConstantsPlacement:
    """Where the model's constants go (place_constants): flash, all of them in RAM (the build flag
    TINYRIG_CONSTANTS_IN_RAM), or the constants of some layers in RAM (marked in the model source)."""

    every_layer: bool = False
    layers: tuple[int, ...] = ()  # when not every layer: those whose constants are in RAM
    bytes_in_ram: int = 0

    @property
    def partial(self) -> bool:
        return bool(self.layers) and not self.every_layer


IN_FLASH = ConstantsPlacement()


def place_constants(board: Board, compiled: CompiledModel, benchmark: Benchmark,
                    code_for: Board | None = None) -> ConstantsPlacement:
    """Where the firmware keeps the model's constants. The board it is built for (`code_for`, else
    `board`) must have flash wait states and want them in RAM ([timing] constants_in_ram); then they
    are copied to RAM at reset (.data) as far as they fit beside the arena, the scratch, the stack
    and the harness's buffers (harness_ram_bytes) in the RAM of both boards: all of them, or else
    layer by layer, those that would wait on flash most often per byte first (flash_misses_per_byte), skipping a
    layer that no longer fits for smaller ones after it.

    Why: the kernels read every weight once per run of output pixels. Behind a small flash data
    cache (nucleo-l4r5zi: 256 B, 5 wait states at 120 MHz) nearly every one of those reads stalls,
    which the cycle model puts at about 15% of kws01's time on that board; SRAM reads have no wait
    state. The cost is RAM (the constants' bytes) and nothing per inference: the C startup copies
    them before main. Flash is unchanged (the copy's source is the .data image)."""
    mcu = code_for or board
    if not mcu.wants_constants_in_ram:
        return IN_FLASH
    room = min(b.ram.size - ram_besides_constants(compiled, benchmark, b) for b in (board, mcu))
    if compiled.weight_bytes <= room:
        return ConstantsPlacement(every_layer=True, bytes_in_ram=compiled.weight_bytes)
    chosen, taken = [], 0
    with_constants = [layer for layer in compiled.layers if layer.param_bytes]
    for layer in sorted(with_constants, key=lambda layer: (-flash_misses_per_byte(layer), layer.index)):
        if taken + layer.param_bytes + PARAMS_BLOCK_BYTES <= room:
            chosen.append(layer)
            taken += layer.param_bytes + PARAMS_BLOCK_BYTES
    if not chosen:
        return IN_FLASH
    return ConstantsPlacement(layers=tuple(sorted(layer.index for layer in chosen)),
                              bytes_in_ram=sum(layer.param_bytes for layer in chosen))


# A layer's parameter block moves with its arrays; they are a few dozen words (counted generously).
PARAMS_BLOCK_BYTES = 256


def flash_misses_per_byte(layer) -> float:
    """How often an inference would wait on flash per byte of a layer's constants behind a small data
    cache (nucleo-l4r5zi's and b-l475e-iot01a's: 256 B in 64-bit lines), up to a factor all layers share.
    A layer with MACs reads its weights in order once per run of 3 output pixels (MACs / 3 bytes), a
    flash line serving 8 of them: MACs / 24. A layer without (ADD's rescaling tables) reads one word per
    input at an index the data picks, nearly always another line: 2 per output element. ic01 on
    b-l475e-iot01a, cycle model: each ADD's 2 KB of tables cost 29,000 to 66,000 stall cycles in flash,
    more than the 1x1 shortcut's 2.9 KB of weights."""
    elements = 1
    for dim in (layer.output_shapes[0] if layer.output_shapes else ()):
        elements *= dim
    reads = layer.macs / 24 if layer.macs else 2 * elements
    return reads / layer.param_bytes


def ram_besides_constants(compiled: CompiledModel, benchmark: Benchmark, board: Board | None = None) -> int:
    """The main RAM the firmware takes on `board` besides the model's constants: arena, scratch, stack
    and harness."""
    return compiled.arena_bytes + compiled.scratch_bytes + STACK_BYTES + harness_ram_bytes(benchmark, compiled, board)


def ram_needed_with_constants(compiled: CompiledModel, benchmark: Benchmark, board: Board | None = None) -> int:
    """The main RAM all constants in RAM ask of `board`."""
    return compiled.weight_bytes + ram_besides_constants(compiled, benchmark, board)


# The conv runs unroll 8 units a pass instead of 16 below this flash instruction cache size
# (tinyrig_dsp_common.h TINYRIG_SMALL_FLASH_ICACHE, TINYRIG_FLASH_ICACHE_BYTES < 4096): a 16-unit run
# is 1.5 KB of code.
SMALL_ICACHE_BYTES = 4096


def loop_cache_bytes(board: Board) -> int:
    """The flash instruction cache the kernels' unrolled loops are sized for on `board`: its size when
    the cache is small enough to shape them (below SMALL_ICACHE_BYTES: nucleo-l4r5zi's and
    b-l475e-iot01a's 1 KB ART cache), else 0 (no cache, no wait states, or one that holds the 16-unit
    runs: the STM32U5/L5's 8 KB ICACHE)."""
    icache = board.flash_icache_bytes
    return icache if icache < SMALL_ICACHE_BYTES else 0


def _board_context(board: Board, code_for: Board | None = None, constants_to_ram: bool = False) -> dict:
    icache = loop_cache_bytes(code_for or board)  # whose flash cache the kernels' loops are sized for
    flags = f" -DTINYRIG_FLASH_ICACHE_BYTES={icache}" if icache else ""
    if constants_to_ram:
        flags += " -DTINYRIG_CONSTANTS_IN_RAM=1"
    return {
        "board": board,
        "version": tinyrig.__version__,
        "stack_bytes": STACK_BYTES,
        "pio_board_id": pio_board_id(board),
        "uses_fault_record": uses_fault_record(board),
        # Appended to both build_flags lines of platformio.ini (tinyrig's and the vendor's).
        "kernel_build_flags": flags,
    }


def render_drivers(board: Board) -> dict[str, str]:
    """The board's driver sources alone (clock, UART, timer, pin, fault record, linker script), without a
    model: what tests compile and check register by register."""
    env = template_environment()
    context = _board_context(board)
    return {rel: env.get_template(template).render(context)
            for template, rel in _board_sources(board).items()
            if template.startswith("drivers/") or template == "linker.ld.j2"}


def _streaming_sources(board: Board) -> dict[str, str]:
    """Template -> output path for the streaming wakeword's audio input, engine and commands."""
    return {
        "drivers/stream_pins.c.j2": "src/stream_pins.c",
        "src/sww/sww_config.h.j2": "src/sww/sww_config.h",
        "src/sww/audio_ring.h": "src/sww/audio_ring.h",
        "src/sww/audio_source.h": "src/sww/audio_source.h",
        "src/sww/audio_source.c.j2": "src/sww/audio_source.c",
        "src/sww/sww_stream.h": "src/sww/sww_stream.h",
        "src/sww/sww_stream.cpp": "src/sww/sww_stream.cpp",
        "src/sww/sww_commands.h": "src/sww/sww_commands.h",
        "src/sww/sww_commands.cpp": "src/sww/sww_commands.cpp",
    }


# The reference DUT's detection: output[0] > 115 in the reference model's output quantization
# (scale 1/256, zero point -128), a wakeword probability above 243/256.
REFERENCE_DETECT_PROBABILITY = (115 + 128) / 256


def streaming_settings(board: Board, compiled: CompiledModel) -> dict:
    """What the streaming wakeword templates need from the model and the board."""
    if board.is_emulated and board.timer.driver != "systick":
        raise ValueError(f"board {board.name}: the emulated audio clock needs timer.driver = systick")
    if compiled.output.dtype != "int8":
        raise ValueError("the streaming wakeword detection reads an int8 model output")
    out = compiled.output
    threshold = int(np.floor(REFERENCE_DETECT_PROBABILITY / out.scale + out.zero_point + 1e-6))
    frames = compiled.input.elements // SPEC.mel_bins
    if frames * SPEC.mel_bins != compiled.input.elements:
        raise ValueError(f"model input {list(compiled.input.shape)} is not frames of {SPEC.mel_bins} features")
    return {"frames": frames, "detect_threshold": max(-128, min(127, threshold)),
            "detect_probability": REFERENCE_DETECT_PROBABILITY, **STREAMING_BUFFERS}


def pio_board_id(board: Board) -> str:
    return "tinyrig-" + board.name


def check_benchmark_fits_model(benchmark: Benchmark, compiled: CompiledModel) -> None:
    """The host sends `benchmark.input_bytes`; the model must take exactly that input."""
    elements = 1
    for dim in compiled.input.shape:
        elements *= dim
    expected = elements * (4 if benchmark.conversion == "float32_quantize" else 1)
    if expected != benchmark.input_bytes:
        raise ValueError(
            f"model input {list(compiled.input.shape)} ({compiled.input.dtype}) does not take the "
            f"{benchmark.input_bytes} bytes the host sends for {benchmark.id}"
        )


def model_sources(compiled: CompiledModel) -> dict[str, str]:
    """The compiled model (weights, generated invoke, the core's kernels) under src/model/."""
    return {f"src/model/{rel}": text for rel, text in compiled.files.items()}


def render_api_shim(env: jinja2.Environment, context: dict) -> dict[str, str]:
    """The API shim and console sources for `context` (board or port, benchmark, version, firmware_tag)."""
    return {rel: env.get_template(template).render(context) for template, rel in API_SHIM_SOURCES.items()}


def stamp_firmware_tag(files: dict[str, str]) -> str:
    """Hashes the sources and writes the first 12 hex digits over the tag placeholder, in place.

    The tag names exactly these sources: the same board, model and tinyrig give the same tag on any
    machine. Files that do not shape the image (platformio.ini, README) are added afterwards."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + files[rel].encode() + b"\0")
    source_sha256 = digest.hexdigest()
    for rel in files:
        files[rel] = files[rel].replace(TAG_PLACEHOLDER, source_sha256[:12])
    return source_sha256


def write_files(out_dir: Path, files: dict[str, str]) -> None:
    """Writes `files` under `out_dir`, first removing src/ so stale model or driver files never linger."""
    out_dir = Path(out_dir)
    if (out_dir / "src").exists():
        shutil.rmtree(out_dir / "src")
    for rel, text in files.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def render_project(board: Board, benchmark: Benchmark, model: Path | bytes, out_dir: Path,
                   kernels: str | None = None, code_for: Board | None = None,
                   constants_may_move: bool = True) -> FirmwareProject:
    """Write the PlatformIO project for `benchmark` on `board` into `out_dir`.

    `kernels` picks the kernel family by core name instead of the board's core; "reference"
    builds the portable kernels (benchmarks/kernels.py compares the two). `code_for` (a board of
    the same core) sizes the kernels' unrolled loops for that board's flash instruction cache
    instead of `board`'s, and places the model's constants as that board would (place_constants): what
    `tinyrig run --predict` times. `constants_may_move` False keeps them in flash whatever the board
    wants (prepare_firmware, after a link that did not fit)."""
    model_bytes = model if isinstance(model, (bytes, bytearray)) else read_model_bytes(model)
    compiled = compile_model(Path(model) if isinstance(model, (str, Path)) else bytes(model_bytes),
                             core=kernels or board.core)
    check_benchmark_fits_model(benchmark, compiled)

    placement = place_constants(board, compiled, benchmark, code_for) if constants_may_move else IN_FLASH
    files = model_sources(compiled)
    if placement.partial:
        files["src/model/tinyrig_model.cc"] = with_layers_in_ram(files["src/model/tinyrig_model.cc"],
                                                                 set(placement.layers))
    env = template_environment()
    bundle = bundled_platform()
    context = {
        **_board_context(board, code_for, placement.every_layer),
        "benchmark": benchmark,
        "db_buffer_region": db_buffer_region(board, benchmark),
        "platform_dir": bundle.platform,
        "scons_dir": bundle.scons,
        "gdb_port": GDB_PORT,
        "firmware_tag": TAG_PLACEHOLDER,
    }
    sources = _board_sources(board)
    if benchmark.streaming:
        context["sww"] = streaming_settings(board, compiled)
        sources.update(_streaming_sources(board))
        for rel, text in audio_frontend_files(compiled.input.scale, compiled.input.zero_point).items():
            files[f"src/audio/{rel}"] = text
    for template, rel in sources.items():
        files[rel] = env.get_template(template).render(context)
    files.update(render_api_shim(env, context))
    files[f"boards/{pio_board_id(board)}.json"] = env.get_template("boards/board.json.j2").render(context)

    # platformio.ini and the README are left out of the tag: they do not change the image.
    source_sha256 = stamp_firmware_tag(files)
    files["platformio.ini"] = env.get_template("platformio.ini.j2").render(context)
    board_copy = board_copy_path(board.name) if board.path and Path(board.path).is_file() else ""
    files[README_NAME] = env.get_template("README.md.j2").render(
        context, compiled=compiled, board_copy=board_copy, model_sha256=hashlib.sha256(model_bytes).hexdigest(),
        firmware_tag=source_sha256[:12])
    files[".gitignore"] = GITIGNORE

    out_dir = Path(out_dir)
    # The manifest is written last and says the project is whole: a render over an older project
    # that stops half-way (Ctrl-C, a full disk) must not leave the old manifest vouching for the new,
    # partial sources, or the firmware cache would build them as the old project from then on.
    (out_dir / MANIFEST_NAME).unlink(missing_ok=True)
    write_files(out_dir, files)
    bundle_offline_platform(out_dir)
    if board_copy:
        # The board file's comments say where each fact came from; the README points here.
        shutil.copyfile(board.path, out_dir / board_copy)

    project = FirmwareProject(
        directory=out_dir,
        board=board.name,
        benchmark=benchmark.id,
        model_sha256=hashlib.sha256(model_bytes).hexdigest(),
        source_sha256=source_sha256,
        arena_bytes=compiled.arena_bytes,
        arena_lower_bound=compiled.arena_lower_bound,
        total_macs=compiled.total_macs,
        weight_bytes=compiled.weight_bytes,
        board_file=str(board.path.resolve()) if board.path else "",
        constants_in_ram=placement.every_layer,
        ram_constant_layers=list(placement.layers),
        constant_bytes_in_ram=placement.bytes_in_ram,
        files=sorted([*files, *filter(None, [board_copy])]),
    )
    (out_dir / MANIFEST_NAME).write_text(json.dumps(project.manifest(), indent=2) + "\n")
    return project
