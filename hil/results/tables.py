"""The tables tinyrig prints and reports, as plain data: a title, columns, rows of text cells.

One description per table, whatever draws it: the terminal (tinyrig/cli/output.py: a rich table,
TSV or Markdown) and the HTML report (templates/report/) read the same `TableData`, so a column
added here shows up everywhere. Numbers are formatted here, once, with thousands separators.
The builders read a session's results as the results schema's validated data
(`SessionResults.data()`, schema.py), the same plain data figures.py and the report read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from tinyrig.benchmarks import BENCHMARKS
from tinyrig.hil.results import figures as F

BAD, OK, DIM = "bad", "ok", "dim"


@dataclass(frozen=True)
class Column:
    name: str
    numeric: bool = False  # right-aligned; a number is never wrapped or cut
    whole: bool = False  # text that must stay copyable in one piece (session ids, dates)


@dataclass(frozen=True)
class Cell:
    text: str
    tone: str | None = None  # BAD, OK or DIM: a colour on the terminal, a class in HTML


@dataclass
class TableData:
    title: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rule_after: set[int] = field(default_factory=set)  # row indexes followed by a separator (totals)

    def add(self, *cells: Cell | str) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"table {self.title!r}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append([c if isinstance(c, Cell) else Cell(c) for c in cells])


def num(value: Any, spec: str, scale: float | None = None) -> str:
    """A number formatted with `spec` (e.g. ",.1f"), or "-" for anything that is not one."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "-"
    return format(value if scale is None else value * scale, spec)


def is_emulated(results: dict) -> bool:
    """Whether a session's figures come from an emulator (recorded per benchmark since schema 1)."""
    entries = list(results.get("benchmarks", {}).values())
    if any("emulated" in e for e in entries):
        return any(e.get("emulated") for e in entries)
    return results.get("target") != "hardware"


def status_cell(entry: dict) -> Cell:
    status = entry.get("status", "?")
    if status == "failed":
        error = (entry.get("error") or "").strip().splitlines()
        return Cell(f"failed: {error[0]}" if error else "failed", BAD)
    return Cell(status, None if status == "complete" else BAD)


def yes_no(value) -> Cell:
    return Cell("-") if value is None else (Cell("yes") if value else Cell("NO", BAD))


def benchmark_entries(results: dict) -> list[tuple[str, dict]]:
    """A session's benchmarks in MLPerf Tiny's order (kws01, vww01, ic01, ad01, ...), whatever
    order a document stored them in (the results database sorts its keys)."""
    return sorted((results.get("benchmarks") or {}).items(), key=lambda kv: _order(kv[0]))


def performance_table(results: dict) -> TableData:
    emulated = is_emulated(results)
    entries = benchmark_entries(results)
    # Estimated cycles (QEMU with a cycle model) sit beside instructions; their latency is at the
    # clock of the board whose timing the model has, said in the column header.
    clocks = {(e.get("summary") or {}).get("estimated_clock_hz") for _, e in entries} - {None}
    cycles = bool(clocks)
    columns = [Column("benchmark", whole=True),
               Column("latency (virtual us)" if emulated else "latency (us)", numeric=True),
               Column("instructions/inference", numeric=True), Column("instr/MAC", numeric=True)]
    if cycles:
        at = f" @ {clocks.pop() / 1e6:g} MHz" if len(clocks) == 1 else ""
        columns += [Column("est. cycles/inference", numeric=True), Column("est. cycles/MAC", numeric=True),
                    Column(f"est. latency (us{at})", numeric=True)]
    columns += [Column("MACs", numeric=True), Column("flash (B)", numeric=True),
                Column("RAM (B)", numeric=True), Column("scores = reference"),
                Column("bit-exact", numeric=True), Column("status")]
    table = TableData("", columns)
    for bid, entry in entries:
        s, fw = entry.get("summary") or {}, entry.get("firmware") or {}
        exact = F.bit_exact(entry).get("windows")
        cells = [bid, num(s.get("median_latency_us"), ",.1f"), num(s.get("median_instructions"), ",.0f"),
                 num(s.get("instructions_per_mac"), ".2f")]
        if cycles:
            cells += [num(s.get("median_estimated_cycles"), ",.0f"), num(s.get("estimated_cycles_per_mac"), ".3f"),
                      num(s.get("estimated_latency_us"), ",.1f")]
        cells += [num(fw.get("total_macs"), ","), num(fw.get("flash_bytes"), ","), num(fw.get("ram_bytes"), ","),
                  yes_no(s.get("scores_match_reference")), f"{exact[0]}/{exact[1]}" if exact else "-",
                  status_cell(entry)]
        table.add(*cells)
        prediction = entry.get("prediction")
        if prediction:
            table.notes.append(prediction_line(bid, prediction))
    return table


