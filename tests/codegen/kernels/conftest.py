"""The kernel tests that build firmware and run it under QEMU need the Arm toolchain, QEMU and a
host gcc (the QEMU plugin): skipped with one clear reason where they are missing."""

from __future__ import annotations

import pytest

from tinyrig_testing import require_tools


@pytest.fixture(scope="module")
def tools():
    require_tools("arm-none-eabi-gcc", "qemu-system-arm", "gcc")


@pytest.fixture(autouse=True)
def _qemu_tools(request):
    if request.node.path.name.endswith("_qemu.py"):
        request.getfixturevalue("tools")
