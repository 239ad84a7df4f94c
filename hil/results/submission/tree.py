"""`tinyrig submission build`: an MLPerf Tiny submission tree from recorded sessions.

    <out>/<division>/<organization>/
        systems/<system>.json                      (systems.py; Energy-Hookup.md with energy results)
        code/<benchmark name per reference>/tinyrig/<env>/   the generated firmware project + program.elf
        results/<system>/<kws|vww|ic|ad|sww>/<performance|accuracy|energy>/
            results.txt   the runner's layout (txt.py), re-rendered from results.json
            log.txt       the benchmark's lines of the session transcript
            results.json  the session's results for this benchmark (the detail)
            energy_inf_NNN.png   energy: the window plots
    <out>/tinyrig-submission.json   where each result came from and whether it is valid

Only valid measurements go in: complete, on hardware, five windows of at least 10 s (performance
and energy), and accuracy measured on the same firmware source as performance (the rules: "the
same code must be run for both the accuracy and performance Runner modes"). Anything else is
refused with the reason, unless `include_invalid`; then it goes in marked: its results.txt
carries the ERROR lines and no median line, and the manifest says why.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tinyrig.boards import Board, BoardError, load_board
from tinyrig.hil.results import txt
from tinyrig.hil.results.folders import LOG_FILE, RESULTS_TXT, benchmark_log_lines
from tinyrig.hil.results.schema import (
    RESULTS_FILE,
    BenchmarkEntry,
    EnergySummary,
    PerformanceSummary,
    ResultsFileError,
    SessionResults,
    read_results,
)
from tinyrig.hil.results.submission import rules as R
from tinyrig.hil.results.submission.systems import energy_hookup, system_description

MANIFEST = "tinyrig-submission.json"
IMPLEMENTATION = "tinyrig"
# What a code folder leaves out: PlatformIO's build folder and logs, VCS and editor files, Python
# caches. The project's .tinyrig/ stays (the bundled offline platform and board file it builds
# with), although the checker warns about names starting with a dot.
SKIPPED_IN_CODE = (".pio", ".pio-*.log", ".git", ".gitignore", ".vscode", "__pycache__")


class SubmissionError(ValueError):
    """The sessions cannot make a submission tree (the message says which and why)."""


@dataclass
class TreeOptions:
    out: Path
    organization: str
    system: str
    division: str = "closed"
    status: str = "available"
    include_invalid: bool = False


@dataclass
class Placement:
    """One result folder of the tree and where it came from."""

    model: str
    test: str
    benchmark: str
    session: str
    folder: str  # relative to the tree's root
    valid: bool
    emulated: bool
    reasons: list[str] = field(default_factory=list)


@dataclass
class TreeResult:
    root: Path
    placements: list[Placement] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Source:
    directory: Path
    results: SessionResults
    benchmark: str
    entry: BenchmarkEntry


def why_not_valid(results: SessionResults, entry: BenchmarkEntry) -> list[str]:
    """Why a benchmark's result is not a valid MLPerf Tiny measurement (empty when it is)."""
    reasons = []
    emulated = entry.emulated if entry.emulated is not None else results.emulated
    if emulated:
        reasons.append(f"emulated on {results.target}: {txt.WHAT_EMULATION_GIVES.get(results.mode, 'figures')}, "
                       "not a measurement of hardware")
    summary = entry.summary
    if isinstance(summary, (PerformanceSummary, EnergySummary)):
        broken = [name.replace("_", " ") for name, ok in dict(summary.validity).items() if not ok]
        if broken:
            reasons.append("breaks the timing rules: not " + ", not ".join(broken))
    return reasons


def _name_ok(value: str, what: str) -> str:
    if not value or value != value.strip() or "/" in value or "\\" in value or value.startswith(".") or " " in value:
        raise SubmissionError(f"{what} {value!r}: use a plain folder name (no spaces, slashes or leading dot)")
    return value


def _load(sessions: list[Path]) -> list[tuple[Path, SessionResults]]:
    loaded = []
    for directory in sessions:
        try:
            results = read_results(directory)
        except ResultsFileError as exc:
            raise SubmissionError(str(exc)) from None
        if results.status == "running":
            raise SubmissionError(f"{directory}: the session is still running (or was killed); finish or resume it")
        loaded.append((Path(directory), results))
    return loaded


