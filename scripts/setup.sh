#!/usr/bin/env bash
# Sets up tinyrig on a Debian or Ubuntu machine: the Arm toolchain and QEMU from apt (only the
# missing ones; needs root or sudo), a virtual environment in .venv with tinyrig installed
# editable, and tinyrig's QEMU plugin. Safe to run again: it only does what is missing.
# With --test it also installs what the test suite needs beyond that: a PostgreSQL server (the
# results-database tests start their own), Chromium (the HTML report is rendered headless) and
# CMake (the export tests build the exported library as a CMake package).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm gcc g++ make)
if [ "${1:-}" = "--test" ]; then
    APT_PACKAGES+=(postgresql chromium cmake)
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
.venv/bin/tinyrig doctor
