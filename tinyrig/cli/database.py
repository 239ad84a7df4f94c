"""`tinyrig db check`: the results database's health on the command line."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from tinyrig.cli.exits import Exit
from tinyrig.terminal import for_rich

console = Console(highlight=False, soft_wrap=True)


@click.group("db")
def db_cmd() -> None:
    """The results database."""


@db_cmd.command("check")
@click.option("--db", help="Results database: a SQLite file path or a SQLAlchemy URL (default: $TINYRIG_DB, "
                           "else results.sqlite in tinyrig's data folder).")
def check_cmd(db) -> None:
    """Say what is wrong with the results database, and what to do about it."""
    from tinyrig.hil.results.db import _display, resolve_db_url
    from tinyrig.hil.results.db_check import check_database

    try:
        where = _display(resolve_db_url(db))
    except Exception:  # an unusable --db is reported as a finding below
        where = str(db)
    findings = check_database(db)
    console.print(f"results database {for_rich(where)}")
    for finding in findings:
        console.print(f"{'ok ' if finding.ok else '[bold red]BAD[/]'} {for_rich(finding.text)}")
    sys.exit(int(Exit.OK if all(f.ok for f in findings) else Exit.DATABASE))
