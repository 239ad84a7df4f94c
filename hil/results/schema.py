"""results.json as typed, versioned models: the one way results are written and read.

A session's results.json is a `SessionResults`: the run's facts and options, and per benchmark
a `BenchmarkEntry` holding what each stage recorded (firmware, DUT identity) and what its mode
measured (performance windows, accuracy files, energy windows) with their summaries.

Every reader goes through `read_results` / `parse_results`, which migrate older schema versions
(`migrate.py`) and validate: a file of the wrong shape gives one line naming the file, the first
field at fault and what was wrong with it. Writers build the models and `Session.save()` dumps
them. Floats that are not finite are written as JSON's NaN/Infinity constants (as Python's json
module does), so a window that measured nothing round-trips.

Version history:
  1  the untyped dicts (tinyrig 0.1.0 sessions);
  2  the same content, typed; accuracy summaries gain the runner's `Top 1%` and `AUC`
     (`runner_top1_percent`, `runner_auc`: what results.txt prints), energy summaries a `valid`
     flag, entries the hardware window-length `calibration` and the `emulator` that ran them,
     windows and summaries the cycle model's estimates, streaming (sww01) records, and options `infer_timeout_s`,
     `io_manager`, `cycles` and `predict`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, NonNegativeFloat, NonNegativeInt, Tag, ValidationError

SCHEMA_VERSION = 2
RESULTS_FILE = "results.json"


class ResultsFileError(ValueError):
    """A results file (or document) that is missing, unreadable, of an unknown version or of the wrong shape."""


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants", protected_namespaces=())


# -- what the build and the handshake record ---------------------------------------------------------

class FirmwareRecord(Record):
    source_sha256: str
    model_sha256: str
    elf: str
    env: str | None = None  # sessions before energy builds existed did not say
    flash_bytes: int
    ram_bytes: int
    flash_capacity: int
    ram_capacity: int
    sections: dict[str, int]
    arena_bytes: int
    arena_lower_bound: int
    weight_bytes: int
    total_macs: int


class DutIdentity(Record):
    name: str
    firmware: str
    model: str


class EmulatorInfo(Record):
    """Which emulator ran the firmware, where it tells (Renode: its version and platform file)."""

    emulator: str
    version: str | None = None
    binary: str | None = None
    platform: str | None = None
    notes: list[str] = []


class PredictionRecord(Record):
    """`--predict BOARD`: one inference timed as that MCU by the cycle model (estimated, not measured)."""

    board: str
    clock_hz: int
    flash_wait_states: int
    cycles: NonNegativeInt
    zero_wait_cycles: NonNegativeInt
    fetch_stall_cycles: NonNegativeInt
    cycle_model: str
    latency_ms: NonNegativeFloat
    zero_wait_latency_ms: NonNegativeFloat
    other_reading: str | None = None  # e.g. "prefetched lines not cached": the board's other cache reading
    other_reading_cycles: int | None = None
    other_reading_latency_ms: float | None = None
    code_for: str | None = None  # the timed firmware was built as this board would build it (its own build)
    loops_sized_for_cache: bool | None = None  # ... with its loops sized for the board's flash cache (None: older)
    constants_in_ram: bool = False  # that firmware keeps the model's constants in RAM (copied at reset)
    ram_constant_layers: list[int] | None = None  # or, not all fitting, those of these layers
    constant_bytes_in_ram: int | None = None  # ... of constant_bytes, the model's in all
    constant_bytes: int | None = None
    ram_bytes: int | None = None  # the timed firmware's main RAM (constants included) and flash, as linked for
    flash_bytes: int | None = None  # the emulated board, less the `db load` buffer the MCU keeps in a further
    # RAM region if it has one (older records: RAM only, and only for its own build)
    ram_capacity: int | None = None  # the MCU's RAM and flash: larger images cannot run there
    flash_capacity: int | None = None


class WindowCalibration(Record):
    """On hardware: one window measured with the runner's N to raise N until windows last >= 10 s."""

    iterations: int  # N the trial window ran (the runner's default)
    warmup: int
    window_s: float  # what that window lasted on the device
    scaled_iterations: int  # N every recorded window then ran
    min_window_s: float


# -- performance -----------------------------------------------------------------------------------

