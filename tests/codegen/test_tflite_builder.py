"""Tests of the fuzz suite's model builder (tests/tinyrig_testing/tflite_builder.py).

The fuzz suite is only as good as its models: they must be valid (the interpreter
accepts them), mean what their descriptions say (checked against an independent float
computation), be quantized the way the converter quantizes, and sweep every op and
option of issue 4 §2.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

from tinyrig_testing import fuzz_harness as fh
from tinyrig_testing import tflite_builder as tb
from tinyrig_testing.tflite_builder import schema

OPNAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
ACTNAMES = {v: k for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith("_")}


# --------------------------------------------------------------------------------------
# An independent reader of the serialized model
# --------------------------------------------------------------------------------------


class Parsed:
    """The model as the flatbuffer says it is (not as the builder believes it is)."""

    def __init__(self, buf: bytes):
        assert schema.Model.ModelBufferHasIdentifier(buf, 0), "missing TFL3 identifier"
        self.m = schema.ModelT.InitFromObj(schema.Model.GetRootAs(buf, 0))
        self.sg = self.m.subgraphs[0]

    def t(self, i):
        return self.sg.tensors[i]

    def data(self, i):
        t = self.t(i)
        raw = self.m.buffers[t.buffer].data
        if raw is None or len(raw) == 0:
            return None
        dt = {schema.TensorType.INT8: np.int8, schema.TensorType.INT32: np.int32,
              schema.TensorType.FLOAT32: np.float32}[t.type]
        return np.frombuffer(bytes(np.asarray(raw, np.uint8)), dt).reshape(t.shape)

    def q(self, i):
        q = self.t(i).quantization
        return np.asarray(q.scale, np.float32), np.asarray(q.zeroPoint, np.int64), q.quantizedDimension

    def ops(self):
        for op in self.sg.operators:
            code = self.m.operatorCodes[op.opcodeIndex]
            yield OPNAMES[max(code.builtinCode, code.deprecatedBuiltinCode)], op


# --------------------------------------------------------------------------------------
# Float reference for single-op models (to check the builder's semantics)
# --------------------------------------------------------------------------------------


def _pad_before(n, k, stride, dil, out, padding):
    if padding == schema.Padding.VALID:
        return 0
    return max((out - 1) * stride + (k - 1) * dil + 1 - n, 0) // 2


def _window_conv(x, w, stride, dil, padding, out_hw, depthwise, mult=1):
    """Float conv / depthwise conv over NHWC ``x`` with OHWI / 1HWC ``w``."""
    n, h, wd, cin = x.shape
    _, kh, kw, _ = w.shape
    oh, ow = out_hw
    ph = _pad_before(h, kh, stride[0], dil[0], oh, padding)
    pw = _pad_before(wd, kw, stride[1], dil[1], ow, padding)
    cout = w.shape[3] if depthwise else w.shape[0]
    y = np.zeros((n, oh, ow, cout))
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(kh):
                for kx in range(kw):
                    iy, ix = oy * stride[0] - ph + ky * dil[0], ox * stride[1] - pw + kx * dil[1]
                    if 0 <= iy < h and 0 <= ix < wd:
                        v = x[:, iy, ix, :]
                        if depthwise:
                            y[:, oy, ox, :] += np.repeat(v, mult, axis=-1) * w[0, ky, kx, :]
                        else:
                            y[:, oy, ox, :] += v @ w[:, ky, kx, :].T
    return y


def _pool(x, f, stride, padding, out_hw, kind):
    n, h, wd, c = x.shape
    oh, ow = out_hw
    ph = _pad_before(h, f[0], stride[0], 1, oh, padding)
    pw = _pad_before(wd, f[1], stride[1], 1, ow, padding)
    y = np.zeros((n, oh, ow, c))
    for oy in range(oh):
        for ox in range(ow):
            y0, x0 = oy * stride[0] - ph, ox * stride[1] - pw
            win = x[:, max(y0, 0):min(y0 + f[0], h), max(x0, 0):min(x0 + f[1], wd), :]
            y[:, oy, ox, :] = win.mean(axis=(1, 2)) if kind == "avg" else win.max(axis=(1, 2))
    return y


PAD = {"SAME": schema.Padding.SAME, "VALID": schema.Padding.VALID}


class _Opts:
    """The options a layer description promises, in the flatbuffer's field names."""

    def __init__(self, layer: dict):
        self.padding = PAD.get(layer.get("padding"))
        self.strideH, self.strideW = layer.get("stride", (None, None))
        self.dilationHFactor, self.dilationWFactor = layer.get("dilation", (None, None))
        self.filterHeight, self.filterWidth = layer.get("filter", (None, None))
        self.depthMultiplier = layer.get("depth_multiplier")
        self.beta = layer.get("beta")
        act = layer.get("activation")
        self.fusedActivationFunction = None if act is None else tb.ACTIVATIONS[act]


