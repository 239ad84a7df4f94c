"""Simulated X-NUCLEO-LPM01A speaking its ASCII serial protocol on a pty.

It answers the commands the MLPerf Tiny runner sends (see
tinyrig/hil/power/lpm01a.py for the sources), and on `start` streams a known
energy waveform in `ascii_dec` ("dddd±ee" lines), a `TimeStamp` line every
`freq` samples, and an `event <n> ris` line in front of chosen samples, then
idle samples until `stop`, then a summary and "Acquisition completed".

Faults for the bad-case tests: vanish after N samples, a garbled line at
sample N, an event dropped, no end marker after stop, no answers at all,
samples replaced by other text from sample N on (nan, inf, negative values).
"""

from __future__ import annotations

import math
import re

from tinyrig_testing.pty_sim import PtyInstrument

PROMPT = "PowerShield > "
FREQS = {"100k": 100_000, "50k": 50_000, "20k": 20_000, "10k": 10_000, "5k": 5_000,
         "2k": 2_000, "1k": 1_000, "500": 500, "200": 200, "100": 100}


def encode(value: float) -> tuple[str, float]:
    """Value -> ('dddd±ee', the exact value that string means)."""
    if value <= 0:
        return "0000-10", 0.0
    exp = math.floor(math.log10(value)) - 3  # 4 significant digits
    mant = int(round(value / 10.0**exp))
    if mant >= 10000:  # rounding carried into a 5th digit
        mant //= 10
        exp += 1
    sign = "-" if exp < 0 else "+"
    text = f"{mant:04d}{sign}{abs(exp):02d}"
    return text, mant * 10.0**exp


class LPM01ASim(PtyInstrument):
    def __init__(
        self,
        energy_j,  # the scripted waveform, J per sample
        events=(),  # sample indices that an event line precedes
        *,
        idle_j: float = 1.0e-6,
        vanish_after: int | None = None,
        garble_at: int | None = None,
        drop_events: tuple[int, ...] = (),
        no_end_marker: bool = False,
        mute: bool = False,
        values_per_line: int = 1,
        replace_from: int | None = None,
        replacement: str = "nan",
    ) -> None:
        super().__init__()
        self.script = list(energy_j)
        self.events = set(events)
        self.idle_j = idle_j
        self.vanish_after = vanish_after
        self.garble_at = garble_at
        self.drop_events = set(drop_events)
        self.no_end_marker = no_end_marker
        self.mute = mute
        self.values_per_line = values_per_line
        self.replace_from = replace_from
        self.replacement = replacement
        self.sent: list[float] = []  # decoded value of every sample sent
        self.state = {"htc": False, "volt": 3300, "freq": "100", "output": "current",
                      "format": "ascii_dec", "eventsrc": None, "pwr": "off"}
        self.commands: list[str] = []

    # -- protocol ----------------------------------------------------------
    def reply(self, text: str) -> None:
        self.send(f"\r\n{PROMPT}{text}\r\n".encode())

    def next_command(self, timeout_s: float) -> str | None:
        """The next command line from the host, or None after timeout_s."""
        if b"\n" not in self._inbuf:
            self._inbuf += self.read_available(timeout_s)
        if b"\n" not in self._inbuf:
            return None
        line, self._inbuf = self._inbuf.split(b"\n", 1)
        cmd = line.decode(errors="replace").strip("\r ")
        self.commands.append(cmd)
        return cmd

    def serve(self) -> None:
        self._inbuf = b""
        while not self.stopping:
            cmd = self.next_command(0.05)
            if cmd and not self.mute:
                self.handle(cmd)

    def handle(self, cmd: str) -> None:
        verb, _, arg = cmd.partition(" ")
        if verb == "htc":
            self.state["htc"] = True
            return self.reply("ack htc")
        if verb == "hrc":
            self.state["htc"] = False
            return self.reply("ack hrc")
        if not self.state["htc"]:
            return self.reply(f"error {cmd}\r\nError detail: host has not taken control (htc)")
        if verb == "powershield":
            return self.reply("ack powershield 540554545-1430736921-1900587")
        if verb == "version":
            return self.reply("ack version 1.0.7")
        if verb == "volt":
            m = re.fullmatch(r"(\d+)m", arg)
            if not m or not 1800 <= int(m.group(1)) <= 3300:
                return self.reply(f"error {cmd}\r\nError detail: voltage out of range [1800m; 3300m]")
            self.state["volt"] = int(m.group(1))
            return self.reply(f"ack {cmd}")
        if verb == "freq":
            if arg not in FREQS:
                return self.reply(f"error {cmd}\r\nError detail: invalid frequency")
            self.state["freq"] = arg
            return self.reply(f"ack {cmd}")
        if verb in ("output", "format", "eventsrc", "acqtime", "trigdelay", "trigsrc", "lcd"):
            self.state[verb] = arg
            return self.reply(f"ack {cmd}")
        if verb == "pwr":
            self.state["pwr"] = arg.split()[0]
            return self.reply(f"ack {cmd}")
        if verb == "start":
            self.reply("ack start")
            return self.acquire()
        return self.reply(f"error {cmd}\r\nError detail: unknown command")

    def acquire(self) -> None:
        freq = FREQS[self.state["freq"]]
        n_sent = 0
        event_no = 0
        pending: list[str] = []
        script = iter(self.script)
        stop_seen = False
        while True:
            value = next(script, None)
            if value is None:
                # Script done: idle samples until the host sends `stop`,
                # checking for it every 100 samples.
                if self.stopping:
                    break
                cmd = self.next_command(0.01)
                if cmd == "stop":  # `stop` is not acked (see the driver)
                    stop_seen = True
                    break
                value = self.idle_j
            if n_sent in self.events:
                event_no += 1
                if n_sent not in self.drop_events:
                    pending.append(f"event {event_no} ris")
            if self.vanish_after is not None and n_sent >= self.vanish_after:
                self.flush(pending)
                self.wait_host_drained()
                self.vanish()
                return
            if n_sent == self.garble_at:
                pending.append("64#9-07")
            text, exact = encode(value)
            if self.replace_from is not None and n_sent >= self.replace_from:
                text = self.replacement  # what a broken instrument or cable sends instead
            self.sent.append(exact)
            pending.append(text)
            n_sent += 1
            if n_sent % freq == 0:
                s, ms = divmod(n_sent * 1000 // freq, 1000)
                pending.append(f"TimeStamp: {s:03d}s {ms:03d}ms, buff 00%")
            if len(pending) >= 64:
                self.flush(pending)
        self.flush(pending)
        if stop_seen and not self.no_end_marker:
            self.send(b"\r\nsummary beg\r\nsummary end\r\n" + f"{PROMPT}Acquisition completed\r\n".encode())

    def flush(self, pending: list[str]) -> None:
        if not pending:
            return
        out: list[str] = []
        run: list[str] = []
        # Optionally pack several values on one line, which the real stream
        # does at high rates (the runner's regex splits them).
        for item in pending:
            if self.values_per_line > 1 and re.fullmatch(r"\d{4}[+-]\d{2}", item):
                run.append(item)
                if len(run) == self.values_per_line:
                    out.append("".join(run))
                    run = []
            else:
                if run:
                    out.append("".join(run))
                    run = []
                out.append(item)
        if run:
            out.append("".join(run))
        pending.clear()
        self.send(("\r\n".join(out) + "\r\n").encode())