class PerformanceWindow(Record):
    index: int
    input: str
    iterations: int
    warmup: int
    lap_us: list[int]  # the window's start and end `m-lap-us`
    latency_us: float
    # Counts, never negative: a file that says otherwise is refused when read (compare would print
    # absurd ratios from it).
    ticks: NonNegativeInt | None = None
    timer_hz: int | None = None
    instructions: NonNegativeFloat | None = None  # per inference, emulation only
    instructions_source: Literal["markers", "timer"] | None = None
    estimated_cycles: NonNegativeFloat | None = None  # per inference, QEMU with a cycle model
    cycle_split: dict[str, float] | None = None  # per inference: load_store, multiply, branch, fetch, other
    scores: list[str] = []
    expected_scores: list[str] | None = None
    bit_exact: bool | None = None  # raw output bytes equal the reference's
    wall_s: float = 0.0

    @property
    def window_s(self) -> float:
        return self.latency_us * self.iterations / 1e6

    @property
    def elapsed_us(self) -> int:
        """The window as the runner reads it: last minus first `m-lap-us`."""
        return self.lap_us[-1] - self.lap_us[0]

    @property
    def throughput(self) -> float:
        """Inferences per second as the runner computes it (0 for an empty window, as there)."""
        seconds = self.elapsed_us / 1_000_000
        return self.iterations / seconds if self.elapsed_us > 0 else 0


class PerformanceValidity(Record):
    five_windows: bool
    each_window_at_least_10s: bool
    each_window_at_least_10_inferences: bool


class PerformanceSummary(Record):
    windows: int
    median_latency_us: float
    throughput_ips: float
    median_instructions: NonNegativeFloat | None = None
    instructions_per_mac: NonNegativeFloat | None = None
    valid: bool
    validity: PerformanceValidity
    scores_match_reference: bool | None = None
    # With a cycle model (docs/cycle-model.md): estimated, not measured.
    median_estimated_cycles: NonNegativeFloat | None = None
    estimated_cycles_per_mac: NonNegativeFloat | None = None
    estimated_latency_us: NonNegativeFloat | None = None  # median estimated cycles at `estimated_clock_hz`
    estimated_clock_hz: int | None = None
    cycle_model: str | None = None  # whose timing, e.g. "cortex-m4 timed as qemu-mps2-an386 at 25 MHz, 0 wait states"


# -- accuracy --------------------------------------------------------------------------------------

class AccuracyFile(Record):
    index: int
    file: str
    label: int
    windows: int
    score: list[float]  # the mean over the file's inferences (ad01: the reconstruction error)
    predicted: int | None = None  # argmax class (classifiers)
    bit_exact: int = 0  # inferences whose output equals the reference
    checked: int = 0  # inferences checked against the reference


class AccuracySummary(Record):
    files: int
    inputs: int
    top1: float | None = None  # fraction of files whose argmax is the label (classifiers)
    confusion: list[list[int]] | None = None
    auc: float | None = None  # ad01's figure: ROC area of the per-file mean error
    # What the MLPerf Tiny runner prints for every benchmark (runner_metrics.py): its `Top 1%`
    # (ad01: its best threshold score) and its `AUC` (classifiers: one-vs-rest).
    runner_top1_percent: float | None = None
    runner_auc: float | None = None
    bit_exact: int = 0
    checked: int = 0
    meets_target: bool | None = None
    auc_note: str | None = None  # why there is no AUC (one class only)
    class_names: list[str] | None = None  # the confusion matrix's rows and columns


class AccuracyRecord(Record):
    files: list[AccuracyFile] = []
    dataset: str | None = None
    summary: AccuracySummary | None = None


class AccuracyHeadline(Record):
    """An accuracy entry's `summary`: the figures tables and history show."""

    accuracy: float | None = None  # top-1 fraction
    auc: float | None = None
    bit_exact: int = 0
    checked: int = 0
    files: int
    inputs: int
    meets_target: bool | None = None
    auc_note: str | None = None


# -- energy ----------------------------------------------------------------------------------------

class EnergyWindow(Record):
    index: int
    input: str
    iterations: int
    warmup: int
    window_s: float
    energy_j: float
    energy_per_inference_j: float
    latency_s: float
    average_power_w: float
    trace_csv: str  # relative to the session folder
    trace_png: str
    scores: list[str] = []
    wall_s: float = 0.0


class EnergyValidity(Record):
    five_windows: bool
    each_window_at_least_10s: bool
    required_windows: int = 5  # the runner's req_cycles: 5, or 1 for a stream (sww01: one window per stream)


class EnergySummary(Record):
    windows: int
    median_energy_per_inference_j: float
    median_latency_s: float
    median_average_power_w: float
    validity: EnergyValidity
    valid: bool | None = None  # five windows of >= 10 s on hardware
    scores_match_reference: bool | None = None


