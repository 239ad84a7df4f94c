"""Simulated Nordic PPK2 speaking its binary USB-CDC protocol on a pty.

Opcodes and the sample layout follow ppk2-api 0.9.2 (PPK2_Command, masks
MEAS_ADC/MEAS_RANGE/MEAS_LOGIC) and pc-nrfconnect-ppk (MEAS_COUNTER, bits
18..23).  On 0x19 it sends calibration metadata ("NAME: VALUE" lines, "END");
on 0x06 it streams a scripted current waveform with logic levels, then idle
samples until 0x07.  The calibration coefficients are deliberately not the
identity, so a decoder that skips a term is caught.
"""

from __future__ import annotations

import numpy as np

from tinyrig_testing.pty_sim import PtyInstrument

ADC_MULT = 1.8 / 163840
R = [1031.64, 101.65, 10.15, 0.94, 0.043]
CAL = {  # per range 0..4
    "R": R,
    "GS": [2.0e-3, 1.5e-3, 1.0e-3, 5.0e-4, 1.0e-4],
    "GI": [1.002, 0.998, 1.001, 0.997, 1.003],
    "O": [10.0, 12.0, 8.0, 40.0, 60.0],
    "S": [1.0e-8, 2.0e-8, 1.0e-7, 1.0e-6, 1.0e-5],
    "I": [-2.0e-9, 1.0e-8, -5.0e-8, 2.0e-7, 1.0e-6],
    "UG": [1.0, 1.01, 0.99, 1.02, 1.0],
}
ARG_BYTES = {0x0D: 2, 0x11: 1, 0x0C: 1, 0x06: 0, 0x07: 0, 0x19: 0, 0x20: 0, 0x08: 1, 0x25: 5}


def metadata_text(vdd_mv: int = 3000) -> str:
    lines = ["Calibrated: 1"]
    for key, values in CAL.items():
        lines += [f"{key}{r}: {v!r}" for r, v in enumerate(values)]
    lines += ["HW: 9173", "IA: 56", f"VDD: {vdd_mv}", "mode: 2", "END"]
    return "\n".join(lines) + "\n"


def forward(count: np.ndarray, rng: np.ndarray, vdd_v: float) -> np.ndarray:
    """What a PPK2 sample (ADC count, range) means in amps: ppk2-api's formula."""
    c = {k: np.asarray(v)[rng] for k, v in CAL.items()}
    wg = (count * 4 - c["O"]) * (ADC_MULT / c["R"])
    return c["UG"] * (wg * (c["GS"] * wg + c["GI"]) + (c["S"] * vdd_v + c["I"]))


def encode(current_a: np.ndarray, vdd_v: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Amps -> (ADC count, range, the amps that encoding decodes to).

    Like the instrument, use the most sensitive range that does not saturate.
    """
    cur = np.asarray(current_a, dtype=np.float64)
    count = np.zeros(cur.size, dtype=np.int64)
    rng = np.full(cur.size, -1, dtype=np.int64)
    for r in range(5):
        gs, gi, o, s, i, ug = (CAL[k][r] for k in ("GS", "GI", "O", "S", "I", "UG"))
        target = cur / ug - (s * vdd_v + i)
        wg = (-gi + np.sqrt(gi * gi + 4 * gs * target)) / (2 * gs)  # solve gs*wg^2 + gi*wg = target
        c = np.rint((wg * R[r] / ADC_MULT + o) / 4).astype(np.int64)
        fits = (rng < 0) & (c >= 0) & (c <= 0x3FFF)
        count[fits], rng[fits] = c[fits], r
    assert (rng >= 0).all(), "current outside the PPK2's ranges"
    return count, rng, forward(count, rng, vdd_v)


class PPK2Sim(PtyInstrument):
    def __init__(
        self,
        current_a,
        logic,  # uint8 per sample, D0..D7
        *,
        idle_a: float = 1e-4,
        idle_logic: int = 0xFF,
        vanish_after: int | None = None,
        garble_at: int | None = None,
        mute: bool = False,
        ignore_stop: bool = False,
    ) -> None:
        super().__init__()
        self.script_a = np.asarray(current_a, dtype=np.float64)
        self.script_logic = np.asarray(logic, dtype=np.uint8)
        self.idle_a, self.idle_logic = idle_a, idle_logic
        self.vanish_after, self.garble_at = vanish_after, garble_at
        self.mute, self.ignore_stop = mute, ignore_stop
        self.vdd_mv = 3000
        self.mode = None
        self.dut_power = False
        self.sent_a: list[np.ndarray] = []  # what each streamed sample decodes to
        self.opcodes: list[int] = []
        self._counter = 0
        self._inbuf = bytearray()

    @property
    def sent(self) -> np.ndarray:
        return np.concatenate(self.sent_a) if self.sent_a else np.zeros(0)

    def next_command(self, timeout_s: float):
        """(opcode, args) once a whole command has arrived, else None."""
        if not self._inbuf:
            self._inbuf += self.read_available(timeout_s)
        if not self._inbuf:
            return None
        op = self._inbuf[0]
        need = 1 + ARG_BYTES.get(op, 0)
        while len(self._inbuf) < need and not self.stopping:
            self._inbuf += self.read_available(timeout_s)
        if len(self._inbuf) < need:
            return None
        args = bytes(self._inbuf[1:need])
        del self._inbuf[:need]
        self.opcodes.append(op)
        return op, args

    def serve(self) -> None:
        while not self.stopping:
            cmd = self.next_command(0.05)
            if cmd is None or self.mute:
                continue
            op, args = cmd
            if op == 0x19:
                self.send(metadata_text(self.vdd_mv).encode())
            elif op == 0x0D:  # ppk2-api _convert_source_voltage, inverted
                self.vdd_mv = (args[0] - 3) * 256 + args[1] + 800 - 32
            elif op == 0x11:
                self.mode = {1: "ampere", 2: "source"}[args[0]]
            elif op == 0x0C:
                self.dut_power = bool(args[0])
            elif op == 0x06:
                self.stream()

    def words(self, current_a: np.ndarray, logic: np.ndarray) -> bytes:
        count, rng, exact = encode(current_a, self.vdd_mv / 1000)
        counter = (self._counter + np.arange(count.size)) & 0x3F
        self._counter = int((self._counter + count.size) & 0x3F)
        w = (count | (rng << 14) | (counter << 18) | (logic.astype(np.int64) << 24)).astype("<u4")
        self.sent_a.append(exact)
        return w.tobytes()

    def stream(self) -> None:
        n = self.script_a.size
        chunk = 4096
        pos = 0
        while pos < n:
            end = min(n, pos + chunk)
            if self.vanish_after is not None and end >= self.vanish_after:
                end = self.vanish_after
                self.send(self.words(self.script_a[pos:end], self.script_logic[pos:end]))
                self.wait_host_drained()
                self.vanish()
                return
            data = self.words(self.script_a[pos:end], self.script_logic[pos:end])
            if self.garble_at is not None and pos <= self.garble_at < end:
                cut = (self.garble_at - pos) * 4
                data = data[:cut] + b"\x5a" + data[cut:]  # one stray byte: framing slips
            self.send(data)
            pos = end
        # Idle until the stop opcode, 1000 samples (10 ms of data) at a time.
        idle = np.full(1000, self.idle_a)
        idle_logic = np.full(1000, self.idle_logic, dtype=np.uint8)
        while not self.stopping:
            cmd = self.next_command(0.01)
            if cmd is not None and cmd[0] == 0x07 and not self.ignore_stop:
                return
            self.send(self.words(idle, idle_logic))
