"""Finding the reference models: a folder the user names, $TINYRIG_MODELS, or tinyrig's cache,
which `tinyrig models fetch` fills from the public mlcommons/tiny repository, checksum-checked."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tinyrig.benchmarks import BENCHMARKS, get_benchmark
from tinyrig.paths import cache_dir

DEFAULT_SOURCE = "https://raw.githubusercontent.com/mlcommons/tiny/master/"


@dataclass(frozen=True)
class ReferenceModel:
    id: str
    repo_path: str  # path inside mlcommons/tiny
    md5: str  # as published beside the reference data (MD5SUMS)


REFERENCE_MODELS = {
    m.id: m
    for m in (
        ReferenceModel("kws01", "benchmark/training/keyword_spotting/trained_models/kws_ref_model.tflite", "618aeb155673dae92fa6a7f26608add5"),
        ReferenceModel("vww01", "benchmark/training/visual_wake_words/trained_models/vww_96_int8.tflite", "f0b011416abee0343a5d130cb1f4c18f"),
        ReferenceModel("ic01", "benchmark/training/image_classification/trained_models/pretrainedResnet_quant.tflite", "2d6dd48722471313e4c4528249205ae3"),
        ReferenceModel("ad01", "benchmark/training/anomaly_detection/trained_models/ad01_int8.tflite", "361fa1b1b871e2068b2ab38d9805ef56"),
        ReferenceModel("sww01", "benchmark/training/streaming_wakeword/trained_models/str_ww_ref_model.tflite", "9643512e0b8a0b6e643e70c2fec496ee"),
    )
}


class ModelNotFoundError(FileNotFoundError):
    pass


class ModelFetchError(RuntimeError):
    pass


def models_cache() -> Path:
    return cache_dir() / "models"


def search_dirs(models_dir: str | Path | None = None) -> list[Path]:
    """The folders searched, in order: --models, $TINYRIG_MODELS, the cache."""
    dirs = []
    if models_dir:
        dirs.append(Path(models_dir).expanduser())
    if os.environ.get("TINYRIG_MODELS"):
        dirs.append(Path(os.environ["TINYRIG_MODELS"]).expanduser())
    dirs.append(models_cache())
    return dirs


def find_model(benchmark_id: str, models_dir: str | Path | None = None) -> Path:
    """`<id>.tflite` or the reference file name (e.g. kws_ref_model.tflite) in the first folder that has it."""
    benchmark = get_benchmark(benchmark_id)
    names = (f"{benchmark.id}.tflite", benchmark.reference_file)
    searched = search_dirs(models_dir)
    try:
        if models_dir and not Path(models_dir).expanduser().is_dir():
            raise ModelNotFoundError(f"--models {models_dir}: no such folder")
        for folder in searched:
            for name in names:
                if (folder / name).is_file():
                    return folder / name
    except OSError as exc:  # a name too long for the file system, a loop of links
        raise ModelNotFoundError(f"cannot look for models in {exc.filename}: {exc.strerror or exc}") from None
    raise ModelNotFoundError(
        f"no model for {benchmark.id} ({' or '.join(names)}) in: {', '.join(map(str, searched))}. "
        f"Point --models or TINYRIG_MODELS at a folder that has it, or run `tinyrig models fetch`."
    )


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def fetch_models(ids: list[str] | None = None, dest: Path | None = None, source: str | None = None,
                 timeout_s: float = 60.0) -> list[Path]:
    """Downloads reference models into `dest` (the cache by default), verifying each MD5.

    `source` is the base URL of a mlcommons/tiny checkout (or a mirror, or a file:// URL of a
    local clone); a file whose checksum does not match is never kept.
    """
    dest = Path(dest) if dest else models_cache()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelFetchError(f"--dest {dest}: cannot make it a folder for the models: {exc.strerror or exc}") from None
    base = source or os.environ.get("TINYRIG_MODELS_URL") or DEFAULT_SOURCE
    if not base.endswith("/"):
        base += "/"
    fetched = []
    for model_id in ids or list(REFERENCE_MODELS):
        if model_id not in REFERENCE_MODELS:
            raise ModelFetchError(f"unknown model {model_id!r}; known: {', '.join(REFERENCE_MODELS)}")
        ref = REFERENCE_MODELS[model_id]
        target = dest / f"{model_id}.tflite"
        if target.is_file() and md5_of(target) == ref.md5:
            fetched.append(target)
            continue
        url = base + ref.repo_path
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                data = response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ModelFetchError(f"{model_id}: cannot download {url}: {exc}") from None
        digest = hashlib.md5(data).hexdigest()
        if digest != ref.md5:
            raise ModelFetchError(f"{model_id}: checksum mismatch for {url}: got md5 {digest}, expected {ref.md5}")
        with tempfile.NamedTemporaryFile(dir=dest, delete=False, suffix=".part") as tmp:
            tmp.write(data)
        os.replace(tmp.name, target)
        fetched.append(target)
    return fetched


assert set(REFERENCE_MODELS) == set(BENCHMARKS)
