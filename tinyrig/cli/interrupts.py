"""Every tinyrig command ends the same way when it is stopped: SIGTERM (a CI job's timeout, `kill`)
is raised as KeyboardInterrupt like Ctrl-C, so the `with` blocks and `finally` clauses below the
command run (a PlatformIO build's process group is killed, an emulator stopped), then one line and
the documented status (130 / 143) instead of click's "Aborted!" with status 1, which scripts read
as a failed benchmark, or Python's silent death by SIGTERM, which skips all clean-up.

`tinyrig run` catches the interrupt itself first, to mark its session resumable and say how to
resume; this is for every other command."""

from __future__ import annotations

import sys

import click

from tinyrig.cli.exits import Exit
from tinyrig.hil.run.signals import by_sigterm, terminate_as_interrupt


def interrupt_status(interrupt: KeyboardInterrupt) -> Exit:
    """130 for Ctrl-C, 143 for SIGTERM."""
    return Exit.TERMINATED if by_sigterm(interrupt) else Exit.INTERRUPTED


class InterruptibleGroup(click.Group):
    """A click group whose commands run with SIGTERM raised as KeyboardInterrupt."""

    def invoke(self, ctx: click.Context):
        with terminate_as_interrupt():
            try:
                return super().invoke(ctx)
            except KeyboardInterrupt as exc:
                command = " ".join(filter(None, ["tinyrig", ctx.invoked_subcommand]))
                click.echo(f"{'terminated (SIGTERM)' if by_sigterm(exc) else 'interrupted (Ctrl-C)'}: {command} "
                           "stopped; the processes it had started were stopped with it", err=True)
                sys.exit(int(interrupt_status(exc)))
