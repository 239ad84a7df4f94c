"""`--predict`'s line under the run table (hil/results/tables.py prediction_line): it says how the
timed firmware was built, only what was done."""

from __future__ import annotations

from tinyrig.hil.results.tables import prediction_line

BASE = dict(board="my-mcu", clock_hz=80_000_000, flash_wait_states=4, cycles=800_000, zero_wait_cycles=720_000,
            latency_ms=10.0, zero_wait_latency_ms=9.0)


def test_the_line_names_only_what_the_mcu_build_changed():
    loops_and_ram = prediction_line("kws01", {**BASE, "code_for": "my-mcu", "loops_sized_for_cache": True,
                                              "constants_in_ram": True, "ram_bytes": 68_980})
    assert ("(the firmware my-mcu would run: loops sized for its flash cache, its constants copied to RAM at "
            "reset (68,980 B of RAM in all)): 10.00 ms with 4 flash wait states") in loops_and_ram
    # A board with wait states but no instruction cache: the constants alone.
    ram_only = prediction_line("kws01", {**BASE, "code_for": "my-mcu", "loops_sized_for_cache": False,
                                         "constants_in_ram": True, "ram_bytes": 68_980})
    assert "(the firmware my-mcu would run: its constants copied to RAM at reset (68,980 B of RAM in all)):" in ram_only
    assert "loops" not in ram_only
    # Constants that did not fit the MCU's RAM, same cache: nothing to name.
    neither = prediction_line("kws01", {**BASE, "code_for": "my-mcu", "loops_sized_for_cache": False})
    assert "(the firmware my-mcu would run): 10.00 ms" in neither
    # Results from before the field: their own firmware was only ever for the loops.
    older = prediction_line("kws01", {**BASE, "code_for": "my-mcu"})
    assert "(the firmware my-mcu would run: loops sized for its flash cache): 10.00 ms" in older
    # The run's own firmware: no parenthesis.
    assert "my-mcu at 80 MHz: 10.00 ms" in prediction_line("kws01", BASE)


def test_an_image_larger_than_the_mcu_says_so():
    fits = {**BASE, "ram_bytes": 68_980, "flash_bytes": 61_716, "ram_capacity": 98_304, "flash_capacity": 1 << 20}
    assert prediction_line("kws01", fits).endswith("one inference)")
    too_big = {**fits, "ram_bytes": 101_364}
    assert prediction_line("vww01", too_big).endswith(
        "one inference); but the image does not fit my-mcu (101,364 B of RAM for its 98,304 B): no such run exists there")
    both = {**too_big, "flash_bytes": 2 << 20}
    assert "(101,364 B of RAM for its 98,304 B, 2,097,152 B of flash for its 1,048,576 B)" in prediction_line("vww01", both)
    # Records from before the fields: nothing to say.
    assert prediction_line("vww01", {**BASE, "ram_bytes": 101_364}).endswith("one inference)")


def test_some_layers_constants_in_ram_are_named_with_their_share():
    line = prediction_line("ic01", {**BASE, "code_for": "my-mcu", "loops_sized_for_cache": True,
                                    "ram_constant_layers": [0, 1, 2, 4, 5, 6, 10], "constant_bytes_in_ram": 24_352,
                                    "constant_bytes": 88_316, "ram_bytes": 93_268})
    assert ("(the firmware my-mcu would run: loops sized for its flash cache, the constants of 7 layers (24,352 of "
            "88,316 B, those waiting on flash most per byte) copied to RAM at reset (93,268 B of RAM in all)): 10.00 ms") in line
    one = prediction_line("sww01", {**BASE, "code_for": "my-mcu", "loops_sized_for_cache": False,
                                    "ram_constant_layers": [2], "constant_bytes_in_ram": 3_584, "constant_bytes": 63_300})
    assert "(the firmware my-mcu would run: the constants of 1 layer (3,584 of 63,300 B, those waiting on flash most " \
           "per byte) copied to RAM at reset): 10.00 ms" in one
