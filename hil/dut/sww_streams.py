"""Synthetic test streams for the streaming wakeword: audio tinyrig can ship and regenerate.

The official streams mix Speech Commands keywords into MUSAN noise, which tinyrig does not
redistribute (docs/streaming.md says how to point it at them). The shipped streams are made
here, deterministically, with a noise vocoder: 40 carriers (seeded white noise, each shaped by
one of the front end's 40 mel filters) under a spectro-temporal gain pattern, a coarse grid of
GRID_BANDS x GRID_STEPS gains in dB interpolated to 40 bands x KEYWORD_HOPS hops (0.768 s).

* The keyword is the pattern KEYWORD_GRID_DB, found by benchmarks/sww_keyword_search.py: an
  optimiser searched for the vocoded sound that the sww01 model takes for its wakeword,
  scoring every candidate end to end (this synthesis, the firmware's feature code, the int8
  model) over several noise seeds, sub-hop offsets, levels and noise floors, with a penalty
  on rough patterns. It fires on noise and levels it was not tuned on (the search reports it).
* Distractors are patterns drawn from the search's own starting distribution: smooth
  syllable-long energy patterns over the same carriers, i.e. speech-like sounds that are not
  the keyword. The model must stay quiet on them.
* The background is pink noise.

    truth_json = write_test_stream(folder)   # folder/sww_test_stream.wav + sww_test_stream.json
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyrig.codegen.audio_frontend import SPEC, mel_weight_matrix
from tinyrig.hil.dut.audio_files import SAMPLE_RATE, write_wav

GRID_BANDS, GRID_STEPS = 10, 12
KEYWORD_HOPS = 24
KEYWORD_SAMPLES = KEYWORD_HOPS * SPEC.hop
CARRIER_SEED = 1
GRID_RANGE_DB = (-50.0, 0.0)  # gains relative to the pattern's loudest point
# Distractors: grids drawn as the search's starting points are (normal, mean -20 dB, sd 6 dB).
DISTRACTOR_MEAN_DB, DISTRACTOR_SD_DB = -20.0, 6.0

# Found by `python benchmarks/sww_keyword_search.py --seed 1 --generations 1200`: rows are
# frequency (10 points over the 40 mel bands, low to high), columns time (12 points over the
# 24 hops). On held-out conditions it fired in 144 of 144; 0 of 60 distractors fired.
KEYWORD_GRID_DB = np.array((
    (-26, -24, -28, -27, -9, -5, -14, -20, -24, -21, -17, -15),
    (-31, -26, -28, -30, -18, -8, -10, -16, -16, -12, -15, -18),
    (-32, -29, -23, -30, -40, -27, -12, -14, -23, -13, -18, -31),
    (-30, -28, -27, -27, -26, -20, -5, -13, -21, -26, -28, -38),
    (-14, -24, -29, -26, -17, -26, -22, -14, -13, -22, -31, -30),
    (-14, -22, -23, -21, -20, -19, -24, -23, -13, -14, -23, -29),
    (-27, -18, -25, -28, -21, -20, -24, -26, -24, -21, -27, -44),
    (-37, -28, -30, -32, -23, -17, -22, -34, -35, -33, -33, -46),
    (-41, -32, -31, -29, -24, -24, -23, -33, -28, -34, -36, -36),
    (-31, -19, -17, -21, -24, -27, -25, -18, -21, -27, -23, -15),
), dtype=np.float64)


@dataclass(frozen=True)
class Event:
    kind: str  # "keyword" or "distractor"
    start_s: float
    rms_dbfs: float  # level of the sound on its own
    seed: int = 0  # distractor: the grid's seed


def carriers(samples: int, seed: int = CARRIER_SEED) -> np.ndarray:
    """[40, samples] unit-RMS noise carriers, carrier b shaped by mel filter b."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.normal(size=samples))
    freqs = np.fft.rfftfreq(samples, 1.0 / SAMPLE_RATE)
    mel = mel_weight_matrix().astype(np.float64)
    bins = np.linspace(0.0, SAMPLE_RATE / 2.0, mel.shape[0])
    out = np.empty((mel.shape[1], samples))
    for band in range(mel.shape[1]):
        x = np.fft.irfft(spectrum * np.interp(freqs, bins, mel[:, band]), samples)
        out[band] = x / np.sqrt(np.mean(x**2))
    return out


