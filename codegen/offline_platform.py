"""Put tinyrig's offline PlatformIO platform inside a generated project, so that the project
builds with plain PlatformIO on any machine, without a tinyrig checkout.

platformio.ini then names the platform and its SCons package by paths relative to the project
(`symlink://.tinyrig/platform-<hash>`): PlatformIO resolves a relative `symlink://` from the
project folder and records that folder in its core dir. It also reuses an installed package whose
written path equals the one asked for, even one recorded from another project. So each bundled
folder is named after a hash of its content: two projects share an installed link only when they
hold the same bytes, and a newer tinyrig's platform never builds with an older one's builder.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import tinyrig

PLATFORMIO_DIR = Path(tinyrig.__file__).resolve().parent / "platformio"
BUNDLE_DIR = ".tinyrig"
# What PlatformIO reads from each package folder; caches and compiled Python never travel.
_PACKAGES = ("platform", "tool-scons")
_IGNORED = ("__pycache__", "*.pyc")


@dataclass(frozen=True)
class BundledPlatform:
    """Where the bundled packages sit, relative to the project (forward slashes, as the ini wants)."""

    platform: str
    scons: str


def _package_files(package: str) -> list[Path]:
    root = PLATFORMIO_DIR / package
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def _content_name(package: str) -> str:
    root = PLATFORMIO_DIR / package
    digest = hashlib.sha256()
    for path in _package_files(package):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{package}-{digest.hexdigest()[:12]}"


def bundled_platform() -> BundledPlatform:
    """The relative paths a project gets (without writing anything)."""
    platform, scons = (f"{BUNDLE_DIR}/{_content_name(p)}" for p in _PACKAGES)
    return BundledPlatform(platform=platform, scons=scons)


def bundle_offline_platform(project_dir: Path) -> BundledPlatform:
    """Copy the platform and tool-scons into `project_dir/.tinyrig/`, dropping older copies."""
    bundle = bundled_platform()
    target = Path(project_dir) / BUNDLE_DIR
    target.mkdir(parents=True, exist_ok=True)
    wanted = {Path(bundle.platform).name: "platform", Path(bundle.scons).name: "tool-scons"}
    # Copied afresh every time: a folder's name promises its content, so an edited copy must not stay.
    for existing in target.iterdir():
        if existing.is_dir() and existing.name.startswith(_PACKAGES):
            shutil.rmtree(existing)
    for name, package in wanted.items():
        shutil.copytree(PLATFORMIO_DIR / package, target / name, ignore=shutil.ignore_patterns(*_IGNORED))
    return bundle
