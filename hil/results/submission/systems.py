"""A submission's `systems/<system>.json` (the hardware and software stack, in the fields the
published results tables read) and, with energy results, `systems/Energy-Hookup.md`, made from
the board file and what the sessions recorded (toolchain, tinyrig version and revision, the
power set-up)."""

from __future__ import annotations

from tinyrig.boards import Board
from tinyrig.hil.results.schema import SessionResults

CORE_NAMES = {"cortex-m0": "Arm Cortex-M0", "cortex-m0plus": "Arm Cortex-M0+", "cortex-m3": "Arm Cortex-M3",
              "cortex-m4": "Arm Cortex-M4", "cortex-m7": "Arm Cortex-M7", "cortex-m33": "Arm Cortex-M33",
              "cortex-m55": "Arm Cortex-M55", "cortex-m85": "Arm Cortex-M85"}


def _kib(size: int) -> str:
    return f"{size // 1024} KiB" if size < 1024 * 1024 else f"{size / (1024 * 1024):g} MiB"


def _one(values: set, what: str) -> str:
    values.discard(None)
    return ", ".join(sorted(values)) if values else f"(no {what} recorded)"


def system_description(board: Board, sessions: list[SessionResults], *, organization: str, division: str,
                       status: str) -> dict[str, str]:
    """The system description JSON of the checker's systems folder."""
    core = CORE_NAMES.get(board.core, board.core)
    fpu = f" with FPU ({board.fpu})" if board.fpu != "none" else ""
    versions = _one({s.tinyrig_version for s in sessions}, "version")
    revisions = _one({s.git_revision[:12] if s.git_revision else None for s in sessions}, "git revision")
    dirty = any(s.git_dirty for s in sessions)
    return {
        "Submitter": organization,
        "Division": division.capitalize(),
        "Status": {"available": "Available", "preview": "Preview", "rdi": "RDI"}[status],
        "Board Name": board.description.split(":")[0].strip() or board.name,
        "SoC Name": board.description,
        "Processor(s) Name": core + fpu,
        "Processor(s) Frequencies": f"{board.clock_hz / 1e6:g} MHz",
        "Processor memory type and capacity": f"{_kib(board.ram.size)} SRAM",
        "Processor storage type and capacity": f"{_kib(board.flash.size)} flash",
        "Accelerator": "",
        "Accelerator(s) Frequencies": "",
        "Accelerator memory type and capacity": "",
        "Hardware Notes": f"tinyrig board file {board.name}",
        "Inference Framework": f"tinyrig {versions}: the model compiled ahead of time to C++, bit-exact with "
                               "TensorFlow Lite Micro's reference kernels",
        "Software Libraries": "tinyrig kernels (no vendor HAL, no CMSIS-NN)",
        "Operating System": "none (bare metal)",
        "ML Model Compiler(s)": f"tinyrig codegen {versions}",
        "General Compiler(s)": _one({s.compiler for s in sessions}, "compiler"),
        "Quantization Method": "the MLPerf Tiny reference int8 models, unchanged",
        "Software Notes": f"tinyrig git revision {revisions}" + (" (with uncommitted changes)" if dirty else ""),
    }


def energy_hookup(board: Board, sessions: list[SessionResults]) -> str | None:
    """A text description of how energy was measured, for the energy results (None without any)."""
    lines = []
    for s in sessions:
        for bid, entry in s.benchmarks.items():
            if entry.energy is None or entry.status != "complete":
                continue
            if entry.energy.power_monitor:
                lines.append(f"- {bid}: power monitor `{entry.energy.power_monitor}` supplying the board at "
                             f"{entry.energy.supply_v:g} V; the window is between the last two falling edges of "
                             f"the timestamp pin, as the runner takes it.")
            else:
                model = entry.energy.power_model
                lines.append(f"- {bid}: EMULATED: {entry.energy.clock_model}; power model "
                             f"{model.supply_v if model else '?'} V ({model.source if model else '?'}). "
                             "Not a measurement.")
    if not lines:
        return None
    return "\n".join([f"# Energy set-up: {board.name}", "",
                      "Measured with tinyrig's energy mode (the energy-mode firmware, timestamp pin idle high, "
                      "pulsed low at each `timestamp`).", "", *lines, ""])