def _board(sessions: list[tuple[Path, SessionResults]]) -> Board:
    names = {results.board for _, results in sessions}
    if len(names) != 1:
        raise SubmissionError(f"one system per tree: the sessions ran on {', '.join(sorted(names))}")
    _, first = sessions[0]
    for candidate in ([first.options.board] if first.options else []) + [first.board]:
        try:
            return load_board(candidate)
        except BoardError:
            continue
    raise SubmissionError(f"board {first.board!r} of the sessions is not a known board file")


def _collect(sessions: list[tuple[Path, SessionResults]]) -> tuple[dict[tuple[str, str], _Source], list[str]]:
    """(model, test) -> its source; plus the benchmarks that cannot go in at all, with why."""
    chosen: dict[tuple[str, str], _Source] = {}
    unusable = []
    for directory, results in sessions:
        # The runner's sww01 performance run plays the stream: tinyrig's streaming mode.
        test = "performance" if results.mode == "streaming" else results.mode
        if test not in R.TESTS:
            unusable.append(f"{directory}: mode {results.mode!r} is not an MLPerf Tiny test ({', '.join(R.TESTS)})")
            continue
        for bid, entry in results.benchmarks.items():
            model = R.MODEL_OF_BENCHMARK.get(bid)
            if model is None:
                unusable.append(f"{directory}: {bid} is not an MLPerf Tiny benchmark")
                continue
            if entry.status != "complete":
                error = (entry.error or "").strip().splitlines()
                unusable.append(f"{directory}: {bid} {results.mode} did not complete ({entry.status}"
                                + (f": {error[0]}" if error else "") + ")")
                continue
            key = (model, test)
            if key in chosen:
                unusable.append(f"{bid} {test} is in two sessions: {chosen[key].directory} and {directory}; "
                                "give one")
                continue
            chosen[key] = _Source(directory, results, bid, entry)
    return chosen, unusable


def _same_code(chosen: dict[tuple[str, str], _Source]) -> dict[tuple[str, str], list[str]]:
    """The rules' 'same code for accuracy and performance': compare the firmware source hashes."""
    extra: dict[tuple[str, str], list[str]] = {}
    for (model, test), source in chosen.items():
        other = chosen.get((model, "performance"))
        if test != "accuracy" or other is None:
            continue
        mine, theirs = source.entry.firmware, other.entry.firmware
        if mine is None or theirs is None or mine.source_sha256 != theirs.source_sha256:
            extra[(model, test)] = [f"accuracy ran other firmware than performance (source "
                                    f"{mine.source_sha256[:12] if mine else '?'} vs "
                                    f"{theirs.source_sha256[:12] if theirs else '?'}); the rules ask for the same code"]
    return extra


def _energy_plots(source: _Source, folder: Path, warnings: list[str]) -> None:
    windows = source.entry.energy.windows if source.entry.energy else []
    for w in windows:
        plot = source.directory / w.trace_png
        if plot.is_file():
            shutil.copyfile(plot, folder / f"energy_inf_{w.index:03d}.png")
        else:
            warnings.append(f"{source.benchmark} energy: plot {plot} is missing; not in the tree")


def _result_folder(source: _Source, folder: Path, warnings: list[str]) -> None:
    folder.mkdir(parents=True)
    text = txt.render(source.results, source.benchmark)
    (folder / RESULTS_TXT).write_text(text or "", encoding="ascii", errors="replace")
    lines = benchmark_log_lines(source.directory, source.benchmark)
    if not lines:
        warnings.append(f"{source.benchmark} {source.results.mode}: {source.directory / LOG_FILE} has no lines of it")
    (folder / LOG_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / RESULTS_FILE).write_text(source.results.only(source.benchmark).model_dump_json(indent=2) + "\n",
                                       encoding="utf-8")
    if source.results.mode == "energy":
        _energy_plots(source, folder, warnings)


def _code_folder(source: _Source, code_root: Path, warnings: list[str]) -> None:
    """The generated PlatformIO project (sources, no build folder) and the image that ran."""
    firmware = source.entry.firmware
    if firmware is None:
        warnings.append(f"{source.benchmark}: the session recorded no firmware; no code for it in the tree")
        return
    elf = Path(firmware.elf)
    env = firmware.env or elf.parent.name
    folder = code_root / R.REFERENCE_NAME[R.MODEL_OF_BENCHMARK[source.benchmark]] / IMPLEMENTATION / env
    if folder.exists():
        return  # the same firmware already placed for another test
    project = elf.parents[3] if len(elf.parents) > 3 else None  # <project>/.pio/build/<env>/program.elf
    if project is None or not elf.is_file() or not (project / "platformio.ini").is_file():
        warnings.append(f"{source.benchmark} ({env}): firmware project {project or elf} is gone (the firmware "
                        "cache was cleared?); rebuild it with `tinyrig build` and add it to the code folder")
        return
    shutil.copytree(project, folder, ignore=shutil.ignore_patterns(*SKIPPED_IN_CODE))
    shutil.copyfile(elf, folder / "program.elf")


