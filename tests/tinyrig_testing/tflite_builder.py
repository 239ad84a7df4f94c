"""Build small, valid, realistically quantized int8 ``.tflite`` models in memory.

This is the model generator of tinyrig's differential fuzz suite (issue 4 §5): the
tests and ``benchmarks/fuzz_engine.py`` build random models with it, run them in the
TensorFlow Lite Micro interpreter (the golden reference) and in tinyrig's compiled
engine, and compare the outputs byte for byte.

Quantization is chosen the way the TFLite converter chooses it, so the integer
arithmetic the engine must reproduce is exercised the way real models exercise it:

* activations: asymmetric int8 from a calibrated float range ``[lo, hi]`` that is
  widened to contain 0 (``scale = (hi - lo) / 255``, ``zp = round(-128 - lo / scale)``),
  where the range is estimated from the float statistics of the op's inputs, weights
  and bias (a stand-in for the converter's representative dataset);
* weights: symmetric int8 (zero point 0, values in [-127, 127]), per output channel
  (CONV_2D: quantized_dimension 0; DEPTHWISE_CONV_2D: 3) or per tensor;
* biases: int32 with ``scale = input_scale * filter_scale[c]`` and zero point 0;
* ops without requantization (pools, RESHAPE) keep their input's quantization, and
  SOFTMAX writes int8 with the scale 1/256 and zero point -128 that TFLM requires.

Output ranges are sometimes deliberately squeezed ("tight"/"hot" calibration) so that
outputs saturate and effective multipliers above 1 (positive shifts) occur too, and
activation ranges are sometimes left wider than the fused activation so the quantized
activation clamp is not always -128/127.

Public API:

* :class:`ModelBuilder` - low-level tensor/operator assembly and serialization;
* op helpers (:func:`conv2d`, :func:`depthwise_conv2d`, :func:`fully_connected`,
  :func:`add`, :func:`pool2d`, :func:`reshape`, :func:`softmax`, :func:`quantize`,
  :func:`dequantize`) - each appends one operator with explicit or random options;
* :func:`random_model` - ``(bytes, description)`` for a random single-op model or a
  small chain, sweeping every op and option listed in issue 4 §2;
* :func:`random_inputs` - inputs for a model's input tensors (several distributions).

Everything is driven by a ``numpy.random.Generator``, so a model is reproducible from
its seed.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

OP = schema.BuiltinOperator
ACTIVATIONS = {
    "NONE": schema.ActivationFunctionType.NONE,
    "RELU": schema.ActivationFunctionType.RELU,
    "RELU6": schema.ActivationFunctionType.RELU6,
    # Not in issue 4's list; generated only with extended=True.
    "RELU_N1_TO_1": schema.ActivationFunctionType.RELU_N1_TO_1,
}
PADDINGS = {"SAME": schema.Padding.SAME, "VALID": schema.Padding.VALID}
CORE_ACTIVATIONS = ("NONE", "RELU", "RELU6")

# The ops issue 4 §2 asks the engine to support.  random_model() covers all of them.
CORE_OPS = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "ADD",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
    "RESHAPE",
    "SOFTMAX",
    "QUANTIZE",
    "DEQUANTIZE",
)

_NP_TO_TFL = {
    np.dtype(np.int8): schema.TensorType.INT8,
    np.dtype(np.int32): schema.TensorType.INT32,
    np.dtype(np.float32): schema.TensorType.FLOAT32,
}

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def f32(x):
    """Round to float32, as the flatbuffer stores every scale."""
    return np.float32(x)


# --------------------------------------------------------------------------------------
# Quantization helpers (the converter's choices)
# --------------------------------------------------------------------------------------


def choose_qparams(lo: float, hi: float) -> tuple[float, int]:
    """Asymmetric int8 scale and zero point for the float range [lo, hi].

    Like TFLite's converter, the range is widened to contain 0 so that 0.0 (padding,
    ReLU) is exactly representable, and the zero point is nudged to an integer.
    """
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < 1e-6:  # degenerate range: any small positive scale is valid
        hi = lo + 1e-3
    scale = float(f32((hi - lo) / 255.0))
    zp = int(np.clip(round(-128.0 - lo / scale), -128, 127))
    return scale, zp


def quantize_weights(w: np.ndarray, axis: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantization (zero point 0, range [-127, 127]).

    ``axis`` is the quantized dimension (per-channel) or None (per-tensor).  A channel
    whose weights are all 0 (a pruned channel) gets scale 1.0, as the converter does.
    """
    if axis is None:
        maxabs = np.array([np.abs(w).max()])
        scales = np.where(maxabs > 0, maxabs / 127.0, 1.0).astype(np.float32)
        q = np.round(w / scales[0])
    else:
        other = tuple(i for i in range(w.ndim) if i != axis)
        maxabs = np.abs(w).max(axis=other)
        scales = np.where(maxabs > 0, maxabs / 127.0, 1.0).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.round(w / scales.reshape(shape))
    return np.clip(q, -127, 127).astype(np.int8), scales


def _random_weights(rng: np.random.Generator, shape, axis: int, prune: float = 0.02) -> np.ndarray:
    """Float weights whose magnitude varies per output channel (along ``axis``).

    Per-channel scales therefore differ by up to ~100x, some channels are sparse with
    a single outlier (so most quantized weights are tiny), and rarely (``prune``, per
    channel) a channel is entirely zero (pruned).
    """
    n = shape[axis]
    w = rng.standard_normal(shape)
    mag = np.exp(rng.uniform(np.log(0.01), np.log(1.0), size=n))
    bshape = [1] * len(shape)
    bshape[axis] = n
    w = w * mag.reshape(bshape)
    moved = np.moveaxis(w, axis, 0)  # a view: edits below write into w
    for c in range(n):
        r = rng.random()
        if r < 0.12:  # sparse channel with one large weight
            ch = moved[c]
            ch *= 0.02
            ch.flat[rng.integers(ch.size)] = mag[c] * rng.choice([-3.0, 3.0])
        elif r < 0.12 + prune and n > 1:  # pruned channel
            moved[c] = 0.0
    return w


# --------------------------------------------------------------------------------------
# Activation bookkeeping
# --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Act:
    """An activation tensor while a model is being built.

    ``mean``/``std`` estimate the float distribution of the tensor's values when the
    model's input is driven with uniform random int8 data; they play the role of the
    converter's calibration and decide the next op's output quantization.
    """

    index: int
    shape: tuple[int, ...]
    dtype: str  # "int8" or "float32"
    scale: float = 1.0
    zp: int = 0
    mean: float = 0.0
    std: float = 1.0

    @property
    def qrange(self) -> tuple[float, float]:
        return ((-128 - self.zp) * self.scale, (127 - self.zp) * self.scale)


def _act_stats(mean, std, lo, hi, rng) -> tuple[float, float]:
    """Mean and std of N(mean_c, std_c) (per channel) clipped to [lo, hi]."""
    mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    std = np.broadcast_to(np.atleast_1d(np.asarray(std, dtype=np.float64)), mean.shape)
    z = rng.standard_normal((512, mean.size)) * std + mean
    z = np.clip(z, lo, hi)
    return float(z.mean()), float(max(z.std(), 1e-6))


