#!/usr/bin/env bash
# Sets up tinyrig on a Debian or Ubuntu machine: the Arm toolchain and QEMU from apt (only the
# missing ones; needs root or sudo), a virtual environment in .venv with tinyrig installed
# editable, and tinyrig's QEMU plugin. Safe to run again: it only does what is missing.
# With --test it also installs what the test suite needs beyond that: a PostgreSQL server (the
# results-database tests start their own), Chromium (the HTML report is rendered headless), CMake
# (the export tests build the exported library as a CMake package) and,
# where a Renode build lies beside the repository (../shared/renode/renode-*-mono.tar.xz, as in
# CI), the Mono runtime it needs, the build unpacked into tinyrig's cache and a separate venv
# with the Python packages of its `renode-test` (see docs/renode.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm gcc g++ make)
RENODE_TARBALL=""
if [ "${1:-}" = "--test" ]; then
    APT_PACKAGES+=(postgresql chromium cmake)
    RENODE_TARBALL="$(ls ../shared/renode/renode-*-mono.tar.xz 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$RENODE_TARBALL" ]; then
        # The smallest Mono set Renode 1.16.0 starts, builds machines and runs renode-test with
        # (the assemblies it loads beyond mono-runtime's own: Microsoft.CSharp for IronPython,
        # System.Drawing, Mono.Posix, System.Xml.Linq): 20 packages, 26 MB; mono-complete would add
        # 154 packages, 218 MB.
        APT_PACKAGES+=(mono-runtime libmono-microsoft-csharp4.0-cil libmono-system-drawing4.0-cil
                       libmono-posix4.0-cil libmono-system-xml-linq4.0-cil)
    fi
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

# A Python of 3.11 or newer, with venv: the machine's python3, else Debian's.
python_ok() { command -v python3 >/dev/null && python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
python_ok || missing+=(python3 python3-venv)

if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "tinyrig setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    echo "tinyrig setup: creating .venv"
    python3 -m venv .venv
fi
# Reinstall only when pyproject.toml changed since the last install.
stamp=.venv/.tinyrig-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "tinyrig setup: installing tinyrig and its Python dependencies into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
    touch "$stamp"
fi
if [ -n "$RENODE_TARBALL" ]; then
    bash scripts/setup_renode.sh "$RENODE_TARBALL" "$(.venv/bin/python -c 'from tinyrig.paths import cache_dir; print(cache_dir())')/renode"
fi
.venv/bin/tinyrig doctor