def float_reference(p: Parsed, x_q: np.ndarray, layer: dict):
    """Expected output of a single-op model, computed in float, then quantized.

    The op's options come from the builder's description ``layer`` (what the model is
    meant to do) and are checked against the flatbuffer's; tensors and quantization
    come from the parsed flatbuffer.  Returns (output, tolerance in output LSBs).
    """
    (name, op), = list(p.ops())
    assert name == layer["op"]
    o = _Opts(layer)
    for field, want in vars(o).items():
        if want is not None:
            got = getattr(op.builtinOptions, field)
            assert np.float32(got) == np.float32(want), (field, got, want)
    if "kernel" in layer:
        assert tuple(p.t(op.inputs[1]).shape[1:3]) == tuple(layer["kernel"])
    xi = op.inputs[0]

    def deq(i, v):
        s, z, qd = p.q(i)
        if s.size > 1:
            shape = [1] * v.ndim
            shape[qd] = -1
            return (v.astype(np.float64) - z.reshape(shape)) * s.astype(np.float64).reshape(shape)
        return (v.astype(np.float64) - z[0]) * float(s[0])

    x = x_q.astype(np.float64) if name == "QUANTIZE" else deq(xi, x_q)
    out_t = p.t(op.outputs[0])
    act, tol = "NONE", 1
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w = deq(op.inputs[1], p.data(op.inputs[1]))
        dw = name == "DEPTHWISE_CONV_2D"
        y = _window_conv(x, w, (o.strideH, o.strideW), (o.dilationHFactor, o.dilationWFactor),
                         o.padding, out_t.shape[1:3], dw, o.depthMultiplier if dw else 1)
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            y += deq(op.inputs[2], p.data(op.inputs[2]))
        act = ACTNAMES[o.fusedActivationFunction]
    elif name == "FULLY_CONNECTED":
        w = deq(op.inputs[1], p.data(op.inputs[1]))
        y = x.reshape(-1, w.shape[1]) @ w.T
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            y += deq(op.inputs[2], p.data(op.inputs[2]))
        y = y.reshape(out_t.shape)
        act = ACTNAMES[o.fusedActivationFunction]
    elif name == "ADD":
        oi = op.inputs[1]
        other = p.data(oi) if p.data(oi) is not None else x_q  # constant or x + x
        y = x + deq(oi, other)
        act, tol = ACTNAMES[o.fusedActivationFunction], 2  # 2^20 fixed-point sum
    elif name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        y = _pool(x, (o.filterHeight, o.filterWidth), (o.strideH, o.strideW), o.padding,
                  out_t.shape[1:3], "avg" if name == "AVERAGE_POOL_2D" else "max")
        act = ACTNAMES[o.fusedActivationFunction]
        tol = 1 if name == "AVERAGE_POOL_2D" else 0
    elif name == "RESHAPE":
        y, tol = x.reshape(out_t.shape), 0
    elif name == "SOFTMAX":
        z = o.beta * (x - x.max(axis=-1, keepdims=True))
        y = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
        tol = 2  # TFLM's fixed-point exp and reciprocal approximations
    elif name == "QUANTIZE":
        y = x
    elif name == "DEQUANTIZE":
        return x.astype(np.float32), 1e-6
    else:
        raise AssertionError(name)
    lo, hi = tb._activation_bounds(act)
    y = np.clip(y, lo, hi)
    s, z, _ = p.q(op.outputs[0])
    return np.clip(np.round(y / float(s[0])) + z[0], -128, 127), tol