def _activation_bounds(act: str) -> tuple[float, float]:
    return {
        "NONE": (-math.inf, math.inf),
        "RELU": (0.0, math.inf),
        "RELU6": (0.0, 6.0),
        "RELU_N1_TO_1": (-1.0, 1.0),
    }[act]


def _calibrate_output(rng, mean, std, activation: str, mode: str, *, min_step=None, max_step=None):
    """Output (scale, zp) of a requantizing op from per-channel float statistics.

    ``mode``:
      * "calibrated": range = mean +- k*std (k in [2, 4]) as a converter would see it;
      * "tight": the same range squeezed 3-50x: heavy saturation, larger multipliers;
      * "hot": the scale is set below ``min_step`` (input_scale * smallest filter
        scale) so that the effective multiplier exceeds 1 (a positive shift);
      * "e1" / "coarse" (kernel shapes only): the scale is set from ``max_step``
        (input_scale * largest filter scale) so that the widest channel's effective
        multiplier is in [1/4, 1/2) (right shift 1) or about 2^-11..2^-16 (right shift
        12-16): the shifts at which the DSP kernels' 3-instruction requantisation stops
        being exact (arm_dsp/fused_epilogue.py three_instruction_exact), so they must
        take their register-shift form or decline.
    With probability 0.3 the fused activation's bounds are *not* applied to the
    range, so the activation clamp falls strictly inside [-128, 127].
    """
    mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    std = np.broadcast_to(np.atleast_1d(np.asarray(std, dtype=np.float64)), mean.shape)
    k = rng.uniform(2.0, 4.0)
    lo, hi = float((mean - k * std).min()), float((mean + k * std).max())
    if mode == "tight":
        c, half = (lo + hi) / 2, (hi - lo) / 2 / rng.uniform(3, 50)
        lo, hi = c - half, c + half
    a_lo, a_hi = _activation_bounds(activation)
    if rng.random() < 0.7:
        lo, hi = max(lo, a_lo), min(hi, a_hi)
        if hi <= lo:  # e.g. an all-negative range under RELU
            hi = lo + max(1e-3, abs(lo) * 0.1)
    if mode in ("e1", "coarse") and max_step is not None:
        ratio = rng.uniform(0.26, 0.49) if mode == "e1" else 2.0 ** -rng.uniform(11.2, 15.8)
        scale = float(f32(max_step / ratio))
        zp = -128 if a_lo == 0.0 and rng.random() < 0.5 else int(rng.integers(-128, 128))
        return scale, zp
    if mode == "hot" and min_step is not None:
        # Floored at 1e-6: scales far below any real model's would only make later
        # ops (SOFTMAX, ADD) violate TFLM's preconditions.
        scale = float(f32(max(min_step * rng.uniform(0.25, 0.95), 1e-6)))
        zp = int(rng.integers(-128, 128))
        if a_lo == 0.0 and rng.random() < 0.5:
            zp = -128
        return scale, zp
    return choose_qparams(lo, hi)


def _pick_mode(rng, kernel_shapes: bool = False) -> str:
    if kernel_shapes:
        return str(rng.choice(["calibrated", "tight", "hot", "e1", "coarse"], p=[0.6, 0.12, 0.08, 0.1, 0.1]))
    return str(rng.choice(["calibrated", "tight", "hot"], p=[0.7, 0.18, 0.12]))


def _extreme_zero_point(mb: "ModelBuilder", zp: int) -> int:
    """With kernel shapes, sometimes an output zero point at an end of the int8 range (kernels
    fold it into constants and clamps, where -128 and 127 are the edge cases)."""
    if mb.kernel_shapes and mb.rng.random() < 0.15:
        return -128 if mb.rng.random() < 0.6 else 127
    return zp


# --------------------------------------------------------------------------------------
# Low-level model assembly
# --------------------------------------------------------------------------------------


