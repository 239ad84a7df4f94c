"""How the command line prints a table (tinyrig.hil.results.tables.TableData): a rich table on a
terminal or in a CI log, or TSV / Markdown for tools (`--format`).

The rich table takes the width rich finds (the terminal, else $COLUMNS, else 80) and fits into
it by wrapping text columns; numbers and identifiers are never wrapped or cut. When even that
does not fit, the table is printed wider than the width rather than clip a figure: a CI log has
no right edge, a cut-off `2,490,...` is useless anywhere.
"""

from __future__ import annotations

import click
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from tinyrig.hil.results.tables import BAD, DIM, OK, TableData

FORMATS = ("table", "tsv", "markdown")
TONES = {BAD: "bold red", OK: "green", DIM: "dim"}


def format_option(default: str = "table"):
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default=default, show_default=True,
                        help="table: aligned for people (width from the terminal or $COLUMNS); tsv: one line per "
                             "row, tab-separated, with a header line; markdown: a pipe table.")


def make_console(*, stderr: bool = False) -> Console:
    """A console whose width follows the terminal or $COLUMNS (rich's own rules), never a fixed one."""
    return Console(highlight=False, stderr=stderr)


def rich_table(data: TableData) -> Table:
    table = Table(title=data.title or None)
    for column in data.columns:
        keep = column.numeric or column.whole
        table.add_column(column.name, justify="right" if column.numeric else "left", no_wrap=keep,
                         overflow="fold" if not keep else "ignore")
    for n, row in enumerate(data.rows):
        table.add_row(*(Text(cell.text, style=TONES.get(cell.tone or "", "")) for cell in row),
                      end_section=n in data.rule_after)
    # A kept column is as wide as its widest cell, so rich's squeezing can only wrap text columns.
    for i, (column, col) in enumerate(zip(data.columns, table.columns)):
        if column.numeric or column.whole:
            col.min_width = max([len(word) for word in column.name.split()] + [len(row[i].text) for row in data.rows])
    return table


def print_table(data: TableData, fmt: str = "table", console: Console | None = None) -> None:
    console = console or make_console()
    if fmt == "tsv":
        click.echo(to_tsv(data))
        return
    if fmt == "markdown":
        click.echo(to_markdown(data))
        return
    table = rich_table(data)
    # Measured without a width limit: rich clamps a measurement to the width it is given.
    needed = Measurement.get(console, console.options.update(width=10_000), table).minimum
    width = console.width
    try:
        if needed > width:
            console.width = needed  # wider than the terminal rather than a clipped number
        console.print(table)
    finally:
        console.width = width
    for note in data.notes:
        console.print(Text(note, style="dim"))


def _plain(text: str) -> str:
    return " ".join(text.split())


def to_tsv(data: TableData) -> str:
    """A header line, then one line per row; tabs and line breaks inside cells become spaces."""
    lines = ["\t".join(_plain(c.name) for c in data.columns)]
    lines += ["\t".join(_plain(cell.text) for cell in row) for row in data.rows]
    return "\n".join(lines)


def _md(text: str) -> str:
    return _plain(text).replace("\\", "\\\\").replace("|", "\\|")


def to_markdown(data: TableData) -> str:
    lines = [f"**{_md(data.title)}**", ""] if data.title else []
    lines.append("| " + " | ".join(_md(c.name) for c in data.columns) + " |")
    lines.append("|" + "|".join("---:" if c.numeric else "---" for c in data.columns) + "|")
    lines += ["| " + " | ".join(_md(cell.text) for cell in row) + " |" for row in data.rows]
    if data.notes:
        lines += [""] + [f"_{_md(note)}_" for note in data.notes]
    return "\n".join(lines)
