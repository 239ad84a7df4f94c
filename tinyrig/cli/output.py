"""How the command line prints a table (tinyrig.hil.results.tables.TableData): a rich table on a
terminal or in a CI log, or TSV / Markdown for tools (`--format`).

The rich table takes the width rich finds (the terminal, else $COLUMNS, else 80) and fits into
it by wrapping text columns; numbers and identifiers are never wrapped or cut. When even that
does not fit, the table is printed wider than the width rather than clip a figure: a CI log has
no right edge, a cut-off `2,490,...` is useless anywhere.
"""

from __future__ import annotations

import re

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tinyrig.hil.results.tables import BAD, DIM, OK, TableData

FORMATS = ("table", "tsv", "markdown")
TONES = {BAD: "bold red", OK: "green", DIM: "dim"}
HEADER_WORD = re.compile(r"[^\s/]+/?|/")
TEXT_WORD = 24  # a longer word in a text column (a path, an error) is folded


def format_option(default: str = "table"):
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default=default, show_default=True,
                        help="table: aligned for people (width from the terminal or $COLUMNS); tsv: one line per "
                             "row, tab-separated, with a header line; markdown: a pipe table.")


def make_console(*, stderr: bool = False) -> Console:
    """A console whose width follows the terminal or $COLUMNS (rich's own rules), never a fixed one."""
    # soft_wrap: a message line is never broken at the width (a session id or a path in it stays
    # whole for copying); tables are laid out to the width by print_table.
    return Console(highlight=False, stderr=stderr, soft_wrap=True)


def column_widths(data: TableData, available: int) -> list[int]:
    """Widths that fit `available` characters of cell text where that is possible: each column
    starts as wide as its widest line; while too wide, the column with the most room to give
    shrinks by one, text columns before number columns (whose headers then wrap), never below
    a column's floor: its longest cell for numbers and identifiers, its longest word (up to
    TEXT_WORD) for text."""
    widths, floors, numbers = [], [], []
    for i, column in enumerate(data.columns):
        cells = [row[i].text for row in data.rows]
        words = [len(w) for w in HEADER_WORD.findall(column.name)] + [1]  # "instructions/" "inference"
        widest = max([len(column.name)] + [len(c) for c in cells])
        if column.numeric or column.whole:
            floor = max(words + [len(c) for c in cells])
        else:
            floor = min(TEXT_WORD, max(words + [len(w) for c in cells for w in c.split()]))
        widths.append(widest)
        floors.append(min(floor, widest))
        numbers.append(column.numeric or column.whole)
    excess = sum(widths) - available
    for shrink_numbers in (False, True):
        while excess > 0:
            slack = [(widths[i] - floors[i], i) for i in range(len(widths)) if numbers[i] == shrink_numbers]
            room, i = max(slack, default=(0, -1))
            if room <= 0:
                break
            widths[i] -= 1
            excess -= 1
    return widths


def wrap_header(name: str, width: int) -> str:
    """A header broken into lines of at most `width` at spaces and after slashes
    ("energy/" "inference (uJ)"), where rich would break only at spaces and fold the rest."""
    lines, line = [], ""
    for piece in re.findall(r"[^\s/]*/|[^\s/]+|\s+", name):
        if piece.isspace():
            piece = " "
        if line and len(line.rstrip() + piece.rstrip()) > width:
            lines.append(line.rstrip())
            line = "" if piece == " " else piece
        else:
            line += piece
    lines.append(line.rstrip())
    return "\n".join(l for l in lines if l)


def rich_table(data: TableData, available: int) -> Table:
    """The table laid out for a console `available` characters wide (or wider, when even the
    floors of its columns do not fit)."""
    overhead = 3 * len(data.columns) + 1  # borders and one space of padding on each side of a cell
    table = Table(title=data.title or None)
    for column, width in zip(data.columns, column_widths(data, available - overhead)):
        table.add_column(wrap_header(column.name, width), justify="right" if column.numeric else "left", width=width,
                         overflow="fold")
    for n, row in enumerate(data.rows):
        table.add_row(*(Text(cell.text, style=TONES.get(cell.tone or "", "")) for cell in row),
                      end_section=n in data.rule_after)
    return table


def print_table(data: TableData, fmt: str = "table", console: Console | None = None) -> None:
    console = console or make_console()
    if fmt == "tsv":
        click.echo(to_tsv(data))
        return
    if fmt == "markdown":
        click.echo(to_markdown(data))
        return
    width = console.width
    table = rich_table(data, width)
    needed = sum(c.width for c in table.columns) + 3 * len(table.columns) + 1
    try:
        if needed > width:
            console.width = needed  # wider than the terminal rather than a cut number
        console.print(table)
    finally:
        console.width = width
    for note in data.notes:
        console.print(Text(note, style="dim"))


def _plain(text: str) -> str:
    return " ".join(text.split())


def to_tsv(data: TableData) -> str:
    """A header line, then one line per row; tabs and line breaks inside cells become spaces,
    and numbers lose their thousands separators (for spreadsheets and scripts)."""
    lines = ["\t".join(_plain(c.name) for c in data.columns)]
    for row in data.rows:
        lines.append("\t".join(_plain(cell.text).replace(",", "") if column.numeric else _plain(cell.text)
                               for column, cell in zip(data.columns, row)))
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