def prediction_line(benchmark_id: str, prediction: dict) -> str:
    """`--predict`: the estimated latency on the real MCU, beside the same core at zero wait states."""
    mhz = prediction["clock_hz"] / 1e6
    firmware = ""
    if prediction.get("code_for"):
        builds = []
        # Records from before the field were only ever their own firmware for the loops.
        if prediction.get("loops_sized_for_cache") is not False:
            builds.append("loops sized for its flash cache")
        ram = prediction.get("ram_bytes")
        in_all = f" ({ram:,} B of RAM in all)" if ram else ""
        if prediction.get("constants_in_ram"):
            builds.append("its constants copied to RAM at reset" + in_all)
        elif prediction.get("ram_constant_layers"):
            layers = prediction["ram_constant_layers"]
            builds.append(f"the constants of {len(layers)} layer{'s' if len(layers) != 1 else ''} "
                          f"({prediction['constant_bytes_in_ram']:,} of {prediction['constant_bytes']:,} B, those waiting "
                          f"on flash most per byte) copied to RAM at reset{in_all}")
        firmware = f" (the firmware {prediction['code_for']} would run{': ' + ', '.join(builds) if builds else ''})"
    other = ""
    if prediction.get("other_reading_latency_ms") is not None:
        other = f" ({prediction['other_reading_latency_ms']:,.2f} ms if {prediction['other_reading']})"
    return (f"{benchmark_id} predicted on {prediction['board']} at {mhz:g} MHz{firmware}: "
            f"{prediction['latency_ms']:,.2f} ms with {prediction['flash_wait_states']} flash wait states "
            f"and its flash accelerator{other}, {prediction['zero_wait_latency_ms']:,.2f} ms at zero wait states "
            f"({prediction['cycles']:,} / {prediction['zero_wait_cycles']:,} est. cycles, one inference)"
            + _does_not_fit(prediction))


def _does_not_fit(prediction: dict) -> str:
    """'; ... does not fit' when the timed image is larger than the MCU's RAM or flash (its board file)."""
    over = [f"{prediction[used]:,} B of {what} for its {prediction[cap]:,} B"
            for what, used, cap in (("RAM", "ram_bytes", "ram_capacity"), ("flash", "flash_bytes", "flash_capacity"))
            if prediction.get(used) is not None and prediction.get(cap) and prediction[used] > prediction[cap]]
    return f"; but the image does not fit {prediction['board']} ({', '.join(over)}): no such run exists there" if over else ""


def accuracy_table(results: dict) -> TableData:
    table = TableData("", [Column("benchmark", whole=True), Column("files", numeric=True),
                           Column("inputs", numeric=True), Column("top-1", numeric=True), Column("AUC", numeric=True),
                           Column("target met"), Column("bit-exact vs reference", numeric=True),
                           Column("status")])
    for bid, entry in benchmark_entries(results):
        acc = (entry.get("accuracy") or {}).get("summary") or {}
        done = len((entry.get("accuracy") or {}).get("files", []))
        table.add(bid, num(acc.get("files", done), ","), num(acc.get("inputs"), ","),
                  num(acc.get("top1"), ".1%"), num(acc.get("auc"), ".3f"), yes_no(acc.get("meets_target")),
                  f"{acc['bit_exact']}/{acc['checked']}" if acc.get("checked") else "-", status_cell(entry))
        note = F.auc_note(entry, bid)
        if note:
            table.notes.append(f"{bid}: {note}")
    return table


def energy_table(results: dict) -> TableData:
    table = TableData("", [Column("benchmark", whole=True), Column("energy/inference (uJ)", numeric=True),
                           Column("latency (ms, clock model)" if is_emulated(results) else "latency (ms)",
                                  numeric=True),
                           Column("avg power (mW)", numeric=True), Column("windows", numeric=True),
                           Column("scores = reference"), Column("status")])
    for bid, entry in benchmark_entries(results):
        s = (entry.get("energy") or {}).get("summary") or {}
        table.add(bid, num(s.get("median_energy_per_inference_j"), ",.3f", 1e6),
                  num(s.get("median_latency_s"), ",.3f", 1e3), num(s.get("median_average_power_w"), ",.3f", 1e3),
                  str(len((entry.get("energy") or {}).get("windows", []))),
                  yes_no((entry.get("summary") or {}).get("scores_match_reference")), status_cell(entry))
    return table


