"""The Python-to-C++ parameter contract: generated parameter blocks name every field
(designated initialisers), so a field the Python side misspells, reorders or leaves out
fails the build instead of silently filling the wrong field."""

from __future__ import annotations

import subprocess

import pytest

from tinyrig_testing.engine_reference_data import reference_model_path
from tinyrig.codegen import engine
from tinyrig.codegen.hostbuild import HOST_CXXFLAGS
from tinyrig.codegen.layer import ParamStruct


def _compile_model_source(compiled, tmp_path) -> subprocess.CompletedProcess:
    compiled.write(tmp_path)
    return subprocess.run(["g++", *HOST_CXXFLAGS, "-fsyntax-only", "-I.", "tinyrig_model.cc"], cwd=tmp_path,
                          capture_output=True, text=True)


def _compile_with_first_layer_params(edit, core, monkeypatch, tmp_path) -> subprocess.CompletedProcess:
    """kws01 with `edit` applied to layer 0's (CONV_2D) parameter list, as the kernel
    variant for `core` laid it out, before emission."""
    specialize = engine.specialize_layers

    def specialize_and_edit(layers, core):
        plans, kernels, notes = specialize(layers, core)
        plans[0].params = edit(list(plans[0].params))
        return plans, kernels, notes

    monkeypatch.setattr(engine, "specialize_layers", specialize_and_edit)
    return _compile_model_source(engine.compile_model(reference_model_path("kws01"), core=core), tmp_path)


def _swap(params, first, second):
    names = [name for name, _ in params]
    i, j = names.index(first), names.index(second)
    params[i], params[j] = params[j], params[i]
    return params


def _edit_window(params, edit):
    return [(name, ParamStruct(tuple(edit(list(value.fields)))) if name == "window" else value)
            for name, value in params]


def test_parameter_blocks_use_designated_initialisers(tmp_path):
    compiled = engine.compile_model(reference_model_path("kws01"), core="cortex-m4")
    source = compiled.files["tinyrig_model.cc"]
    assert ("const tinyrig::DspPatchQuadParams<0, 10> k_layer0_params = {\n    .window = {\n"
            "        .input_h = 49,\n") in source
    result = _compile_model_source(compiled, tmp_path)
    assert result.returncode == 0 and not result.stderr, result.stderr


@pytest.mark.parametrize("core", ["reference", "cortex-m4"])
def test_reordered_fields_do_not_compile(core, monkeypatch, tmp_path):
    # Two int32 fields side by side: a positional initialiser would swap their values silently.
    if core == "reference":
        edit = lambda p: _swap(p, "input_zero_point", "output_zero_point")  # noqa: E731
    else:  # kws01's stem on the M4: DspPatchQuadParams<clamp, units>
        edit = lambda p: _swap(p, "input_zero_point", "depth")  # noqa: E731
    result = _compile_with_first_layer_params(edit, core, monkeypatch, tmp_path)
    assert result.returncode != 0 and "designator order" in result.stderr, result.stderr


def test_reordered_window_fields_do_not_compile(monkeypatch, tmp_path):
    result = _compile_with_first_layer_params(lambda p: _edit_window(p, lambda w: _swap(w, "input_h", "input_w")),
                                              "reference", monkeypatch, tmp_path)
    assert result.returncode != 0 and "designator order" in result.stderr, result.stderr


def test_misspelt_field_does_not_compile(monkeypatch, tmp_path):
    result = _compile_with_first_layer_params(
        lambda p: [("per_chanel" if name == "per_channel" else name, value) for name, value in p],
        "reference", monkeypatch, tmp_path)
    assert result.returncode != 0 and "per_chanel" in result.stderr, result.stderr


def test_missing_field_does_not_compile(monkeypatch, tmp_path):
    result = _compile_with_first_layer_params(lambda p: [(n, v) for n, v in p if n != "activation_max"],
                                              "reference", monkeypatch, tmp_path)
    assert result.returncode != 0 and "missing initializer" in result.stderr, result.stderr