@pytest.mark.parametrize("op", tb.CORE_OPS)
def test_single_op_models_compute_what_they_describe(op):
    """TFLM's output of each single-op model is within a rounding error of the float
    result computed independently from the parsed flatbuffer: the builder's layouts,
    paddings and quantization mean what the description says."""
    for seed in range(12):
        model, desc = tb.random_model(1000 + seed, op=op, chain=False)
        p = Parsed(model)
        assert [n for n, _ in p.ops()] == [op], tb.describe(desc)
        rng = np.random.default_rng(seed)
        inputs = [tb.random_inputs(rng, spec, 4) for spec in desc["inputs"]]
        got = fh.in_child(fh.run_tflm, model, inputs)
        refs = [float_reference(p, sample, desc["layers"][0]) for sample in inputs[0]]
        want, tol = np.stack([r[0] for r in refs]), refs[0][1]
        err = np.abs(got.astype(np.float64) - want)
        if got.dtype == np.float32:
            err = err / np.maximum(np.abs(want), 1e-30)
        assert err.max() <= tol, f"max error {err.max()} > {tol}\n{tb.describe(desc)}"


# --------------------------------------------------------------------------------------
# Validity, realism and coverage
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("extended", [False, True], ids=["core", "extended"])
def test_every_generated_model_runs_in_the_interpreter(extended):
    """A model the interpreter rejects (or aborts on) is a builder bug."""
    failures = []
    for seed in range(150):
        try:
            case = fh.FuzzCase.make(seed, k=2, extended=extended)
        except fh.GoldenRejected as e:
            failures.append(f"seed {seed}: {e}")
            continue
        out = case.desc["output"]
        assert case.expected.shape == (2, *out["shape"]), tb.describe(case.desc)
        assert case.expected.dtype == np.dtype(out["dtype"])
    assert not failures, "\n".join(failures)


def test_core_models_use_no_extended_feature():
    for seed in range(200):
        _, desc = tb.random_model(seed)
        assert desc["features"] == [], (seed, desc["features"])
        assert len(desc["inputs"]) == 1


def _effective_scales(p: Parsed):
    for name, op in p.ops():
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            s_in = p.q(op.inputs[0])[0][0]
            s_w = p.q(op.inputs[1])[0]
            s_out = p.q(op.outputs[0])[0][0]
            yield from (float(s_in) * s_w.astype(np.float64) / float(s_out))