def streaming_table(results: dict) -> TableData:
    table = TableData("", [Column("benchmark", whole=True), Column("files", numeric=True), Column("TP", numeric=True),
                           Column("FN", numeric=True), Column("FP", numeric=True),
                           Column("duty cycle", numeric=True), Column("period (s)", numeric=True),
                           Column("throughput (inf/s)", numeric=True), Column("hops (lost)", numeric=True),
                           Column("features = host", numeric=True), Column("outputs = reference", numeric=True),
                           Column("status")])
    for bid, entry in benchmark_entries(results):
        s = (entry.get("streaming") or {}).get("summary") or {}
        checked, outputs = s.get("checked_hops"), s.get("outputs_equal")
        table.add(bid, num(s.get("files"), "d"), num(s.get("true_positives"), "d"), num(s.get("false_negatives"), "d"),
                  num(s.get("false_positives"), "d"), num(s.get("duty_cycle"), ".5f"), num(s.get("period_s"), ".5f"),
                  num(s.get("throughput"), ",.1f"), f"{s['hops']:,} ({s['lost_hops']})" if s else "-",
                  f"{s['features_equal']}/{checked}" if s else "-",
                  f"{outputs}/{checked}" if s and outputs is not None else "-", status_cell(entry))
    return table


def summary_table(results: dict) -> TableData:
    mode = results.get("mode", "performance")
    builder = {"performance": performance_table, "accuracy": accuracy_table, "energy": energy_table,
               "streaming": streaming_table}.get(mode)
    if builder is None:
        raise ValueError(f"results.json: unknown mode {mode!r} (performance, accuracy, energy or streaming)")
    table = builder(results)
    table.title = f"MLPerf Tiny {mode} on {results.get('board')} ({results.get('target')})"
    return table


def emulation_note(results: dict) -> str:
    mode = results.get("mode")
    if mode == "streaming":
        return ("Emulated streaming: the audio arrives hop by hop in QEMU virtual time (-icount, 1 instruction = "
                "2^shift ns; time skips while the DUT sleeps between hops); detections and processing pulses are "
                "timed from the pins and scored as the MLPerf Tiny runner does (docs/streaming.md).")
    if mode == "energy":
        models = {(e.get("energy") or {}).get("clock_model") for e in (results.get("benchmarks") or {}).values()}
        by_cycles = not any(m and m.startswith("1 instruction") for m in models)
        counts = ("estimated cycles (the cycle model: the core's documented timing and the board's flash wait "
                  "states, docs/cycle-model.md) between the timestamp-pin edges, turned into time at the board clock"
                  if by_cycles else "exact instruction counts between the timestamp-pin edges, turned into time "
                  "by 1 instruction per cycle at the board clock (run without the cycle model)")
        return (f"Emulated energy: {counts}, and into energy by the board's power model (boards/<board>.toml "
                "[power], with its datasheet). Traces: <id>/energy/energy_inf_NNN.csv/.png, power in mW against time in ms.")
    if results.get("target") == "renode":  # a note on how that emulator keeps time
        return ("Emulated under Renode: virtual time runs at 1 instruction per cycle at the board clock; "
                "instructions are counts of executed instructions (not cycles).")
    cycles = any((e.get("summary") or {}).get("median_estimated_cycles") is not None
                 for e in (results.get("benchmarks") or {}).values())
    return ("Emulated: latency is virtual time under QEMU -icount (1 instruction = 1 ns); "
            "instructions are exact counts of executed instructions (not cycles)."
            + (" Est. cycles are the cycle model's (docs/cycle-model.md: the core's documented timing and the "
               "board's flash wait states), exact and equal over reruns but only as right as that timing data; "
               "est. latency is them at the board clock." if cycles else ""))


# -- history ----------------------------------------------------------------------------------------