def _readme(organization: str, system: str, sessions: list[tuple[Path, SessionResults]]) -> str:
    return "\n".join([
        f"# {organization}: {system}", "",
        "Made by `tinyrig submission build` from these tinyrig sessions:", "",
        *[f"- `{d.name}`: {r.mode} of {', '.join(r.benchmarks)} on {r.board} ({r.target}), tinyrig "
          f"{r.tinyrig_version or '?'} at {r.git_revision or 'unknown revision'}" for d, r in sessions], "",
        "Each `code/<benchmark>/tinyrig/<env>/` folder is the generated PlatformIO project that ran (`perf`: "
        "performance and accuracy, `energy`: energy mode) and `program.elf` the image; rebuild offline with "
        "`pio run -e <env>` in it. The firmware answers the MLPerf Tiny runner's protocol, so the official runner "
        "reproduces the results with it.", ""])


def build_tree(sessions: list[Path], options: TreeOptions) -> TreeResult:
    """Writes the tree; raises SubmissionError (nothing written) when a session cannot go in."""
    if options.division not in R.DIVISIONS:
        raise SubmissionError(f"division {options.division!r}: use {' or '.join(R.DIVISIONS)}")
    if options.status not in R.AVAILABILITIES:
        raise SubmissionError(f"status {options.status!r}: use one of {', '.join(R.AVAILABILITIES)}")
    organization, system = _name_ok(options.organization, "organization"), _name_ok(options.system, "system")
    if not sessions:
        raise SubmissionError("give at least one session folder")
    loaded = _load(sessions)
    board = _board(loaded)
    chosen, unusable = _collect(loaded)
    if unusable:
        raise SubmissionError("these results cannot go into a submission:\n  " + "\n  ".join(unusable))
    same_code = _same_code(chosen)
    placements = []
    for (model, test), source in sorted(chosen.items()):
        reasons = why_not_valid(source.results, source.entry) + same_code.get((model, test), [])
        emulated = bool(source.entry.emulated if source.entry.emulated is not None else source.results.emulated)
        placements.append(Placement(model, test, source.benchmark, str(source.directory), "", not reasons,
                                    emulated, reasons))
    refused = [p for p in placements if not p.valid]
    if refused and not options.include_invalid:
        raise SubmissionError("not valid for a submission (--include-invalid puts them in, marked):\n  " + "\n  ".join(
            f"{p.benchmark} {p.test} ({Path(p.session).name}): {'; '.join(p.reasons)}" for p in refused))

    org_root = Path(options.out) / options.division / organization
    results_root = org_root / "results" / system
    if results_root.exists():
        raise SubmissionError(f"{results_root} exists already; give another --out or --system, or remove it")
    result = TreeResult(Path(options.out))
    for placement in placements:
        source = chosen[(placement.model, placement.test)]
        folder = results_root / placement.model / placement.test
        _result_folder(source, folder, result.warnings)
        placement.folder = folder.relative_to(options.out).as_posix()
        _code_folder(source, org_root / "code", result.warnings)
    systems = org_root / "systems"
    systems.mkdir(parents=True, exist_ok=True)
    results_list = [r for _, r in loaded]
    description = system_description(board, results_list, organization=organization, division=options.division,
                                      status=options.status)
    (systems / f"{system}.json").write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
    hookup = energy_hookup(board, results_list)
    if hookup:
        (systems / "Energy-Hookup.md").write_text(hookup, encoding="utf-8")
    (org_root / "code").mkdir(exist_ok=True)
    (org_root / "code" / "README.md").write_text(_readme(organization, system, loaded), encoding="utf-8")
    result.placements = placements
    manifest = {"organization": organization, "system": system, "division": options.division,
                "rules": R.RULES_VERSION, "results": [asdict(p) for p in placements], "warnings": result.warnings}
    (Path(options.out) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return result
