#!/usr/bin/env bash
# Unpacks a Renode build for the real-Renode tests into DEST (tinyrig's cache), once per tarball,
# and makes DEST/renode-test-venv with the Python packages Renode's renode-test needs.
#
#   bash scripts/setup_renode.sh ../shared/renode/renode-1.16.0-mono.tar.xz ~/.cache/tinyrig/renode
#
# renode-test gets a venv of its own because Renode pins robotframework==6.1 (its keywords and
# result listener are written against 6.x) while tinyrig's test extra needs robotframework>=7.
# The tests find the unpacked Renode in DEST (tests/renode/conftest.py); users install Renode
# from its releases and point tinyrig at it with PATH or TINYRIG_RENODE.
set -euo pipefail
tarball="$1"
dest="$2"
mkdir -p "$dest"

# The tarball's name, size and time identify it: a different build is unpacked afresh.
stamp="$dest/.unpacked-$(basename "$tarball")-$(stat -c '%s-%Y' "$tarball")"
if [ ! -f "$stamp" ]; then
    started=$(date +%s)
    work="$(mktemp -d "$dest/.unpack.XXXXXX")"
    tar -xJf "$tarball" -C "$work"
    top="$(ls "$work")"
    if [ "$(echo "$top" | wc -l)" -ne 1 ] || [ ! -x "$work/$top/renode" ]; then
        echo "tinyrig setup: $tarball does not hold one Renode folder with a renode launcher" >&2
        rm -rf "$work"
        exit 1
    fi
    rm -rf "${dest:?}/$top" "$dest"/.unpacked-*
    mv "$work/$top" "$dest/$top"
    rmdir "$work"
    echo "$top" > "$stamp"
    echo "tinyrig setup: unpacked $(basename "$tarball") into $dest/$top in $(( $(date +%s) - started )) s"
fi
renode_dir="$dest/$(cat "$stamp")"

venv="$dest/renode-test-venv"
requirements="$renode_dir/tests/requirements.txt"
if [ ! -x "$venv/bin/python" ] || [ "$requirements" -nt "$venv/.installed" ]; then
    echo "tinyrig setup: installing renode-test's Python packages into $venv"
    python3 -m venv "$venv"
    # Renode's own list (robotframework 6.1, psutil, pyyaml, telnetlib3, and its tools' packages).
    (cd "$renode_dir/tests" && "$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt)
    touch "$venv/.installed"
fi
echo "tinyrig setup: Renode for the tests: $renode_dir (tinyrig itself: TINYRIG_RENODE=$renode_dir/renode)"