class ModelBuilder:
    """Accumulates tensors, buffers and operators; serializes to ``.tflite`` bytes.

    ``own_buffers`` mirrors the converter's layout (every tensor, activations included,
    owns a buffer; activation buffers are empty); with False, activations share the
    empty sentinel buffer 0 as hand-written models often do.  Both are valid and the
    engine must accept both.
    """

    def __init__(self, rng: np.random.Generator | None = None, own_buffers: bool = True,
                 dedupe: bool = False):
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.own_buffers = own_buffers
        # The converter stores identical constants once: tensors then share a buffer
        # (e.g. the shape operands of two equal RESHAPEs).
        self.dedupe = dedupe
        self._const_buffers: dict[bytes, int] = {}
        self.tensors: list[schema.TensorT] = []
        self.buffers: list[schema.BufferT] = [schema.BufferT()]  # 0: empty sentinel
        self.opcodes: dict[int, int] = {}
        self.opcode_list: list[schema.OperatorCodeT] = []
        self.operators: list[schema.OperatorT] = []
        self.ops: list[dict[str, Any]] = []  # human-readable description per operator
        self.acts: list[Act] = []  # every int8 activation produced so far (for ADD)
        self.features: set[str] = set()  # extended (non-issue-4) features used
        self.add_consts: dict[tuple, tuple] = {}  # ADD constants by shape, for reuse
        self.extra_inputs: list[Act] = []  # graph inputs added by ADD(other="input")
        self.allow_multi_input = True  # may random_model add a second graph input?
        # Draw the shapes and quantisations the optimised kernels specialise on (random_model's
        # shapes="kernels"); off, every draw is the original one, so old seeds keep their models.
        self.kernel_shapes = False

    # -- tensors ---------------------------------------------------------------------
    def tensor(self, shape, dtype, *, scale=None, zero_point=None, qdim=0, data=None,
               name=None) -> int:
        """Add a tensor; ``data`` (a numpy array of ``dtype``) makes it constant."""
        t = schema.TensorT()
        t.shape = [int(s) for s in shape]
        t.type = _NP_TO_TFL[np.dtype(dtype)]
        t.name = name or f"t{len(self.tensors)}"
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(np.asarray(scale, np.float32))]
            zps = np.atleast_1d(zero_point if zero_point is not None else 0)
            if len(zps) == 1 and len(q.scale) > 1:
                zps = np.zeros(len(q.scale), np.int64)
            q.zeroPoint = [int(z) for z in zps]
            q.quantizedDimension = int(qdim)
            t.quantization = q
        if data is not None:
            arr = np.ascontiguousarray(np.asarray(data, dtype=dtype))
            assert tuple(arr.shape) == tuple(shape), (arr.shape, shape)
            raw = arr.tobytes()
            if self.dedupe and raw in self._const_buffers:
                t.buffer = self._const_buffers[raw]
            else:
                b = schema.BufferT()
                b.data = np.frombuffer(raw, dtype=np.uint8)
                self.buffers.append(b)
                t.buffer = len(self.buffers) - 1
                self._const_buffers[raw] = t.buffer
        elif self.own_buffers:
            self.buffers.append(schema.BufferT())
            t.buffer = len(self.buffers) - 1
        else:
            t.buffer = 0
        self.tensors.append(t)
        return len(self.tensors) - 1

    def activation(self, shape, *, scale, zp, mean=0.0, std=1.0, dtype="int8",
                   name=None) -> Act:
        """Add a non-constant int8 (quantized) or float32 tensor."""
        if dtype == "int8":
            idx = self.tensor(shape, np.int8, scale=scale, zero_point=zp, name=name)
        else:
            idx = self.tensor(shape, np.float32, name=name)
        a = Act(idx, tuple(int(s) for s in shape), dtype, float(scale), int(zp),
                float(mean), float(std))
        if dtype == "int8":
            self.acts.append(a)
        return a

    def input(self, shape, dtype="int8", *, float_range=None) -> Act:
        """A graph input with a random realistic quantization (or float32)."""
        rng = self.rng
        if float_range is None:
            r = rng.choice(["symmetric", "positive", "offset", "negative"],
                           p=[0.45, 0.25, 0.22, 0.08])
            width = float(np.exp(rng.uniform(np.log(0.05), np.log(20.0))))
            if rng.random() < 0.1:  # large ranges: SOFTMAX exp underflow, big scales
                width *= 20
            if r == "symmetric":
                float_range = (-width / 2, width / 2)
            elif r == "positive":  # e.g. images scaled to [0, x]
                float_range = (0.0, width)
            elif r == "negative":
                float_range = (-width, 0.0)
            else:
                c = rng.uniform(-0.5, 0.5) * width
                float_range = (c - width / 2, c + width / 2)
        scale, zp = choose_qparams(*float_range)
        if dtype == "int8":
            a = self.activation(shape, scale=scale, zp=zp, name=f"input{len(self.acts)}")
            # Tests drive inputs with uniform int8 noise: its float statistics.
            lo, hi = a.qrange
            a.mean, a.std = (lo + hi) / 2, (hi - lo) / math.sqrt(12)
        else:
            lo, hi = (-128 - zp) * scale, (127 - zp) * scale
            a = self.activation(shape, scale=scale, zp=zp, dtype="float32",
                                mean=(lo + hi) / 2, std=(hi - lo) / math.sqrt(12),
                                name="input_f32")
        return a

    # -- operators -------------------------------------------------------------------
    def operator(self, code: int, inputs, outputs, options_type=0, options=None,
                 desc: dict | None = None) -> None:
        if code not in self.opcodes:
            oc = schema.OperatorCodeT()
            oc.builtinCode = code
            # deprecated_builtin_code is an int8 field: readers take max() of both.
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            self.opcodes[code] = len(self.opcode_list)
            self.opcode_list.append(oc)
        op = schema.OperatorT()
        op.opcodeIndex = self.opcodes[code]
        op.inputs = [int(i) for i in inputs]
        op.outputs = [int(i) for i in outputs]
        op.builtinOptionsType = options_type
        op.builtinOptions = options
        self.operators.append(op)
        self.ops.append(desc or {})

    # -- serialization ---------------------------------------------------------------
    def finish(self, inputs: list[Act], outputs: list[Act]) -> bytes:
        sg = schema.SubGraphT()
        sg.tensors = self.tensors
        sg.inputs = [a.index for a in inputs]
        sg.outputs = [a.index for a in outputs]
        sg.operators = self.operators
        sg.name = "main"
        m = schema.ModelT()
        m.version = 3
        m.operatorCodes = self.opcode_list
        m.subgraphs = [sg]
        m.buffers = self.buffers
        m.description = "tinyrig fuzz model"
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


# --------------------------------------------------------------------------------------
# Operators
# --------------------------------------------------------------------------------------


def _out_size(padding: str, n: int, k: int, stride: int, dilation: int) -> int:
    """TFLite's ComputeOutSize."""
    eff = (k - 1) * dilation + 1
    if padding == "SAME":
        return (n + stride - 1) // stride
    return (n + stride - eff) // stride


def _bias(rng, acc_std, in_scale, w_scales, kind="random"):
    """int32 bias quantized with scale input_scale * filter_scale[c].

    The float bias is comparable to the accumulator's spread so it visibly moves the
    outputs; "large" biases push whole channels into saturation.
    """
    n = len(w_scales)
    acc_std = np.broadcast_to(np.asarray(acc_std, np.float64), (n,))
    factor = {"random": rng.uniform(0, 1.5, n), "large": rng.uniform(2, 20, n)}[kind]
    b = rng.standard_normal(n) * acc_std * factor
    bscale = (np.float32(in_scale) * np.asarray(w_scales, np.float32)).astype(np.float32)
    q = np.clip(np.round(b / bscale.astype(np.float64)), INT32_MIN, INT32_MAX)
    return q.astype(np.int32), bscale


