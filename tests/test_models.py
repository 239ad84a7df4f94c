"""Finding models (--models, $TINYRIG_MODELS, cache) and fetching them with checksum checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tinyrig.models import REFERENCE_MODELS, ModelFetchError, ModelNotFoundError, fetch_models, find_model


def test_search_order(tmp_path, monkeypatch):
    a, b, cache = tmp_path / "a", tmp_path / "b", tmp_path / "cache"
    for d in (a, b):
        d.mkdir()
    (b / "kws01.tflite").write_bytes(b"b")
    (a / "kws_ref_model.tflite").write_bytes(b"a")  # the reference file name counts too
    monkeypatch.setenv("TINYRIG_MODELS", str(b))
    monkeypatch.setenv("TINYRIG_CACHE", str(cache))
    assert find_model("kws01", a) == a / "kws_ref_model.tflite"
    assert find_model("kws01") == b / "kws01.tflite"
    with pytest.raises(ModelNotFoundError, match="vww01.*tinyrig models fetch"):
        find_model("vww01")
    with pytest.raises(ModelNotFoundError, match="no such folder"):
        find_model("kws01", tmp_path / "missing")


def _mirror(tmp_path: Path, models_dir: Path) -> str:
    """A local copy laid out like the mlcommons/tiny repository, served as a file:// URL."""
    root = tmp_path / "mirror"
    for model_id, ref in REFERENCE_MODELS.items():
        target = root / ref.repo_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(models_dir / f"{model_id}.tflite", target)
    return root.as_uri() + "/"


def test_fetch_verifies_checksums(tmp_path, models_dir):
    source = _mirror(tmp_path, models_dir)
    dest = tmp_path / "dest"
    paths = fetch_models(["kws01", "ad01"], dest, source)
    assert [p.name for p in paths] == ["kws01.tflite", "ad01.tflite"]
    assert (dest / "kws01.tflite").read_bytes() == (models_dir / "kws01.tflite").read_bytes()
    # A corrupted download is refused and never kept.
    bad = tmp_path / "mirror" / REFERENCE_MODELS["vww01"].repo_path
    bad.write_bytes(bad.read_bytes()[:-1] + b"\0")
    with pytest.raises(ModelFetchError, match="vww01: checksum mismatch"):
        fetch_models(["vww01"], dest, source)
    assert not (dest / "vww01.tflite").exists()
    assert not list(dest.glob("*.part"))


def test_fetch_unreachable_source(tmp_path):
    with pytest.raises(ModelFetchError, match="kws01: cannot download"):
        fetch_models(["kws01"], tmp_path, (tmp_path / "nowhere").as_uri())