def history_table(rows: Iterable, where: str) -> TableData:
    """`tinyrig history`: one row per session and benchmark (tinyrig.hil.results.db.HistoryRow)."""
    rows = list(rows)
    # Columns that would repeat one value on every row go into the title instead.
    shared = {name: values.pop() for name, values in
              (("board", {r.board for r in rows}), ("mode", {r.mode for r in rows}), ("target", {r.target for r in rows}))
              if len(values) == 1}
    columns: list[tuple[Column, Any]] = [
        (Column("created (UTC)", whole=True), lambda r, m: r.created.strftime("%Y-%m-%d %H:%M") if r.created else "-"),
        # Session ids are what `compare` and `report` take: never wrapped or cut.
        (Column("session", whole=True), lambda r, m: r.session_id),
    ]
    if any(r.git_revision for r in rows):
        columns.append((Column("git", whole=True), lambda r, m: (r.git_revision or "-")[:10]))
    for name in ("board", "target", "mode"):
        if name not in shared:
            columns.append((Column(name), lambda r, m, name=name: getattr(r, name) or "-"))
    columns += [
        (Column("benchmark", whole=True), lambda r, m: r.benchmark),
        (Column("status"), lambda r, m: Cell(r.status or "-", None if r.status == "complete" else BAD)),
        (Column("latency (us)", numeric=True), lambda r, m: num(m.get("latency_us"), ",.1f")),
        (Column("instructions", numeric=True), lambda r, m: num(m.get("instructions"), ",.0f")),
    ]
    if any("estimated_cycles" in r.metrics for r in rows):  # sessions under QEMU with the cycle model
        columns.append((Column("est. cycles", numeric=True), lambda r, m: num(m.get("estimated_cycles"), ",.0f")))
    columns += [
        (Column("flash", numeric=True), lambda r, m: num(r.flash_bytes, ",")),
        (Column("RAM", numeric=True), lambda r, m: num(r.ram_bytes, ",")),
    ]
    if any("top1" in r.metrics or "auc" in r.metrics for r in rows):
        columns += [(Column("top-1", numeric=True), lambda r, m: num(m.get("top1"), ".2%")),
                    (Column("AUC", numeric=True), lambda r, m: num(m.get("auc"), ".4f"))]
    if any("energy_per_inference_j" in r.metrics for r in rows):
        columns.append((Column("energy (uJ)", numeric=True), lambda r, m: num(m.get("energy_per_inference_j"),
                                                                                ",.3f", 1e6)))
    columns.append((Column("gate"), lambda r, m: Cell(r.gate or "-", BAD if r.gate == "fail" else None)))
    context = ", ".join(f"{k} {v}" for k, v in shared.items())
    table = TableData(f"History{' (' + context + ')' if context else ''} from {where}", [c for c, _ in columns])
    for r in rows:
        table.add(*(cell(r, r.metrics) for _, cell in columns))
    if any(r.mode == "energy" for r in rows) and any(r.mode != "energy" for r in rows):
        table.notes.append("latency of energy sessions is the clock model's (estimated cycles at the board clock); "
                           "of emulated performance sessions, QEMU virtual time")
    return table


# -- across sessions: the MLPerf Tiny results table --------------------------------------------------

def _system(results: dict) -> str:
    return f"{results.get('board')} ({results.get('target')})"


def _accuracy_text(entry: dict, benchmark_id: str) -> Cell:
    acc = F.accuracy(entry)
    benchmark = BENCHMARKS.get(benchmark_id)
    if "top1" in acc:
        text = f"{acc['top1']:.1%} top-1"
    elif "auc" in acc:
        text = f"AUC {acc['auc']:.3f}"
    else:
        note = F.auc_note(entry, benchmark_id)
        return Cell(f"- ({note})" if note else "-", DIM if note else None)
    if benchmark is not None and benchmark.quality_target:
        target = f"{benchmark.quality_target:.0%}" if benchmark.quality_metric == "top1" else \
            f"{benchmark.quality_target:.2f}"
        text += f" (target {target})"
    return Cell(text)