def test_quantization_is_what_the_converter_emits():
    eff = []
    for seed in range(300):
        model, desc = tb.random_model(seed)
        p = Parsed(model)
        for name, op in p.ops():
            for i in list(op.inputs) + list(op.outputs):
                if i < 0:
                    continue
                t = p.t(i)
                if t.type == schema.TensorType.INT8:
                    s, z, _ = p.q(i)
                    assert (s > 0).all() and np.isfinite(s).all()
                    assert ((z >= -128) & (z <= 127)).all()
            if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
                w = p.data(op.inputs[1])
                ws, wz, wqd = p.q(op.inputs[1])
                assert (wz == 0).all() and w.min() >= -127, "weights are symmetric"
                cout = w.shape[3] if name == "DEPTHWISE_CONV_2D" else w.shape[0]
                if ws.size > 1:
                    assert wqd == (3 if name == "DEPTHWISE_CONV_2D" else 0)
                    assert ws.size == cout
                    assert ws.size == wz.size
                if len(op.inputs) > 2 and op.inputs[2] >= 0:
                    b = p.data(op.inputs[2])
                    bs, bz, _ = p.q(op.inputs[2])
                    assert b.dtype == np.int32 and b.shape == (cout,) and (bz == 0).all()
                    s_in = p.q(op.inputs[0])[0][0]
                    np.testing.assert_allclose(bs, s_in * ws, rtol=1e-6)
            if name == "SOFTMAX":
                s, z, _ = p.q(op.outputs[0])
                assert s[0] == np.float32(1 / 256) and z[0] == -128
            if name in ("AVERAGE_POOL_2D", "MAX_POOL_2D", "RESHAPE"):
                assert p.q(op.inputs[0])[:2] == p.q(op.outputs[0])[:2] or (
                    np.array_equal(p.q(op.inputs[0])[0], p.q(op.outputs[0])[0])
                    and np.array_equal(p.q(op.inputs[0])[1], p.q(op.outputs[0])[1]))
        eff.extend(_effective_scales(p))
    eff = np.array(eff)
    # Multipliers on both sides of 1 (negative and positive shifts), over many octaves.
    assert (eff < 1).mean() > 0.7 and (eff > 1).sum() >= 20, (eff.min(), eff.max())
    assert eff.min() < 2**-12


def test_random_model_sweeps_every_op_and_option():
    seen = collections.defaultdict(set)
    for seed in range(600):
        _, desc = tb.random_model(seed)
        seen["float_in"].add(desc["inputs"][0]["dtype"])
        seen["float_out"].add(desc["output"]["dtype"])
        seen["zp_sign"].add(int(np.sign(desc["inputs"][0]["zp"])))
        for layer in desc["layers"]:
            op = layer["op"]
            seen["op"].add(op)
            for key in ("padding", "activation", "per_channel", "calibration", "form", "other"):
                if key in layer:
                    seen[f"{op}.{key}"].add(layer[key])
            for key in ("stride", "dilation", "kernel", "filter"):
                if key in layer:
                    seen[f"{op}.{key}>1"].add(max(layer[key]) > 1)
                    seen[f"{op}.{key}.asym"].add(layer[key][0] != layer[key][1])
            if "depth_multiplier" in layer:
                seen["dm"].add(layer["depth_multiplier"])
            if op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
                seen["global_pool"].add(tuple(layer["filter"]) == tuple(layer["input"][1:3]) != (1, 1))
            seen["wide"].add(int(np.prod(layer["input"])) > 1000)
            if op == "SOFTMAX":
                seen["beta1"].add(layer["beta"] == 1.0)
                seen["softmax_rank"].add(len(layer["input"]))
            if op == "RESHAPE":
                seen["reshape_minus1"].add(-1 in (layer["shape_tensor"] or []))
            if "out_q" in layer:
                seen["out_zp"].add(int(np.sign(layer["out_q"][1])))
                seen["out_zp_extreme"].add(layer["out_q"][1] in (-128, 127))
    assert seen["op"] == set(tb.CORE_OPS)
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        assert seen[f"{op}.padding"] == {"SAME", "VALID"}
        assert seen[f"{op}.activation"] == {"NONE", "RELU", "RELU6"}
        assert seen[f"{op}.per_channel"] == {True, False}
        assert seen[f"{op}.calibration"] == {"calibrated", "tight", "hot"}
        for key in ("stride", "dilation", "kernel"):
            assert seen[f"{op}.{key}>1"] == {True, False}
            assert seen[f"{op}.{key}.asym"] == {True, False}
    for op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        assert seen[f"{op}.padding"] == {"SAME", "VALID"}
        assert seen[f"{op}.activation"] == {"NONE", "RELU", "RELU6"}
        assert seen[f"{op}.filter>1"] == {True, False} == seen[f"{op}.stride>1"]
    assert seen["FULLY_CONNECTED.activation"] == {"NONE", "RELU", "RELU6"}
    assert seen["ADD.activation"] == {"NONE", "RELU", "RELU6"}
    assert seen["ADD.other"] == {"const", "activation", "self"}
    assert seen["RESHAPE.form"] == {"tensor", "options", "both"}
    assert seen["dm"] >= {1, 2, 3}
    assert seen["float_in"] == seen["float_out"] == {"int8", "float32"}
    assert seen["zp_sign"] == seen["out_zp"] == {-1, 0, 1}
    assert seen["out_zp_extreme"] == {True, False}
    assert seen["beta1"] == {True, False} and seen["softmax_rank"] >= {2, 4}
    assert seen["global_pool"] == {True, False}
    assert seen["wide"] == {True, False}
    assert seen["reshape_minus1"] == {True, False}


