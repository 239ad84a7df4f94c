"""tinyrig: MLPerf Tiny firmware generator and hardware-in-the-loop bench."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("tinyrig")
except _metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"
