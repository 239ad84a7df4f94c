"""`tinyrig submission build` and `tinyrig submission check`: MLPerf Tiny submission trees from
sessions, and the published checker's rules applied to one. Registered by tinyrig.cli.main."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape

from tinyrig.cli.output import format_option, make_console, print_table
from tinyrig.hil.results.tables import BAD, OK, Cell, Column, TableData

console = make_console()
err_console = make_console(stderr=True)


@click.group("submission")
def submission() -> None:
    """MLPerf Tiny submission trees: build one from sessions, check one against the rules."""


@submission.command("build")
@click.argument("session_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Where the tree goes.")
@click.option("--org", "organization", required=True, help="The submitting organization (a folder name).")
@click.option("--system", required=True, help="The system's name (a folder name; systems/<system>.json).")
@click.option("--division", default="closed", show_default=True, type=click.Choice(["closed", "open"]))
@click.option("--status", default="available", show_default=True, type=click.Choice(["available", "preview", "rdi"]),
              help="The system's availability.")
@click.option("--include-invalid", is_flag=True,
              help="Put emulated or rule-breaking results in too, marked (ERROR lines, no median line).")
def build_cmd(session_dirs, out, organization, system, division, status, include_invalid) -> None:
    """Assemble a submission tree from recorded sessions (performance, accuracy, energy)."""
    from tinyrig.hil.results.submission.tree import SubmissionError, TreeOptions, build_tree

    options = TreeOptions(out=out, organization=organization, system=system, division=division, status=status,
                          include_invalid=include_invalid)
    try:
        result = build_tree(list(session_dirs), options)
    except SubmissionError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(1)
    table = TableData(f"Submission tree {out}", [Column("result folder", whole=True), Column("from session", whole=True),
                                                  Column("valid")])
    for p in result.placements:
        table.add(p.folder, Path(p.session).name, Cell("yes", OK) if p.valid else Cell("NO: " + "; ".join(p.reasons), BAD))
    print_table(table, "table", console)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    console.print(f"check it: tinyrig submission check {out}")


@submission.command("check")
@click.argument("tree", type=click.Path(exists=True, file_okay=False, path_type=Path))
@format_option()
def check_cmd(tree, fmt) -> None:
    """Apply the MLPerf Tiny submission checker's rules (v1.4) to a tree; exits 1 on any error."""
    from tinyrig.hil.results.submission.check import check_tree
    from tinyrig.hil.results.submission.rules import RULES_VERSION

    report = check_tree(tree)
    if report.results:
        table = TableData(f"MLPerf Tiny {RULES_VERSION} results in {tree}",
                          [Column("division"), Column("organization"), Column("system"), Column("model"),
                           Column("inf./sec.", numeric=True), Column("accuracy", numeric=True),
                           Column("energy", numeric=True), Column("result")])
        for r in report.results:
            energy = "-" if r.energy_uj is None else (f"{r.energy_uj:g} mW" if r.model == "sww" else f"{r.energy_uj:g} uJ")
            table.add(r.division, r.organization, r.system, r.model,
                      "-" if r.throughput is None else f"{r.throughput:g}",
                      "-" if r.accuracy is None else f"{r.accuracy:g}", energy,
                      Cell("ok", OK) if r.ok else Cell("NO RESULT", BAD))
        print_table(table, fmt, console)
    for f in report.findings:
        colour = "red" if f.level == "error" else "yellow"
        console.print(f"[{colour}]{f.level}:[/] {escape(f.path)}: {escape(f.message)}")
    if report.ok:
        console.print(f"[green]submission looks OK[/] ({len(report.results)} result(s), {len(report.warnings)} warning(s))")
        return
    console.print(f"[bold red]submission has errors[/]: {len(report.errors)} error(s), "
                  f"{sum(not r.ok for r in report.results)} model(s) without a result")
    sys.exit(1)