def test_golden_outputs_are_informative():
    """Comparisons are only meaningful if outputs depend on the input and are not
    mostly saturated."""
    varying, saturated = 0, []
    for seed in range(80):
        case = fh.FuzzCase.make(seed, k=6)
        e = case.expected.reshape(6, -1)
        varying += int((e != e[0]).any())
        if e.dtype == np.int8:
            saturated.append(np.mean((e == -128) | (e == 127)))
    assert varying >= 0.85 * 80
    assert np.mean(saturated) < 0.45


def test_same_seed_same_model_and_different_seeds_differ():
    a, da = tb.random_model(7)
    b, db = tb.random_model(7)
    assert a == b and da == db
    assert len({tb.random_model(s)[0] for s in range(20)}) == 20


# --------------------------------------------------------------------------------------
# Quantization helpers
# --------------------------------------------------------------------------------------


def test_choose_qparams_represents_zero_and_covers_the_range():
    rng = np.random.default_rng(0)
    for _ in range(500):
        lo, hi = sorted(rng.normal(0, 10, 2) * rng.choice([1, 0.01]))
        s, z = tb.choose_qparams(lo, hi)
        assert -128 <= z <= 127 and s > 0 and s == np.float32(s)
        lo0, hi0 = min(lo, 0), max(hi, 0)
        # 0.0 is exactly the zero point; the range is covered up to the nudge.
        assert (-128 - z) * s <= lo0 + s and (127 - z) * s >= hi0 - s


def test_quantize_weights_per_channel_and_per_tensor():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(5, 3, 3, 4)) * np.array([1, 0.01, 3, 0.2, 0])[:, None, None, None]
    q, s = tb.quantize_weights(w, axis=0)
    assert s.shape == (5,) and s[4] == 1.0  # pruned channel
    assert (np.abs(q[:4]).reshape(4, -1).max(axis=1) == 127).all()
    err = np.abs(q * s[:, None, None, None] - w).reshape(5, -1).max(axis=1)
    assert (err <= s / 2 + 1e-9).all()
    qt, st = tb.quantize_weights(w, axis=None)
    assert st.shape == (1,) and np.abs(qt).max() == 127
    # Per-tensor quantization wipes out the small channel; per-channel does not.
    assert np.abs(qt[1]).max() <= 1 < np.abs(q[1]).max()


def test_buffer_layouts_real_files_have():
    """Activations on the shared empty buffer 0 (hand-written files) occur in random
    models; a deduplicating builder stores identical constants once (converter)."""
    shared_empty = 0
    for seed in range(60):
        p = Parsed(tb.random_model(seed, chain=True)[0])
        shared_empty += sum(t.buffer == 0 for t in p.sg.tensors) > 1
    assert shared_empty > 0
    for dedupe in (False, True):
        mb = tb.ModelBuilder(np.random.default_rng(0), dedupe=dedupe)
        c = np.arange(6, dtype=np.int32)
        a, b = mb.tensor((6,), np.int32, data=c), mb.tensor((6,), np.int32, data=c)
        other = mb.tensor((6,), np.int32, data=c + 1)
        assert (mb.tensors[a].buffer == mb.tensors[b].buffer) == dedupe
        assert mb.tensors[other].buffer not in (mb.tensors[a].buffer, mb.tensors[b].buffer)