def _conv_like(mb: ModelBuilder, x: Act, *, kind: str, out_channels=None,
               depth_multiplier=None, kernel=None, stride=None, dilation=None,
               padding=None, activation=None, per_channel=None, bias=True, mode=None, zero_filters=()):
    """CONV_2D or DEPTHWISE_CONV_2D with explicit or random options. zero_filters: CONV_2D
    output channels whose int8 weights are all zero (pruned or dead filters), keeping their scale."""
    rng = mb.rng
    n, h, w, cin = x.shape
    if mb.kernel_shapes:
        kernel, stride, dilation, out_channels, depth_multiplier = _kernel_conv_options(
            rng, kind, kernel, stride, dilation, out_channels, depth_multiplier, cin)
        if kind == "CONV_2D" and not len(zero_filters) and rng.random() < (0.2 if kernel == (1, 1) else 0.05):
            # A pruned layer: a quarter to a half of its filters dead (vww01 has such 1x1 layers), for
            # the kernels that skip them (conv.py's sparse pairs, the live-filter wrapper).
            zero_filters = rng.choice(out_channels, size=max(1, int(out_channels * rng.uniform(0.25, 0.5))),
                                      replace=False).tolist()
    padding = padding or str(rng.choice(["SAME", "VALID"]))
    activation = activation or str(rng.choice(CORE_ACTIVATIONS))
    mode = mode or _pick_mode(rng, mb.kernel_shapes)
    if per_channel is None:
        per_channel = bool(rng.random() < 0.8)
    if stride is None:
        stride = (int(rng.choice([1, 1, 2, 3])), int(rng.choice([1, 1, 2, 3])))
    if dilation is None:
        dilation = (1, 1) if rng.random() < 0.6 else (int(rng.integers(1, 4)),
                                                       int(rng.integers(1, 4)))
    if kernel is None:
        kernel = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    kh, kw = kernel
    if padding == "VALID":  # shrink the kernel until the output is non-empty
        while (kh - 1) * dilation[0] + 1 > h and kh > 1:
            kh -= 1
        while (kw - 1) * dilation[1] + 1 > w and kw > 1:
            kw -= 1
    oh = _out_size(padding, h, kh, stride[0], dilation[0])
    ow = _out_size(padding, w, kw, stride[1], dilation[1])
    assert oh >= 1 and ow >= 1

    if kind == "CONV_2D":
        cout = out_channels or int(rng.integers(1, 9))
        # Kernel shapes prune whole layers instead (zero_filters above): a 2% chance per filter
        # would leave few 32-96 filter layers without a dead one, and the 2x4 blocks decline those.
        wf = _random_weights(rng, (cout, kh, kw, cin), axis=0, prune=0.0 if mb.kernel_shapes else 0.02)
        qdim, fan_in = 0, kh * kw * cin
    else:
        depth_multiplier = depth_multiplier or int(rng.choice([1, 1, 2, 3]))
        cout = cin * depth_multiplier
        wf = _random_weights(rng, (1, kh, kw, cout), axis=3)
        qdim, fan_in = 3, kh * kw
    wq, wscale = quantize_weights(wf, qdim if per_channel else None)
    wdeq = wq.astype(np.float64) * (wscale.reshape([-1 if i == qdim else 1 for i in range(4)])
                                    if per_channel else wscale[0])
    # Per-output-channel float statistics of the accumulator.
    wsum = wdeq.sum(axis=(1, 2, 3)) if qdim == 0 else wdeq.sum(axis=(0, 1, 2))
    wsq = (wdeq**2).sum(axis=(1, 2, 3)) if qdim == 0 else (wdeq**2).sum(axis=(0, 1, 2))
    acc_mean = x.mean * wsum
    acc_std = np.sqrt(np.maximum(wsq, 1e-12)) * x.std
    if len(zero_filters):  # after the statistics: the layer's scales stay those of the trained filters
        assert kind == "CONV_2D", "zero_filters: CONV_2D only"
        wq[list(zero_filters)] = 0

    w_idx = mb.tensor(wf.shape, np.int8, scale=wscale, zero_point=0, qdim=qdim, data=wq,
                      name=f"{kind.lower()}_filter")
    inputs = [x.index, w_idx]
    bscales_per_out = np.broadcast_to(wscale, (cout,)) if not per_channel else wscale
    if bias:
        bkind = "large" if rng.random() < 0.08 else "random"
        bq, bscale = _bias(rng, acc_std, x.scale, bscales_per_out, bkind)
        b_idx = mb.tensor((cout,), np.int32, scale=bscale if per_channel else bscale[:1],
                          zero_point=0, data=bq, name=f"{kind.lower()}_bias")
        inputs.append(b_idx)
        acc_mean = acc_mean + bq * bscale.astype(np.float64)
    else:
        inputs.append(-1)  # optional input omitted, as TFLite encodes it
        mb.features.add("no_bias")
    min_step = x.scale * float(np.min(wscale))
    scale, zp = _calibrate_output(rng, acc_mean, acc_std, activation, mode, min_step=min_step,
                                  max_step=x.scale * float(np.max(wscale)))
    zp = _extreme_zero_point(mb, zp)
    y = mb.activation((n, oh, ow, cout), scale=scale, zp=zp)
    _set_stats(y, acc_mean, acc_std, activation, rng)

    if kind == "CONV_2D":
        opt = schema.Conv2DOptionsT()
        opt_type = schema.BuiltinOptions.Conv2DOptions
        code = OP.CONV_2D
    else:
        opt = schema.DepthwiseConv2DOptionsT()
        opt.depthMultiplier = depth_multiplier
        opt_type = schema.BuiltinOptions.DepthwiseConv2DOptions
        code = OP.DEPTHWISE_CONV_2D
    opt.padding = PADDINGS[padding]
    opt.strideH, opt.strideW = stride
    opt.dilationHFactor, opt.dilationWFactor = dilation
    opt.fusedActivationFunction = ACTIVATIONS[activation]
    desc = dict(op=kind, input=x.shape, output=y.shape, kernel=(kh, kw), stride=stride,
                dilation=dilation, padding=padding, activation=activation,
                per_channel=per_channel, bias=bias, calibration=mode,
                in_q=(x.scale, x.zp), out_q=(scale, zp))
    if kind != "CONV_2D":
        desc["depth_multiplier"] = depth_multiplier
    mb.operator(code, inputs, [y.index], opt_type, opt, desc)
    return y


def _set_stats(y: Act, mean, std, activation: str, rng) -> None:
    """Estimate ``y``'s float statistics from its pre-activation ones.

    The std is floored at half a quantization step: a layer whose outputs all clamp
    to one value (a "dead" layer, legal and realistic) must not make the next op's
    calibrated range collapse to nothing.
    """
    y.mean, y.std = _act_stats(mean, std, *_clip_bounds(y, activation), rng)
    y.std = max(y.std, y.scale / 2)


def _clip_bounds(y: Act, activation: str) -> tuple[float, float]:
    """Float interval an output can take: its quantized range, then the activation."""
    lo, hi = y.qrange
    a_lo, a_hi = _activation_bounds(activation)
    return max(lo, a_lo), max(min(hi, a_hi), max(lo, a_lo))


def conv2d(mb: ModelBuilder, x: Act, **kw) -> Act:
    """CONV_2D: kernel, stride, dilation, padding, activation, per_channel, bias, mode, zero_filters."""
    return _conv_like(mb, x, kind="CONV_2D", **kw)


def depthwise_conv2d(mb: ModelBuilder, x: Act, **kw) -> Act:
    """DEPTHWISE_CONV_2D; filter [1, kh, kw, cin * depth_multiplier]."""
    return _conv_like(mb, x, kind="DEPTHWISE_CONV_2D", **kw)


def fully_connected(mb: ModelBuilder, x: Act, *, units=None, activation=None,
                    per_channel=False, bias=True, keep_num_dims=False, mode=None) -> Act:
    """FULLY_CONNECTED on a [batch, depth] input (or any rank: TFLM flattens it).

    Per-tensor weights are what the converter emits; per-channel FC weights are a
    newer TFLM feature and count as extended.
    """
    rng = mb.rng
    activation = activation or str(rng.choice(CORE_ACTIVATIONS))
    mode = mode or _pick_mode(rng, mb.kernel_shapes)
    depth = x.shape[-1]
    batches = int(np.prod(x.shape[:-1]))
    if mb.kernel_shapes and not units:
        units = _kernel_channels(rng)
    units = units or int(rng.integers(1, 17) if rng.random() < 0.85 else rng.integers(17, 129))
    if len(x.shape) != 2:
        mb.features.add("fc_nd_input")
    if per_channel:
        mb.features.add("fc_per_channel")
    wf = _random_weights(rng, (units, depth), axis=0)
    wq, wscale = quantize_weights(wf, 0 if per_channel else None)
    wdeq = wq.astype(np.float64) * (wscale[:, None] if per_channel else wscale[0])
    acc_mean = x.mean * wdeq.sum(axis=1)
    acc_std = np.sqrt(np.maximum((wdeq**2).sum(axis=1), 1e-12)) * x.std
    w_idx = mb.tensor((units, depth), np.int8, scale=wscale, zero_point=0, data=wq,
                      name="fc_weights")
    inputs = [x.index, w_idx]
    if bias:
        bq, bscale = _bias(rng, acc_std, x.scale, np.broadcast_to(wscale, (units,)),
                           "large" if rng.random() < 0.08 else "random")
        b_idx = mb.tensor((units,), np.int32, scale=bscale if per_channel else bscale[:1],
                          zero_point=0, data=bq, name="fc_bias")
        inputs.append(b_idx)
        acc_mean = acc_mean + bq * bscale.astype(np.float64)
    else:
        inputs.append(-1)
        mb.features.add("no_bias")
    scale, zp = _calibrate_output(rng, acc_mean, acc_std, activation, mode,
                                  min_step=x.scale * float(np.min(wscale)),
                                  max_step=x.scale * float(np.max(wscale)))
    zp = _extreme_zero_point(mb, zp)
    out_shape = (*x.shape[:-1], units) if keep_num_dims else (batches, units)
    if keep_num_dims:
        mb.features.add("fc_keep_num_dims")
    y = mb.activation(out_shape, scale=scale, zp=zp)
    _set_stats(y, acc_mean, acc_std, activation, rng)
    opt = schema.FullyConnectedOptionsT()
    opt.fusedActivationFunction = ACTIVATIONS[activation]
    opt.weightsFormat = schema.FullyConnectedOptionsWeightsFormat.DEFAULT
    opt.keepNumDims = keep_num_dims
    desc = dict(op="FULLY_CONNECTED", input=x.shape, output=y.shape, units=units,
                activation=activation, per_channel=per_channel, bias=bias,
                calibration=mode, in_q=(x.scale, x.zp), out_q=(scale, zp))
    mb.operator(OP.FULLY_CONNECTED, inputs, [y.index],
                schema.BuiltinOptions.FullyConnectedOptions, opt, desc)
    return y