class PowerModelRecord(BaseModel):
    """The board file's [power] table as it was when the session ran (its fields follow the board schema)."""

    model_config = ConfigDict(extra="allow")
    supply_v: float
    active_current_a: float
    idle_current_a: float
    source: str


class EnergyRecord(Record):
    windows: list[EnergyWindow] = []
    # Emulation: how instruction counts became time and energy.
    clock_model: str | None = None
    clock_hz: int | None = None
    power_model: PowerModelRecord | None = None
    # Emulated stream (sww01): mean processing time per hop at the board clock over the hop period;
    # above 1 the core could not keep up at that clock (the trace then counts it busy throughout).
    estimated_duty_cycle: float | None = None
    # Hardware: the instrument and the supply it set.
    power_monitor: str | None = None
    supply_v: float | None = None
    summary: EnergySummary | None = None


# -- streaming (sww01) -----------------------------------------------------------------------------

class StreamRecord(Record):
    """One wav file played into the streaming firmware, scored as the runner scores it."""

    wav_file: str
    length_s: float
    audio_hops: int
    hops: int  # processed by the DUT
    lost: int  # overwritten in its ring buffer before it got to them
    detections_ms: list[int]  # as the interface board records them (the first is the start pulse)
    true_positives: list[float]
    false_negatives: list[float]
    false_positives: list[float]
    # The processing pin's figures; None when nothing timed the stream (the UART path).
    duty_cycle: float | None
    period_s: float | None
    processing_s: float | None
    throughput: float | None
    activations: list[int]
    features_equal: int  # hops whose 40 features equal the host reference's
    outputs_equal: int | None = None  # hops whose 3 outputs equal tflite-micro's (None: not checked)
    checked_hops: int
    wall_s: float
    detection_windows: list[list[float]] = []

    @property
    def counts(self) -> tuple[int, int, int]:
        return len(self.true_positives), len(self.false_negatives), len(self.false_positives)


class ClosedDivisionLimits(Record):
    false_positives_le_8: bool
    false_negatives_le_8: bool


class StreamingSummary(Record):
    files: int
    true_positives: int
    false_negatives: int
    false_positives: int
    duty_cycle: float | None  # None: no file was timed (the UART path)
    period_s: float | None
    processing_s: float | None
    throughput: float | None
    hops: int
    lost_hops: int
    features_equal: int
    outputs_equal: int | None = None
    checked_hops: int
    closed_division: ClosedDivisionLimits


class StreamingRecord(Record):
    truth: str | None = None  # the truth JSON of the files played
    streams: list[StreamRecord] = []
    summary: StreamingSummary | None = None


# -- a benchmark and a session ---------------------------------------------------------------------

class LayerRecord(Record):
    """One layer of a profile (`tinyrig profile`): exact instructions per layer."""

    index: int
    op: str
    instructions: NonNegativeFloat
    macs: NonNegativeInt | None = None
    kernel: str | None = None


def _summary_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return {PerformanceSummary: "performance", EnergySummary: "energy", AccuracyHeadline: "accuracy",
                StreamingSummary: "streaming"}.get(type(value))
    if isinstance(value, dict):
        for key, kind in (("median_latency_us", "performance"), ("median_energy_per_inference_j", "energy"),
                          ("inputs", "accuracy"), ("true_positives", "streaming")):
            if key in value:
                return kind
    return None


Summary = Annotated[
    Union[Annotated[PerformanceSummary, Tag("performance")], Annotated[EnergySummary, Tag("energy")],
          Annotated[AccuracyHeadline, Tag("accuracy")], Annotated[StreamingSummary, Tag("streaming")]],
    Discriminator(_summary_kind, custom_error_type="summary_kind",
                  custom_error_message="not a performance, energy, accuracy or streaming summary"),
]


class BenchmarkEntry(Record):
    status: Literal["pending", "running", "complete", "failed"] = "pending"
    error: str | None = None
    iterations: int | None = None
    warmup: int | None = None
    emulated: bool | None = None
    model: str | None = None  # the .tflite file used
    firmware: FirmwareRecord | None = None
    dut: DutIdentity | None = None
    emulator: EmulatorInfo | None = None
    input_path: str | None = None  # how inputs reached the device (db, semihost, ...)
    inputs: str | None = None  # performance/energy: "dataset" or "random (seed N)"
    calibration: WindowCalibration | None = None
    prediction: PredictionRecord | None = None
    windows: list[PerformanceWindow] = []
    accuracy: AccuracyRecord | None = None
    energy: EnergyRecord | None = None
    streaming: StreamingRecord | None = None
    layers: list[LayerRecord] | None = None
    summary: Summary | None = None
    # What a plug-in mode (entry-point group tinyrig.modes) records, under its own name.
    extensions: dict[str, Any] = {}

    @property
    def valid(self) -> bool:
        """A measurement that counts for MLPerf Tiny: complete, on hardware, and within the timing rules."""
        if self.status != "complete" or self.emulated is not False:
            return False
        if isinstance(self.summary, (PerformanceSummary, EnergySummary)):
            return bool(self.summary.valid)
        return isinstance(self.summary, (AccuracyHeadline, StreamingSummary))


