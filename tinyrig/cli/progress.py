"""What `tinyrig run` shows while it works: per benchmark, its stage (locating the model,
building, starting or flashing the target, measuring), the count of windows or files done, the
time spent and the time left.

On a terminal each benchmark gets a live line from its first stage on, so something moves while
firmware builds (a pulsing bar, the stage, the elapsed time). In a CI log every stage and every
finished item is one plain line, with the estimate at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from tinyrig.hil.modes.base import Progress as RunnerProgress
from tinyrig.terminal import first_line, for_rich, printable


@dataclass
class Pace:
    """The time left for one benchmark's items, from the pace of the items measured in this
    run: a resumed session's earlier items took no time here and must not count."""

    started: float | None = None  # when measuring began
    before: int | None = None  # items already done then (known at the first finished item)
    done: int = 0
    total: int = 0
    _clock: object = field(default=time.monotonic, repr=False)

    def start(self) -> None:
        self.started, self.before = self._clock(), None

    def update(self, done: int, total: int) -> None:
        if self.started is None:
            self.start()
        if self.before is None:
            self.before = max(0, done - 1)  # each report is one finished item
        self.done, self.total = done, total

    def seconds_left(self) -> float | None:
        if self.started is None or not self.total:
            return None
        if self.done >= self.total:
            return 0.0
        measured = self.done - (self.before or 0)
        if measured <= 0:
            return None  # nothing finished yet: no pace to go by
        return (self._clock() - self.started) / measured * (self.total - self.done)


def format_eta(seconds: float | None) -> str:
    return "eta -:--:--" if seconds is None else f"eta {timedelta(seconds=round(seconds))}"


class EtaColumn(ProgressColumn):
    def __init__(self, paces: dict[int, Pace]):
        super().__init__()
        self.paces = paces

    def render(self, task) -> Text:
        pace = self.paces.get(task.id)
        return Text(format_eta(pace.seconds_left() if pace else None), style="progress.remaining")


class RunDisplay:
    """The runner's progress callbacks, drawn on `console`; use as a context manager."""

    def __init__(self, console: Console, err_console: Console):
        self.console, self.err_console = console, err_console
        self.live = console.is_terminal
        self.paces: dict[str, Pace] = {}
        self.tasks: dict[str, int] = {}
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            EtaColumn({}), TextColumn("{task.fields[detail]}", markup=False), console=console, transient=False,
                            disable=not self.live)
        self._eta_column = next(c for c in self.bar.columns if isinstance(c, EtaColumn))

    def __enter__(self) -> "RunDisplay":
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def _task(self, bid: str) -> int:
        if bid not in self.tasks:
            self.tasks[bid] = self.bar.add_task(bid, total=None, detail="")
            self._eta_column.paces[self.tasks[bid]] = self.paces.setdefault(bid, Pace())
        return self.tasks[bid]

    def stage(self, bid: str, what: str) -> None:
        pace = self.paces.setdefault(bid, Pace())
        if what.startswith("measuring"):
            pace.start()
        if self.live:
            self.bar.update(self._task(bid), detail=printable(what))
        else:  # stages and details carry paths and dataset file names: escaped
            self.console.print(f"{bid}: {for_rich(what)}", style="dim")

    def advance(self, bid: str, done: int, total: int, detail: str) -> None:
        pace = self.paces.setdefault(bid, Pace())
        pace.update(done, total)
        if self.live:
            self.bar.update(self._task(bid), completed=done, total=total, detail=printable(detail))
        else:
            self.console.print(f"{bid}: {done}/{total} {for_rich(detail)} ({format_eta(pace.seconds_left())})",
                               style="dim")

    def failed(self, bid: str, error: str) -> None:
        if self.live and bid in self.tasks:
            self.bar.update(self.tasks[bid], detail="failed")
        # The headline only: the device's last lines and the traceback are in the session's log.txt.
        self.err_console.print(Text(f"{bid} failed: ", style="bold red") + Text(printable(first_line(error))))

    def callbacks(self) -> RunnerProgress:
        return RunnerProgress(stage=self.stage, advance=self.advance, failed=self.failed)