def add(mb: ModelBuilder, x: Act, other: Act | str | None = None, *, activation=None,
        mode=None, broadcast=False) -> Act:
    """ADD of ``x`` and ``other``: an existing activation, or "const" (a constant
    tensor with its own quantization), or "input" (a new graph input).

    Both operands are requantized by the kernel, so their scales and zero points are
    chosen independently (sometimes equal, which makes both input multipliers 1/2).
    """
    rng = mb.rng
    activation = activation or str(rng.choice(CORE_ACTIVATIONS))
    mode = mode or str(rng.choice(["calibrated", "tight"], p=[0.85, 0.15]))
    if other is None:
        other = "const"
    kind = other if isinstance(other, str) else ("self" if other is x else "activation")
    if isinstance(other, str):
        shape = x.shape
        if broadcast:  # e.g. a per-channel constant [1, 1, 1, C]
            shape = tuple([1] * (len(x.shape) - 1) + [x.shape[-1]])
            mb.features.add("add_broadcast")
        if rng.random() < 0.15:
            scale, zp = x.scale, x.zp  # same quantization as x
        else:
            width = max(x.std, 1e-3) * rng.uniform(1, 12)
            c = rng.uniform(-0.5, 0.5) * width
            scale, zp = choose_qparams(c - width / 2, c + width / 2)
        if other == "const":
            data = rng.integers(-128, 128, size=shape).astype(np.int8)
            prev = mb.add_consts.get(shape)
            if prev is not None and mb.dedupe and rng.random() < 0.7:
                # The same constant again (deduplicated into one buffer by the builder).
                data, scale, zp = prev
            mb.add_consts[shape] = (data, scale, zp)
            idx = mb.tensor(shape, np.int8, scale=scale, zero_point=zp, data=data,
                            name="add_const")
            vals = (data.astype(np.float64) - zp) * scale
            other = Act(idx, shape, "int8", scale, zp, float(vals.mean()),
                        float(max(vals.std(), 1e-6)))
        else:  # a second graph input
            other = mb.activation(shape, scale=scale, zp=zp, name="input_b")
            lo, hi = other.qrange
            other.mean, other.std = (lo + hi) / 2, (hi - lo) / math.sqrt(12)
            mb.extra_inputs.append(other)
    assert other.dtype == "int8"
    mean = x.mean + other.mean
    std = math.sqrt(x.std**2 + other.std**2)
    scale, zp = _calibrate_output(rng, mean, std, activation, mode)
    # TFLM's ADD requantizes through a 2^20 fixed-point sum and requires its output
    # multiplier 2*max(s1, s2) / (2^20 * s_out) to be < 1 (it aborts otherwise).
    floor = 2.0 * max(x.scale, other.scale) / 2**20 * 1.001
    if scale <= floor:
        scale = float(f32(floor * rng.uniform(1.0, 4.0)))
    out_shape = tuple(np.broadcast_shapes(x.shape, other.shape))
    y = mb.activation(out_shape, scale=scale, zp=zp)
    _set_stats(y, mean, std, activation, rng)
    opt = schema.AddOptionsT()
    opt.fusedActivationFunction = ACTIVATIONS[activation]
    desc = dict(op="ADD", input=x.shape, other=kind, other_shape=other.shape,
                output=y.shape, activation=activation, calibration=mode,
                in_q=(x.scale, x.zp), other_q=(other.scale, other.zp), out_q=(scale, zp))
    mb.operator(OP.ADD, [x.index, other.index], [y.index],
                schema.BuiltinOptions.AddOptions, opt, desc)
    return y


def pool2d(mb: ModelBuilder, x: Act, kind: str, *, filter=None, stride=None,
           padding=None, activation=None) -> Act:
    """AVERAGE_POOL_2D / MAX_POOL_2D; the output keeps the input's quantization
    (TFLM checks it), so only the fused activation's clamp touches the values."""
    rng = mb.rng
    n, h, w, c = x.shape
    padding = padding or str(rng.choice(["SAME", "VALID"]))
    # Activations on pools are rare in real models; still legal and must work.
    activation = activation or str(rng.choice(CORE_ACTIVATIONS, p=[0.6, 0.2, 0.2]))
    if filter is None:
        if rng.random() < 0.2:  # global pooling over the whole feature map, as in MLPerf
            filter, padding = (h, w), "VALID"
        else:
            filter = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    if stride is None:
        stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    fh, fw = filter
    if padding == "VALID":
        fh, fw = min(fh, h), min(fw, w)
    oh = _out_size(padding, h, fh, stride[0], 1)
    ow = _out_size(padding, w, fw, stride[1], 1)
    y = mb.activation((n, oh, ow, c), scale=x.scale, zp=x.zp)
    lo, hi = _clip_bounds(y, activation)
    y.mean = float(np.clip(x.mean, lo, hi))
    y.std = x.std / (math.sqrt(fh * fw) if kind == "AVERAGE_POOL_2D" else 1.5)
    opt = schema.Pool2DOptionsT()
    opt.padding = PADDINGS[padding]
    opt.strideH, opt.strideW = stride
    opt.filterHeight, opt.filterWidth = fh, fw
    opt.fusedActivationFunction = ACTIVATIONS[activation]
    desc = dict(op=kind, input=x.shape, output=y.shape, filter=(fh, fw), stride=stride,
                padding=padding, activation=activation, q=(x.scale, x.zp))
    mb.operator(getattr(OP, kind), [x.index], [y.index],
                schema.BuiltinOptions.Pool2DOptions, opt, desc)
    return y