class RunOptionsRecord(Record):
    """`tinyrig run`'s options (hil/run/options.py RunOptions), kept so `--resume` repeats them."""

    board: str  # a board name or the path of a board file
    benchmarks: list[str]
    mode: str = "performance"
    target: str | None = None
    models_dir: str | None = None
    iterations: int | None = None
    warmup: int | None = None
    windows: int = 5
    seed: int = 0
    dataset: str | None = None
    limit: int | None = None
    check_reference: bool = True
    fast_load: bool = True
    icount_shift: int = 0
    infer_timeout_s: float = 900.0
    jobs: int = 1
    probe: str | None = None
    port: str | None = None
    flash: bool = True
    power_monitor: str | None = None
    monitor_port: str | None = None
    io_manager: str | None = None  # the energy interface board's serial port
    cycles: bool = True  # QEMU: estimated cycles from the board's cycle model (--no-cycles: off)
    predict: str | None = None  # --predict BOARD: timed as that board's MCU
    stream: str | None = None  # streaming mode: the truth JSON of the wav files played
    db: str | None = None  # the results database (a URL without its password): --resume records there
    record: bool = True  # False: --no-record


class SessionResults(Record):
    schema_version: Literal[2] = SCHEMA_VERSION
    created: str  # ISO 8601, UTC
    board: str
    target: str
    mode: str
    status: Literal["running", "complete", "incomplete", "interrupted"] = "running"
    finished: str | None = None
    tinyrig_version: str | None = None
    git_revision: str | None = None
    git_dirty: bool | None = None
    host: str | None = None
    compiler: str | None = None
    icount_shift: int | None = None
    options: RunOptionsRecord | None = None
    # Set on documents a test or tool made from real ones (never by a measurement).
    synthetic: str | None = None
    benchmarks: dict[str, BenchmarkEntry] = {}

    @property
    def emulated(self) -> bool:
        """Whether the figures come from an emulator (recorded per benchmark; else from the target)."""
        flags = [e.emulated for e in self.benchmarks.values() if e.emulated is not None]
        return any(flags) if flags else self.target != "hardware"

    def data(self) -> dict[str, Any]:
        """The validated document as plain JSON data (what figures.py, compare.py and html.py read)."""
        return self.model_dump(mode="json")

    def only(self, benchmark_id: str) -> "SessionResults":
        """A copy holding one benchmark (what a submission's per-benchmark results.json keeps)."""
        return self.model_copy(update={"benchmarks": {benchmark_id: self.benchmarks[benchmark_id]}}, deep=True)


# -- reading ---------------------------------------------------------------------------------------

def _describe(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def parse_results(document: Any, source: str = RESULTS_FILE) -> SessionResults:
    """A results document of any known version, migrated to the current one and validated."""
    if isinstance(document, SessionResults):
        return document
    from tinyrig.hil.results.migrate import migrate

    if not isinstance(document, dict):
        raise ResultsFileError(f"{source}: not a tinyrig results document (a JSON object was expected)")
    try:
        return SessionResults.model_validate(migrate(document, source))
    except ValidationError as exc:
        raise ResultsFileError(f"{source}: not a valid tinyrig results file: {_describe(exc)}") from None


def read_results(session_dir: Path) -> SessionResults:
    """A session folder's results.json, migrated and validated."""
    path = Path(session_dir) / RESULTS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsFileError(f"{session_dir}: not a tinyrig session (no {RESULTS_FILE})") from None
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ResultsFileError(f"{path}: unreadable results file: not UTF-8 text ({exc.reason})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsFileError(f"{path}: unreadable results file: {exc}") from None
    return parse_results(document, str(path))


def results_data(document: Any, source: str = RESULTS_FILE) -> dict[str, Any]:
    """Any results document (typed, or JSON of a known version) as validated current-version data."""
    return parse_results(document, source).data()
