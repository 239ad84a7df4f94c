"""`inspect_model`: operator table, totals, arena vs lower bound, unsupported operators."""

from __future__ import annotations

import json

import flatbuffers
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinyrig_testing.engine_reference_data import reference_model_path
from tinyrig.codegen.engine import compile_model
from tinyrig.codegen.inspect import inspect_model, render_text, report_to_json


def test_report_matches_the_compiled_model():
    path = reference_model_path("kws01")
    report, compiled = inspect_model(path), compile_model(path)
    assert report.all_supported and not report.model_problems
    assert [row.op for row in report.rows] == [layer.op for layer in compiled.layers]
    assert report.total_macs == compiled.total_macs == 2_656_768
    assert report.weight_bytes == compiled.weight_bytes
    assert (report.arena_bytes, report.arena_lower_bound) == (compiled.arena_bytes, compiled.arena_lower_bound)
    assert report.rows[0].input_shapes == [[1, 49, 10, 1]] and report.rows[0].output_shapes == [[1, 25, 5, 64]]


def test_text_and_json_renderings():
    report = inspect_model(reference_model_path("kws01"))
    text = render_text(report)
    assert "DEPTHWISE_CONV_2D" in text
    assert f"{report.arena_bytes:,} planned, lower bound {report.arena_lower_bound:,}" in text
    assert "all supported:  yes" in text
    table = [line for line in text.splitlines() if line[:3].strip().isdigit()]
    assert len(table) == len(report.rows)
    # Columns are aligned: every row starts its status column at the same place.
    assert len({line.index(" ok") for line in table}) == 1
    decoded = json.loads(json.dumps(report_to_json(report)))
    assert decoded["total_macs"] == report.total_macs and len(decoded["rows"]) == len(report.rows)


def test_unsupported_operator_is_reported_in_its_row(tmp_path):
    model = schema.ModelT.InitFromPackedBuf(bytearray(reference_model_path("kws01").read_bytes()), 0)
    for code in model.operatorCodes:
        if max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.AVERAGE_POOL_2D:
            code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.L2_POOL_2D
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "l2pool.tflite"
    path.write_bytes(bytes(builder.Output()))

    report = inspect_model(path)
    assert not report.all_supported
    bad = [row for row in report.rows if not row.supported]
    assert [(row.index, row.op) for row in bad] == [(9, "L2_POOL_2D")]
    assert bad[0].reason == "operator type not supported"
    assert report.arena_bytes >= report.arena_lower_bound > 0
    assert "UNSUPPORTED: operator type not supported" in render_text(report)