def _factor_shapes(rng, total: int, rank: int) -> tuple[int, ...]:
    """A random shape of ``rank`` dims (leading 1 = batch) with ``total`` elements."""
    if rank == 2:
        return (1, total)
    divisors = [d for d in range(1, total + 1) if total % d == 0]
    a = int(rng.choice(divisors))
    rest = total // a
    divisors = [d for d in range(1, rest + 1) if rest % d == 0]
    b = int(rng.choice(divisors))
    return (1, a, b, rest // b)


def reshape(mb: ModelBuilder, x: Act, new_shape=None, *, form=None) -> Act:
    """RESHAPE (same quantization, no data change).

    ``form`` is how the target shape is given, as converters do in different
    versions: "tensor" (a constant int32 shape input, possibly with -1), "options"
    (ReshapeOptions.new_shape only) or "both".
    """
    rng = mb.rng
    total = int(np.prod(x.shape))
    if new_shape is None:
        new_shape = _factor_shapes(rng, total, int(rng.choice([2, 4])))
    new_shape = tuple(int(s) for s in new_shape)
    assert int(np.prod(new_shape)) == total
    form = form or str(rng.choice(["tensor", "options", "both"], p=[0.5, 0.2, 0.3]))
    y = mb.activation(new_shape, scale=x.scale, zp=x.zp, mean=x.mean, std=x.std)
    inputs = [x.index]
    shape_vals = list(new_shape)
    if form in ("tensor", "both"):
        if rng.random() < 0.3:  # the converter often writes -1 for one dimension
            shape_vals[int(rng.integers(len(shape_vals)))] = -1
        s_idx = mb.tensor((len(shape_vals),), np.int32,
                          data=np.array(shape_vals, np.int32), name="reshape_shape")
        inputs.append(s_idx)
    opt, opt_type = None, 0
    if form in ("options", "both"):
        opt = schema.ReshapeOptionsT()
        opt.newShape = list(new_shape)
        opt_type = schema.BuiltinOptions.ReshapeOptions
    desc = dict(op="RESHAPE", input=x.shape, output=new_shape, form=form,
                shape_tensor=shape_vals if len(inputs) > 1 else None)
    mb.operator(OP.RESHAPE, inputs, [y.index], opt_type, opt, desc)
    return y


# TFLM's int8 SOFTMAX aborts (in the interpreter) on rows of this length or more.
SOFTMAX_MAX_ROW = 512


def softmax(mb: ModelBuilder, x: Act, *, beta=None) -> Act:
    """SOFTMAX over the last dimension; int8 output with scale 1/256, zp -128."""
    rng = mb.rng
    assert x.shape[-1] < SOFTMAX_MAX_ROW, "the interpreter aborts on such rows"
    if beta is None:
        beta = 1.0 if rng.random() < 0.7 else float(f32(rng.uniform(0.1, 3.0)))
    # TFLM's int8 SOFTMAX needs beta * input_scale * 2^26 > 1 (it aborts otherwise), and
    # below 2^31 (its multiplier's left shift is at most 30: beta * input_scale < 16; kernel
    # shapes' "coarse" outputs have scales that large).
    beta = float(f32(min(max(beta, 1.5 / (x.scale * 2**26)), 15.0 / x.scale)))
    y = mb.activation(x.shape, scale=1.0 / 256, zp=-128, mean=1.0 / x.shape[-1], std=0.2)
    opt = schema.SoftmaxOptionsT()
    opt.beta = beta
    desc = dict(op="SOFTMAX", input=x.shape, beta=beta, in_q=(x.scale, x.zp))
    mb.operator(OP.SOFTMAX, [x.index], [y.index], schema.BuiltinOptions.SoftmaxOptions,
                opt, desc)
    return y


def quantize(mb: ModelBuilder, x: Act) -> Act:
    """QUANTIZE float32 -> int8 with a calibrated range around the float input's."""
    rng = mb.rng
    lo, hi = x.mean - 1.8 * x.std * rng.uniform(0.6, 1.2), x.mean + 1.8 * x.std * rng.uniform(0.6, 1.2)
    scale, zp = choose_qparams(lo, hi)
    y = mb.activation(x.shape, scale=scale, zp=zp)
    ylo, yhi = y.qrange
    y.mean, y.std = _act_stats(x.mean, x.std, ylo, yhi, rng)
    desc = dict(op="QUANTIZE", input=x.shape, out_q=(scale, zp))
    mb.operator(OP.QUANTIZE, [x.index], [y.index], schema.BuiltinOptions.QuantizeOptions,
                schema.QuantizeOptionsT(), desc)
    return y


def requantize(mb: ModelBuilder, x: Act, *, mode=None) -> Act:
    """QUANTIZE int8 -> int8 (a rescale; converters emit it e.g. in front of ops whose
    inputs must share one quantization).  Not in issue 4's list: extended."""
    rng = mb.rng
    mode = mode or _pick_mode(rng)
    scale, zp = _calibrate_output(rng, x.mean, x.std, "NONE", mode, min_step=x.scale)
    y = mb.activation(x.shape, scale=scale, zp=zp)
    _set_stats(y, x.mean, x.std, "NONE", rng)
    mb.features.add("requantize")
    desc = dict(op="QUANTIZE", input=x.shape, requantize=True, calibration=mode,
                in_q=(x.scale, x.zp), out_q=(scale, zp))
    mb.operator(OP.QUANTIZE, [x.index], [y.index], schema.BuiltinOptions.QuantizeOptions,
                schema.QuantizeOptionsT(), desc)
    return y


def dequantize(mb: ModelBuilder, x: Act) -> Act:
    """DEQUANTIZE int8 -> float32."""
    y = mb.activation(x.shape, scale=1.0, zp=0, dtype="float32", mean=x.mean, std=x.std,
                      name="output_f32")
    desc = dict(op="DEQUANTIZE", input=x.shape, in_q=(x.scale, x.zp))
    mb.operator(OP.DEQUANTIZE, [x.index], [y.index],
                schema.BuiltinOptions.DequantizeOptions, schema.DequantizeOptionsT(), desc)
    return y


# --------------------------------------------------------------------------------------
# Random models
# --------------------------------------------------------------------------------------


# Channel counts of real models: mostly whole groups of 4 (the 2x4 register blocks and the 4-lane
# kernels take nothing else) and of 8 (pointwise8), besides a stem's 1-3 channels and odd counts
# (the padded paths).
KERNEL_CHANNELS = (4, 8, 8, 12, 16, 16, 24, 32, 32, 48, 64, 96)


def _kernel_channels(rng) -> int:
    r = rng.random()
    if r < 0.8:
        return int(rng.choice(KERNEL_CHANNELS))
    if r < 0.87:
        return int(rng.integers(1, 4))
    return int(rng.integers(1, 10))


def _kernel_image_shape(rng, total: int) -> tuple[int, int, int, int]:
    """A rank-4 shape of `total` values whose channels are a whole group of 4 where `total`
    allows (a RESHAPE back to an image in a kernel-shapes chain), else any factorisation."""
    channels = [d for d in range(4, 65, 4) if total % d == 0]
    if not channels:
        return _factor_shapes(rng, total, 4)
    c = int(rng.choice(channels))
    pixels = total // c
    h = int(rng.choice([d for d in range(1, pixels + 1) if pixels % d == 0]))
    return (1, h, pixels // h, c)


def _kernel_4d(rng) -> tuple[int, int, int, int]:
    """An input image for kernel shapes: a [T, 1, C] series now and then (streaming models'
    kx1 depthwise), a few large maps (long runs, passes, bands near their limits)."""
    c, r = _kernel_channels(rng), rng.random()
    if r < 0.08:
        return (1, int(rng.integers(8, 33)), 1, c)
    if r < 0.23:
        return (1, int(rng.integers(12, 25)), int(rng.integers(12, 25)), c)
    return (1, int(rng.integers(3, 17)), int(rng.integers(3, 17)), c)


def _kernel_conv_options(rng, kind: str, kernel, stride, dilation, out_channels, depth_multiplier, in_channels):
    """The options left None drawn as real models have them: CONV_2D mostly 1x1 and 3x3 (also
    2x2, 5x5, kx1, 1xk; on 1-3 input channels a third of the time a stem's window whose rows are
    whole words, as kws01's 10x4 on one channel), depthwise mostly 3x3 and kx1 (a few taller than
    the 8 rows the DSP depthwise ring holds) with a depth multiplier of 1, strides 1 and 2, rarely
    dilated."""
    if kernel is None:
        r = rng.random()
        if kind == "CONV_2D" and in_channels <= 3 and r < 0.33:
            # Drawn only here, so that the draws of every other layer stay as they were.
            widths = [fw for fw in (2, 4, 8) if fw * in_channels % 4 == 0]
            kernel = (int(rng.integers(2, 11)), int(rng.choice(widths)))
        elif kind == "CONV_2D":
            k = int(rng.choice([2, 5]))
            kernel = ((1, 1) if r < 0.4 else (3, 3) if r < 0.7 else (k, k) if r < 0.8
                      else (k, 1) if r < 0.85 else (1, k) if r < 0.9 else None)
        else:
            kernel = ((3, 3) if r < 0.5 else (int(rng.integers(3, 11)), 1) if r < 0.75
                      else (int(rng.integers(12, 25)), 1) if r < 0.8 else None)
        if kernel is None:
            kernel = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    if stride is None:
        r = rng.random()
        stride = (1, 1) if r < 0.6 else (2, 2) if r < 0.9 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    if dilation is None and rng.random() < 0.9:
        dilation = (1, 1)
    if kind == "CONV_2D":
        out_channels = out_channels or _kernel_channels(rng)
    elif depth_multiplier is None:
        depth_multiplier = 1 if rng.random() < 0.85 else 2
    return kernel, stride, dilation, out_channels, depth_multiplier


def _random_4d(rng) -> tuple[int, int, int, int]:
    if rng.random() < 0.1:  # occasionally wider: longer loops, bigger sums and arenas
        return (1, int(rng.integers(8, 21)), int(rng.integers(8, 21)), int(rng.integers(8, 33)))
    return (1, int(rng.integers(1, 11)), int(rng.integers(1, 11)), int(rng.integers(1, 9)))


def _step(mb: ModelBuilder, x: Act, op: str, extended: bool) -> Act:
    """Append ``op`` consuming ``x`` (inserting a RESHAPE first when the op needs
    another rank, as converters do before FULLY_CONNECTED)."""
    rng = mb.rng
    rank4 = len(x.shape) == 4
    if op in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D") and not rank4:
        total = int(np.prod(x.shape))
        x = reshape(mb, x, _kernel_image_shape(rng, total) if mb.kernel_shapes else _factor_shapes(rng, total, 4))
    act = None
    if extended and rng.random() < 0.1:
        act = "RELU_N1_TO_1"
        mb.features.add("relu_n1_to_1")
    if op == "CONV_2D":
        return conv2d(mb, x, activation=act, bias=not (extended and rng.random() < 0.1))
    if op == "DEPTHWISE_CONV_2D":
        return depthwise_conv2d(mb, x, activation=act)
    if op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return pool2d(mb, x, op, activation=act)
    if op == "FULLY_CONNECTED":
        if rank4 and not (extended and rng.random() < 0.5):
            x = reshape(mb, x, (1, int(np.prod(x.shape))))
        pc = bool(extended and rng.random() < 0.3)
        keep = bool(extended and len(x.shape) > 2 and rng.random() < 0.3)
        return fully_connected(mb, x, activation=act, per_channel=pc, keep_num_dims=keep)
    if op == "ADD":
        same = [a for a in mb.acts if a.shape == x.shape and a.index != x.index]
        # "self" is x + x: one tensor feeding both operands (legal; engines that
        # plan buffers per operand must cope with it).
        choices = ["const"] * 3 + (["activation"] * 6 if same else ["self"])
        if mb.allow_multi_input:
            choices.append("input")
        kind = str(rng.choice(choices))
        if kind == "input":
            mb.features.add("multi_input")
        other = {"activation": lambda: same[int(rng.integers(len(same)))],
                 "self": lambda: x}.get(kind, lambda: kind)()
        bcast = bool(extended and kind == "const" and rng.random() < 0.3)
        return add(mb, x, other, activation=act, broadcast=bcast)
    if op == "RESHAPE":
        return reshape(mb, x)
    if op == "SOFTMAX":
        if x.shape[-1] >= SOFTMAX_MAX_ROW:
            # The interpreter's int8 SOFTMAX aborts on rows of 512 or more; split
            # the row with a RESHAPE (models classify into far fewer classes).
            total = int(np.prod(x.shape))
            d = max(d for d in range(1, SOFTMAX_MAX_ROW) if total % d == 0)
            x = reshape(mb, x, (1, total // d, d) if rng.random() < 0.5 else (1, 1, total // d, d))
        return softmax(mb, x)
    raise ValueError(op)


SHAPES = ("any", "kernels")
# A kernel-shapes chain draws its other ops as image models have them, convolutions first.
KERNEL_CHAIN_OPS = {"CONV_2D": 0.42, "DEPTHWISE_CONV_2D": 0.2, "ADD": 0.1, "AVERAGE_POOL_2D": 0.06,
                    "MAX_POOL_2D": 0.04, "FULLY_CONNECTED": 0.08, "SOFTMAX": 0.06, "RESHAPE": 0.04}
RANK2_OPS = ("FULLY_CONNECTED", "SOFTMAX")


def _kernel_chain(rng, seq: list[str], length: int) -> list[str]:
    """`seq` (the forced op, if any) filled up to `length` ops (at least 1) from KERNEL_CHAIN_OPS,
    shuffled, then the image ops moved in front of FULLY_CONNECTED and SOFTMAX (the order of a
    classifier): a convolution then sees the channels its producer made, not those of a RESHAPE
    of a vector."""
    names, weights = list(KERNEL_CHAIN_OPS), list(KERNEL_CHAIN_OPS.values())
    while len(seq) < max(length, 1):
        seq.append(str(rng.choice(names, p=weights)))
    rng.shuffle(seq)
    return sorted(seq, key=lambda o: o in RANK2_OPS)


def random_model(seed, *, extended: bool = False, op: str | None = None,
                 chain: bool | None = None, multi_input: bool | None = None, shapes: str = "any"):
    """A random valid int8 model: ``(tflite_bytes, description)``.

    ``seed`` is an int (recorded in the description) or a numpy Generator.  ``op``
    forces the model to contain that op (as its main single op); ``chain`` forces a
    single-op model (False) or a chain of 2-4 ops (True).  ``extended`` also enables
    features outside issue 4's list (listed in ``description["features"]``).
    ``multi_input`` allows ADD to take a second graph input (default: only when
    ``extended``; the engine compiles single-input models, so core ADDs take their
    second operand from a constant or from an earlier activation, a residual).
    ``shapes="kernels"`` draws channel counts, filters, strides and quantisations from the
    mix real models have and the optimised kernels specialise on (whole groups of 4 and 8
    channels, 1x1 / 3x3 / kx1 filters, requantisation shifts at the DSP epilogue's limits;
    see _kernel_conv_options); "any" (the default) keeps the original draws, and each seed
    its model.
    """
    if shapes not in SHAPES:
        raise ValueError(f"shapes={shapes!r}: one of {', '.join(SHAPES)}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    mb = ModelBuilder(rng, own_buffers=bool(rng.random() < 0.7), dedupe=bool(rng.random() < 0.5))
    mb.allow_multi_input = extended if multi_input is None else multi_input
    mb.kernel_shapes = shapes == "kernels"
    if chain is None:
        chain = bool(rng.random() < 0.5)
    main_ops = [o for o in CORE_OPS if o not in ("QUANTIZE", "DEQUANTIZE")]
    if op is None:
        op = str(rng.choice(CORE_OPS))
    if chain:
        # A chain: 2-4 ops (one of them ``op``), maybe behind a QUANTIZE and in
        # front of a DEQUANTIZE (float model input / output).
        float_in = op == "QUANTIZE" or rng.random() < 0.12
        float_out = op == "DEQUANTIZE" or rng.random() < 0.12
        seq = [op] if op in main_ops else []
        if mb.kernel_shapes:
            seq = _kernel_chain(rng, seq, int(rng.integers(2, 6)) - (float_in + float_out))
        else:
            while len(seq) < int(rng.integers(2, 5)) - (float_in + float_out) or not seq:
                seq.append(str(rng.choice(main_ops)))
            rng.shuffle(seq)
    else:
        # Exactly one operator; its input has the rank it needs.
        float_in, float_out = op == "QUANTIZE", op == "DEQUANTIZE"
        seq = [op] if op in main_ops else []

    first = seq[0] if seq else None
    if first == "FULLY_CONNECTED" and not (chain or extended):
        rank2 = True
    elif first in ("FULLY_CONNECTED", "SOFTMAX", "ADD", "RESHAPE", None):
        rank2 = bool(rng.random() < 0.5)
    else:
        rank2 = False
    if rank2:
        shape = (1, int(rng.integers(1, 65) if rng.random() < 0.85 else rng.integers(65, 513)))
        if first == "FULLY_CONNECTED" and extended and rng.random() < 0.3:
            shape = (int(rng.integers(2, 4)), shape[1])  # batch > 1
            mb.features.add("fc_batch")
    else:
        shape = _kernel_4d(rng) if mb.kernel_shapes else _random_4d(rng)
        if extended and rng.random() < 0.15:
            shape = (int(rng.integers(2, 4)), *shape[1:])  # batch > 1
            mb.features.add("batch")
    x = mb.input(shape, "float32" if float_in else "int8")
    inputs = [x]
    if float_in:
        x = quantize(mb, x)
    for o in seq:
        x = _step(mb, x, o, extended)
        if extended and rng.random() < 0.1:
            x = requantize(mb, x)
    if float_out:
        x = dequantize(mb, x)
    inputs += mb.extra_inputs
    return finish_model(mb, inputs, x, seed=seed if isinstance(seed, (int, np.integer)) else None,
                        main_op=op)


def finish_model(mb: ModelBuilder, inputs: list[Act], output: Act, *, seed=None,
                 main_op=None) -> tuple[bytes, dict]:
    """Serialize ``mb`` and describe it: ``(tflite_bytes, description)``."""
    data = mb.finish(inputs, [output])
    ops = [d["op"] for d in mb.ops]
    desc = dict(
        seed=seed,
        main_op=main_op or ops[0],
        ops=ops,
        layers=mb.ops,
        inputs=[dict(shape=a.shape, dtype=a.dtype, scale=a.scale, zp=a.zp) for a in inputs],
        output=dict(shape=output.shape, dtype=output.dtype, scale=output.scale, zp=output.zp),
        features=sorted(mb.features),
    )
    return data, desc


def describe(desc: dict) -> str:
    """One readable multi-line summary of a model description."""
    lines = [f"seed={desc.get('seed')} ops={' -> '.join(desc['ops'])}"
             + (f" extended={desc['features']}" if desc.get("features") else "")]
    for i, layer in enumerate(desc["layers"]):
        lines.append(f"  [{i}] " + json.dumps(layer, default=_jsonable))
    return "\n".join(lines)


def _jsonable(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (tuple, set)):
        return list(o)
    return str(o)


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


def random_inputs(rng: np.random.Generator, spec: dict, k: int) -> np.ndarray:
    """``k`` inputs for one input tensor described by ``spec`` (a ``desc['inputs']``
    entry), mixing distributions that reach different code paths:

    * uniform over the whole int8 range;
    * narrow around the zero point (small accumulators: the only way outputs of a
      "hot" layer, whose multiplier exceeds 1, avoid saturation);
    * constant extremes (-128 / 127) to hit saturation and clamps.

    Float inputs (for QUANTIZE) cover the quantized range and beyond (clamping), and
    values on the quantization grid and exactly half-way between grid points, which
    test the round-half-away-from-zero rule.
    """
    shape = tuple(spec["shape"])
    out = []
    for i in range(k):
        kind = ["uniform", "narrow", "uniform", "extreme", "narrow", "uniform"][i % 6]
        if spec["dtype"] == "int8":
            if kind == "uniform":
                v = rng.integers(-128, 128, size=shape)
            elif kind == "narrow":
                r = int(rng.integers(1, 12))
                v = np.clip(spec["zp"] + rng.integers(-r, r + 1, size=shape), -128, 127)
            else:
                v = np.full(shape, -128 if rng.random() < 0.5 else 127)
                v.flat[:: max(1, v.size // 3)] = spec["zp"]
            out.append(v.astype(np.int8))
        else:
            s, zp = spec["scale"], spec["zp"]
            lo, hi = (-128 - zp) * s, (127 - zp) * s
            if kind == "uniform":
                v = rng.uniform(lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo), size=shape)
            elif kind == "narrow":  # grid points and exact half-way points
                g = rng.integers(-140 - zp, 140 - zp, size=shape).astype(np.float64)
                g += rng.choice([0.0, 0.5, -0.5], size=shape)
                v = g * s
            else:
                v = np.where(rng.random(shape) < 0.5, lo * 3, hi * 3)
                v.flat[:: max(1, v.size // 3)] = 0.0
            out.append(np.asarray(v, dtype=np.float32))
    return np.stack(out)
