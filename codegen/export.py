"""`tinyrig export`: the model and the MLPerf Tiny API shim as a library for a vendor's own SDK.

MLPerf Tiny lets a submitter integrate at any layer. A vendor with STM32Cube, MCUXpresso, Zephyr
or ESP-IDF keeps its own startup, clocks and drivers and takes from tinyrig only what runs the
benchmark: the compiled model (weights, generated invoke, the core's kernels) and the API shim
(protocol parser, th_* calls). The library reaches the board through five functions the vendor
writes (include/tinyrig_port.h) and builds as a CMake package, a PlatformIO library or a Zephyr
module.

The model, the shim and the console formatter are rendered by the same functions and templates as
a board project (firmware.py); only board.h differs: here it maps the shim's board calls onto the
vendor's port (templates/export/src/tinyrig_glue.cpp).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import tinyrig
from tinyrig.benchmarks import Benchmark
from tinyrig.boards.schema import CORES
from tinyrig.codegen.engine import REFERENCE, compile_model
from tinyrig.codegen.firmware import (
    TAG_PLACEHOLDER,
    check_benchmark_fits_model,
    model_sources,
    render_api_shim,
    stamp_firmware_tag,
    template_environment,
    write_files,
)

# The cores a board file may name, plus the portable kernels for any other processor.
EXPORT_CORES = (*CORES, REFERENCE)
MANIFEST_NAME = "tinyrig-export.json"
# The MLPerf Tiny runner's console rates (performance and accuracy; energy, through its IO manager).
PERFORMANCE_BAUD = 115200
ENERGY_BAUD = 9600
# The files of the library proper; the rest (build descriptions, README, the host example) travels
# beside it and does not change what the device prints.
LIBRARY_DIRS = ("src/", "include/")


class ExportError(ValueError):
    """An export that cannot be made; the message names what and where."""


@dataclass(frozen=True)
class PortConsole:
    baud: int = PERFORMANCE_BAUD
    energy_baud: int = ENERGY_BAUD


@dataclass(frozen=True)
class PortBoard:
    """What the shared API shim templates read from a board, for a vendor's own port: a name for
    the version string and the console rates the energy-mode init is told; no drivers of tinyrig's."""

    name: str
    core: str
    console: PortConsole = PortConsole()
    is_emulated: bool = False


@dataclass
class ExportedLibrary:
    directory: Path
    benchmark: str
    core: str
    model_sha256: str
    source_sha256: str
    arena_bytes: int
    weight_bytes: int
    total_macs: int
    tinyrig_version: str = tinyrig.__version__
    files: list[str] = field(default_factory=list)

    def manifest(self) -> dict:
        data = dict(self.__dict__)
        data["directory"] = "."
        return data


def _export_templates_dir() -> Path:
    from tinyrig import templates

    return Path(templates.__file__).resolve().parent / "export"


def _static_sources() -> dict[str, str]:
    """Files copied as they are (template name -> output path)."""
    return {
        "include/tinyrig_port.h": "include/tinyrig_port.h",
        "src/tinyrig_glue.cpp": "src/tinyrig_glue.cpp",
        "examples/host/port_host.c": "examples/host/port_host.c",
        "tinyrig_mlperfConfig.cmake": "tinyrig_mlperfConfig.cmake",
        "zephyr/module.yml": "zephyr/module.yml",
        "zephyr/Kconfig": "zephyr/Kconfig",
        "zephyr/CMakeLists.txt": "zephyr/CMakeLists.txt",
    }


def _library_json(benchmark: Benchmark, core: str, version: str) -> str:
    manifest = {
        "name": f"tinyrig-mlperf-{benchmark.id}",
        "version": version,
        "description": f"MLPerf Tiny {benchmark.id} for {core}: the model compiled ahead of time and the "
                       "MLPerf Tiny API shim, ported through five functions (tinyrig_port.h).",
        "keywords": ["mlperf", "tinyml", "benchmark", benchmark.id],
        "license": "Apache-2.0",
        "frameworks": "*",
        "platforms": "*",
        "headers": ["tinyrig_benchmark.h", "tinyrig_port.h"],
        "build": {
            "includeDir": "include",
            "srcDir": "src",
            # Two roundings for a*b+c, so the device prints the host reference's scores; the library
            # throws nothing, so it needs no unwinder.
            "flags": ["-ffp-contract=off", "-fno-exceptions"],
        },
        "export": {"include": ["include", "src", "library.json", "README.md"]},
    }
    return json.dumps(manifest, indent=2) + "\n"


def export_library(model: Path, benchmark: Benchmark, core: str, out_dir: Path) -> ExportedLibrary:
    """Write the library for `benchmark`'s model, with kernels for `core`, into `out_dir`."""
    if benchmark.streaming:
        raise ExportError(f"{benchmark.id} streams audio from an input device and signals detections on pins, which "
                          "the five port functions do not cover; export one of the single-inference benchmarks")
    if core not in EXPORT_CORES:
        raise ExportError(f"core {core!r} is not one tinyrig builds kernels for; use one of {', '.join(EXPORT_CORES)}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir}: exists and is not a folder")
    model = Path(model)
    model_bytes = model.read_bytes()
    compiled = compile_model(model, core=core)
    check_benchmark_fits_model(benchmark, compiled)

    port = PortBoard(name=f"{core}-port", core=core)
    context = {"board": port, "core": core, "benchmark": benchmark, "version": tinyrig.__version__,
               "db_buffer_region": "",
               "compiled": compiled, "firmware_tag": TAG_PLACEHOLDER}
    firmware_env = template_environment()
    export_env = template_environment(_export_templates_dir())

    files = model_sources(compiled)
    files.update(render_api_shim(firmware_env, context))
    files["src/board.h"] = export_env.get_template("src/board.h.j2").render(context)
    files["include/tinyrig_benchmark.h"] = export_env.get_template("include/tinyrig_benchmark.h.j2").render(context)
    for template, rel in _static_sources().items():
        files[rel] = export_env.get_template(template).render(context)
    library = {rel: text for rel, text in files.items() if rel.startswith(LIBRARY_DIRS)}
    source_sha256 = stamp_firmware_tag(library)
    files.update(library)

    sources = sorted(rel for rel in library if rel.endswith((".c", ".cc", ".cpp")))
    files["cmake/tinyrig_mlperf.cmake"] = export_env.get_template("cmake/tinyrig_mlperf.cmake.j2").render(
        context, sources=sources)
    files["CMakeLists.txt"] = export_env.get_template("CMakeLists.txt.j2").render(context)
    files["library.json"] = _library_json(benchmark, core, tinyrig.__version__)
    files["README.md"] = export_env.get_template("README.md.j2").render(
        context, model_name=model.name, firmware_tag=source_sha256[:12])

    write_files(out_dir, files)
    exported = ExportedLibrary(
        directory=out_dir,
        benchmark=benchmark.id,
        core=core,
        model_sha256=hashlib.sha256(model_bytes).hexdigest(),
        source_sha256=source_sha256,
        arena_bytes=compiled.arena_bytes,
        weight_bytes=compiled.weight_bytes,
        total_macs=compiled.total_macs,
        files=sorted(files),
    )
    (out_dir / MANIFEST_NAME).write_text(json.dumps(exported.manifest(), indent=2) + "\n")
    return exported