def grid_to_gains(grid_db: np.ndarray) -> np.ndarray:
    """Coarse [GRID_BANDS, GRID_STEPS] dB grid -> [40, KEYWORD_HOPS] dB, linear interpolation."""
    grid_db = np.asarray(grid_db, dtype=np.float64)
    band_pos = np.linspace(0, GRID_BANDS - 1, SPEC.mel_bins)
    step_pos = np.linspace(0, GRID_STEPS - 1, KEYWORD_HOPS)
    by_band = np.array([np.interp(band_pos, np.arange(GRID_BANDS), grid_db[:, j]) for j in range(GRID_STEPS)]).T
    return np.array([np.interp(step_pos, np.arange(GRID_STEPS), row) for row in by_band])


def render_pattern(grid_db: np.ndarray, rms_dbfs: float, carrier_set: np.ndarray | None = None) -> np.ndarray:
    """The vocoded sound (float samples, int16 scale) of a grid, at an RMS level in dBFS."""
    bank = carriers(KEYWORD_SAMPLES) if carrier_set is None else carrier_set
    gains = grid_to_gains(grid_db)
    centres = (np.arange(KEYWORD_HOPS) + 0.5) * SPEC.hop
    t = np.arange(bank.shape[1])
    envelope = np.array([10.0 ** (np.interp(t, centres, row) / 20.0) for row in gains])
    sound = np.sum(envelope * bank, axis=0)
    return sound / np.sqrt(np.mean(sound**2)) * 10.0 ** (rms_dbfs / 20.0) * 32768.0


def distractor_grid(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(DISTRACTOR_MEAN_DB, DISTRACTOR_SD_DB, (GRID_BANDS, GRID_STEPS)), *GRID_RANGE_DB)


def pink_noise(samples: int, seed: int, rms_dbfs: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.normal(size=samples))
    freqs = np.fft.rfftfreq(samples)
    freqs[0] = freqs[1]
    x = np.fft.irfft(spectrum / np.sqrt(freqs), samples)
    return x / np.sqrt(np.mean(x**2)) * 10.0 ** (rms_dbfs / 20.0) * 32768.0


def build_stream(length_s: float, events: list[Event], noise_dbfs: float = -50.0,
                 noise_seed: int = 7) -> tuple[np.ndarray, list[list[float]]]:
    """int16 samples and the truth detection windows ([start, end] of each keyword, s)."""
    total = int(round(length_s * SAMPLE_RATE))
    mix = pink_noise(total, noise_seed, noise_dbfs)
    bank = carriers(KEYWORD_SAMPLES)
    windows = []
    for event in events:
        grid = KEYWORD_GRID_DB if event.kind == "keyword" else distractor_grid(event.seed)
        start = int(round(event.start_s * SAMPLE_RATE))
        if start < 0 or start + KEYWORD_SAMPLES > total:
            raise ValueError(f"{event.kind} at {event.start_s} s does not fit a {length_s} s stream")
        mix[start : start + KEYWORD_SAMPLES] += render_pattern(grid, event.rms_dbfs, bank)
        if event.kind == "keyword":
            windows.append([start / SAMPLE_RATE, (start + KEYWORD_SAMPLES) / SAMPLE_RATE])
    samples = np.clip(np.round(mix), -32768, 32767).astype(np.int16)
    return samples, windows


# The shipped stream: four keywords at different levels and sub-hop offsets, four distractors
# between them, each sound at least 3 s from the next keyword (the runner's scoring window).
TEST_STREAM_S = 24.0
TEST_EVENTS = (
    Event("distractor", 1.20, -24.0, seed=101),
    Event("keyword", 3.71, -26.0),
    Event("distractor", 6.95, -22.0, seed=102),
    Event("keyword", 9.23, -32.0),
    Event("distractor", 12.40, -26.0, seed=103),
    Event("keyword", 14.87, -20.0),
    Event("distractor", 18.10, -28.0, seed=104),
    Event("keyword", 20.64, -29.0),
)


def default_stream() -> tuple[np.ndarray, list[list[float]]]:
    return build_stream(TEST_STREAM_S, list(TEST_EVENTS))


def write_stream(directory: Path, name: str, samples: np.ndarray, windows: list[list[float]]) -> Path:
    """`name`.wav and the runner's truth JSON `name`.json (wav_file, length_sec, detection_windows)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_wav(directory / f"{name}.wav", samples)
    truth = [{"wav_file": f"{name}.wav", "sample_rate": SAMPLE_RATE, "length_sec": len(samples) / SAMPLE_RATE,
              "detection_windows": windows}]
    path = directory / f"{name}.json"
    path.write_text(json.dumps(truth, indent=2) + "\n")
    return path


def write_test_stream(directory: Path) -> Path:
    samples, windows = default_stream()
    return write_stream(directory, "sww_test_stream", samples, windows)