def results_table(sessions: list[dict]) -> TableData:
    """One row per benchmark and system (board, target), as MLPerf Tiny's result tables have it:
    latency from the newest performance session, energy from the newest energy session, accuracy
    from the newest accuracy session, flash and RAM of the performance firmware. `sessions` are
    results documents, oldest first."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    emulated_latency = emulated_energy = False
    for results in sessions:
        mode = results.get("mode")
        for bid, entry in (results.get("benchmarks") or {}).items():
            row = rows.setdefault((bid, _system(results)), {"status": []})
            row["status"].append((mode, entry))
            if entry.get("status") != "complete":
                continue
            row[mode] = entry
            if mode == "performance":
                emulated_latency |= is_emulated(results)
            if mode == "energy":
                emulated_energy |= is_emulated(results)
            if entry.get("firmware") and (mode != "energy" or "firmware" not in row):
                row["firmware"] = entry["firmware"]
    cycles = any(F.estimated_cycles(r.get("performance") or {}) is not None for r in rows.values())
    columns = [Column("benchmark", whole=True), Column("system"),
               Column("latency (ms)" + (", virtual" if emulated_latency else ""), numeric=True),
               Column("instructions / inference", numeric=True)]
    if cycles:
        columns.append(Column("est. cycles / inference", numeric=True))
    columns += [Column("energy (uJ) / inference" + (", modelled" if emulated_energy else ""), numeric=True),
                Column("accuracy"), Column("flash (KiB)", numeric=True), Column("RAM (KiB)", numeric=True),
                Column("status")]
    table = TableData("Results: one row per benchmark", columns)
    for (bid, system), row in sorted(rows.items(), key=lambda kv: (_order(kv[0][0]), kv[0][1])):
        perf, energy, acc, fw = row.get("performance") or {}, row.get("energy"), row.get("accuracy"), \
            row.get("firmware") or {}
        latency = F.median_latency_us(perf) if perf else None
        cells = [bid, system, num(latency, ",.3f", 1e-3), num((perf.get("summary") or {}).get("median_instructions"),
                                                               ",.0f")]
        if cycles:
            cells.append(num(F.estimated_cycles(perf), ",.0f"))
        energy_j = F.energy_per_inference(energy) if energy else []
        cells += [num(F.median(energy_j), ",.3f", 1e6) if energy_j else "-",
                  _accuracy_text(acc, bid) if acc else Cell("-"),
                  num(fw.get("flash_bytes"), ",.1f", 1 / 1024), num(fw.get("ram_bytes"), ",.1f", 1 / 1024)]
        failed = [(mode, e) for mode, e in row["status"] if e.get("status") != "complete"]
        cells.append(Cell("; ".join(f"{mode}: {status_cell(e).text}" for mode, e in failed), BAD) if failed
                     else Cell("complete"))
        table.add(*cells)
    if emulated_latency:
        table.notes.append("Latency: virtual time under emulation (QEMU -icount: 1 instruction = 1 ns), not a "
                           "prediction of a chip's latency; instructions are exact counts.")
    if emulated_energy:
        table.notes.append("Energy: modelled from estimated cycles at the board clock (the cycle model) and the "
                           "board's power model.")
    return table


def _order(benchmark_id: str) -> tuple[int, str]:
    ids = list(BENCHMARKS)
    return (ids.index(benchmark_id) if benchmark_id in ids else len(ids), benchmark_id)


def sessions_table(sessions: list[tuple[str, dict, str | None]]) -> TableData:
    """The report's sessions: (id, results, gate verdict or None). A column with one value for
    every session goes into the title, so the table fits beside long session ids."""
    def created(r: dict) -> str:
        return str(r.get("created") or "-").replace("T", " ").replace("+00:00", "")

    fields = [("board", lambda r: str(r.get("board")), False), ("target", lambda r: str(r.get("target")), False),
              ("mode", lambda r: str(r.get("mode")), False), ("created (UTC)", created, True),
              ("git", lambda r: (r.get("git_revision") or "-")[:12], True),
              ("tinyrig", lambda r: str(r.get("tinyrig_version") or "-"), True),
              ("compiler", lambda r: str(r.get("compiler") or "-"), False)]
    shared = {name: get(sessions[0][1]) for name, get, _ in fields
              if len(sessions) > 1 and len({get(r) for _, r, _ in sessions}) == 1 and name != "created (UTC)"}
    kept = [(name, get, whole) for name, get, whole in fields if name not in shared]
    title = "Sessions" + (" (" + ", ".join(f"{k} {v}" for k, v in shared.items()) + ")" if shared else "")
    table = TableData(title, [Column("session", whole=True)] + [Column(n, whole=w) for n, _, w in kept]
                      + [Column("status"), Column("gate")])
    for sid, r, gate in sessions:
        table.add(sid, *(get(r) for _, get, _ in kept),
                  Cell(str(r.get("status")), OK if r.get("status") == "complete" else BAD),
                  Cell(gate or "-", BAD if gate == "fail" else OK if gate == "pass" else None))
    return table
