"""The summary tables `tinyrig run` and `tinyrig report` print for a session (rich tables)."""

from __future__ import annotations

from rich.table import Table

from tinyrig.hil.results.schema import BenchmarkEntry, EnergySummary, PerformanceSummary, SessionResults


def is_emulated(results: SessionResults) -> bool:
    """Whether a session's figures come from an emulator (recorded per benchmark since schema 1)."""
    return results.emulated


def _fmt(value, spec: str) -> str:
    return format(value, spec) if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def _status(entry: BenchmarkEntry) -> str:
    if entry.status == "failed":
        return f"[red]failed[/]: {entry.error.splitlines()[0][:70] if entry.error else ''}"
    return entry.status


def _yes_no(value) -> str:
    return "-" if value is None else ("yes" if value else "[red]NO[/]")


def performance_table(results: SessionResults, table: Table) -> None:
    emulated = is_emulated(results)
    for col in ("benchmark", "latency (virtual us)" if emulated else "latency (us)", "instructions/inference",
                "instr/MAC", "MACs", "flash", "RAM", "scores = reference", "bit-exact", "status"):
        table.add_column(col, justify="left" if col in ("benchmark", "status") else "right")
    for bid, entry in results.benchmarks.items():
        s = entry.summary if isinstance(entry.summary, PerformanceSummary) else None
        fw = entry.firmware
        exact = [w.bit_exact for w in entry.windows if w.bit_exact is not None]
        table.add_row(bid, _fmt(s and s.median_latency_us, ",.1f"), _fmt(s and s.median_instructions, ",.0f"),
                      _fmt(s and s.instructions_per_mac, ".2f"), _fmt(fw and fw.total_macs, ","),
                      _fmt(fw and fw.flash_bytes, ","), _fmt(fw and fw.ram_bytes, ","),
                      _yes_no(s.scores_match_reference if s else None),
                      f"{sum(exact)}/{len(exact)}" if exact else "-", _status(entry))


def accuracy_table(results: SessionResults, table: Table) -> None:
    for col in ("benchmark", "files", "inputs", "top-1", "AUC", "target met", "bit-exact vs reference", "status"):
        table.add_column(col, justify="left" if col in ("benchmark", "status") else "right")
    for bid, entry in results.benchmarks.items():
        acc = entry.accuracy.summary if entry.accuracy else None
        done = len(entry.accuracy.files) if entry.accuracy else 0
        table.add_row(bid, str(acc.files if acc else done), _fmt(acc and acc.inputs, ","),
                      _fmt(100 * acc.top1, ".1f") + "%" if acc and acc.top1 is not None else "-",
                      _fmt(acc and acc.auc, ".3f"), _yes_no(acc.meets_target if acc else None),
                      f"{acc.bit_exact}/{acc.checked}" if acc and acc.checked else "-", _status(entry))


def energy_table(results: SessionResults, table: Table) -> None:
    for col in ("benchmark", "energy/inference (uJ)", "latency (ms, clock model)", "avg power (mW)", "windows",
                "scores = reference", "status"):
        table.add_column(col, justify="left" if col in ("benchmark", "status") else "right")
    for bid, entry in results.benchmarks.items():
        s = entry.energy.summary if entry.energy else None
        headline = entry.summary if isinstance(entry.summary, EnergySummary) else None
        table.add_row(bid, _fmt(s.median_energy_per_inference_j * 1e6 if s else None, ",.3f"),
                      _fmt(s.median_latency_s * 1e3 if s else None, ",.3f"),
                      _fmt(s.median_average_power_w * 1e3 if s else None, ".3f"),
                      str(len(entry.energy.windows) if entry.energy else 0),
                      _yes_no(headline.scores_match_reference if headline else None), _status(entry))


def status_table(results: SessionResults, table: Table) -> None:
    """A plug-in mode's session: what the runner knows of every benchmark."""
    for col in ("benchmark", "flash", "RAM", "status"):
        table.add_column(col, justify="left" if col in ("benchmark", "status") else "right")
    for bid, entry in results.benchmarks.items():
        fw = entry.firmware
        table.add_row(bid, _fmt(fw and fw.flash_bytes, ","), _fmt(fw and fw.ram_bytes, ","), _status(entry))


def summary_table(results: SessionResults) -> Table:
    mode = results.mode
    table = Table(title=f"MLPerf Tiny {mode} on {results.board} ({results.target})")
    tables = {"performance": performance_table, "accuracy": accuracy_table, "energy": energy_table}
    tables.get(mode, status_table)(results, table)
    return table


def emulation_note(results: SessionResults) -> str:
    mode = results.mode
    if mode == "energy":
        return ("[dim]Emulated energy: exact instruction counts between the timestamp-pin edges, turned into time by "
                "the clock model (1 instruction per cycle at the board clock) and into energy by the board's power "
                "model (boards/<board>.toml \\[power], with its datasheet). Traces: <id>/energy/energy_inf_NNN.csv/.png.[/]")
    if results.target == "renode":  # a note on how that emulator keeps time
        return ("[dim]Emulated under Renode: virtual time runs at 1 instruction per cycle at the board clock; "
                "instructions are counts of executed instructions (not cycles).[/]")
    return ("[dim]Emulated: latency is virtual time under QEMU -icount (1 instruction = 1 ns); "
            "instructions are exact counts of executed instructions (not cycles).[/]")
