"""Audio files for the streaming wakeword: 16 kHz 16-bit wav in, raw samples out for the firmware.

The official streams (long_wav.wav & co.) are 16 kHz, 16-bit PCM, one or two channels; like the
reference DUT (which takes the left I2S channel) and the runner's UART tool, tinyrig streams
the first channel. The emulated firmware reads raw little-endian int16 samples (no header).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000


class AudioFileError(ValueError):
    """An audio file tinyrig cannot stream (missing, not PCM wav, wrong rate or width)."""


def _open(path: Path, read_frames: bool) -> tuple[int, bytes]:
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            data = wav.readframes(wav.getnframes()) if read_frames else b""
    except FileNotFoundError:
        raise AudioFileError(f"{path}: no such audio file") from None
    except (wave.Error, EOFError) as exc:
        raise AudioFileError(f"{path}: not a PCM wav file ({exc})") from None
    if width != 2:
        raise AudioFileError(f"{path}: {8 * width}-bit samples; the streaming wakeword takes 16-bit PCM")
    if rate != SAMPLE_RATE:
        raise AudioFileError(f"{path}: {rate} Hz; the streaming wakeword takes {SAMPLE_RATE} Hz")
    return channels, data


def check_wav(path: Path) -> None:
    """Raises AudioFileError unless the file is a wav tinyrig can stream (reads the header only)."""
    _open(Path(path), read_frames=False)


def read_wav(path: Path) -> np.ndarray:
    """The first channel of a 16 kHz 16-bit PCM wav as int16 samples."""
    channels, data = _open(Path(path), read_frames=True)
    samples = np.frombuffer(data, dtype="<i2")
    return samples.reshape(-1, channels)[:, 0].astype(np.int16)


def write_wav(path: Path, samples: np.ndarray) -> Path:
    path = Path(path)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return path


def write_pcm(path: Path, samples: np.ndarray) -> Path:
    """Raw little-endian int16: what `tinyrig audio PATH` makes the emulated firmware stream."""
    path = Path(path)
    path.write_bytes(np.asarray(samples, dtype="<i2").tobytes())
    return path
