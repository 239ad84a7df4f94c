"""The summary tables `tinyrig run` and `tinyrig report` print for a session (rich tables)."""

from __future__ import annotations

from rich.table import Table

from tinyrig.terminal import for_rich


def is_emulated(results: dict) -> bool:
    """Whether a session's figures come from an emulator (recorded per benchmark since schema 1)."""
    entries = list(results.get("benchmarks", {}).values())
    if any("emulated" in e for e in entries):
        return any(e.get("emulated") for e in entries)
    return results.get("target") != "hardware"


def _fmt(value, spec: str) -> str:
    return format(value, spec) if isinstance(value, (int, float)) and not isinstance(value, bool) else "-"


def _status(entry: dict) -> str:
    if entry.get("status") == "failed":
        headline = entry.get("error", "").splitlines()[0][:70] if entry.get("error") else ""
        return f"[red]failed[/]: {for_rich(headline)}"  # error text holds paths and device lines
    return entry.get("status", "?")


def _yes_no(value) -> str:
    return "-" if value is None else ("yes" if value else "[red]NO[/]")


def performance_table(results: dict, table: Table) -> None:
    emulated = is_emulated(results)
    for col in ("benchmark", "latency (virtual us)" if emulated else "latency (us)", "instructions/inference",
                "instr/MAC", "MACs", "flash", "RAM", "scores = reference", "bit-exact", "status"):
        table.add_column(col, justify="left" if col in ("benchmark", "status") else "right")
    for bid, entry in results.get("benchmarks", {}).items():
        s, fw = entry.get("summary") or {}, entry.get("firmware") or {}
        exact = [w.get("bit_exact") for w in entry.get("windows", []) if w.get("bit_exact") is not None]
        table.add_row(bid, _fmt(s.get("median_latency_us"), ",.1f"), _fmt(s.get("median_instructions"), ",.0f"),
                      _fmt(s.get("instructions_per_mac"), ".2f"), _fmt(fw.get("total_macs"), ","),
                      _fmt(fw.get("flash_bytes"), ","), _fmt(fw.get("ram_bytes"), ","),
                      _yes_no(s.get("scores_match_reference")), f"{sum(exact)}/{len(exact)}" if exact else "-",
                      _status(entry))


def accuracy_table(results: dict, table: Table) -> None:
    for col in ("benchmark", "files", "inputs", "top-1", "AUC", "target met", "bit-exact vs reference", "status"):
        table.add_column(col, justify="left" if col in ("benchmark", "status") else "right")
    for bid, entry in results.get("benchmarks", {}).items():
        acc = (entry.get("accuracy") or {}).get("summary") or {}
        done = len((entry.get("accuracy") or {}).get("files", []))
        table.add_row(bid, str(acc.get("files", done)), _fmt(acc.get("inputs"), ","),
                      _fmt(100 * acc["top1"], ".1f") + "%" if acc.get("top1") is not None else "-",
                      _fmt(acc.get("auc"), ".3f"), _yes_no(acc.get("meets_target")),
                      f"{acc['bit_exact']}/{acc['checked']}" if acc.get("checked") else "-", _status(entry))


def energy_table(results: dict, table: Table) -> None:
    for col in ("benchmark", "energy/inference (uJ)", "latency (ms, clock model)", "avg power (mW)", "windows",
                "scores = reference", "status"):
        table.add_column(col, justify="left" if col in ("benchmark", "status") else "right")
    for bid, entry in results.get("benchmarks", {}).items():
        s = (entry.get("energy") or {}).get("summary") or {}
        table.add_row(bid, _fmt((s.get("median_energy_per_inference_j") or 0) * 1e6 if s else None, ",.3f"),
                      _fmt((s.get("median_latency_s") or 0) * 1e3 if s else None, ",.3f"),
                      _fmt((s.get("median_average_power_w") or 0) * 1e3 if s else None, ".3f"),
                      str(len((entry.get("energy") or {}).get("windows", []))),
                      _yes_no((entry.get("summary") or {}).get("scores_match_reference")), _status(entry))


def summary_table(results: dict) -> Table:
    mode = results.get("mode", "performance")
    table = Table(title=f"MLPerf Tiny {mode} on {results.get('board')} ({results.get('target')})")
    {"performance": performance_table, "accuracy": accuracy_table, "energy": energy_table}[mode](results, table)
    return table


def emulation_note(results: dict) -> str:
    mode = results.get("mode")
    if mode == "energy":
        return ("[dim]Emulated energy: exact instruction counts between the timestamp-pin edges, turned into time by "
                "the clock model (1 instruction per cycle at the board clock) and into energy by the board's power "
                "model (boards/<board>.toml \\[power], with its datasheet). Traces: energy_<id>_NNN.csv/.png.[/]")
    if results.get("target") == "renode":  # a note on how that emulator keeps time
        return ("[dim]Emulated under Renode: virtual time runs at 1 instruction per cycle at the board clock; "
                "instructions are counts of executed instructions (not cycles).[/]")
    return ("[dim]Emulated: latency is virtual time under QEMU -icount (1 instruction = 1 ns); "
            "instructions are exact counts of executed instructions (not cycles).[/]")
