"""Shared by tests/engine/test_engine_fuzz.py and benchmarks/fuzz_engine.py.

* :func:`run_tflm` runs a model in the TensorFlow Lite Micro interpreter (the golden
  reference) on a batch of inputs;
* :func:`compare` checks two output batches byte for byte and, on a difference,
  describes the first differing indices;
* :class:`FuzzCase` bundles one random model, its inputs and its golden outputs.
"""

from __future__ import annotations

import dataclasses
import os
import pickle

import numpy as np
from tflite_micro.python.tflite_micro import runtime

import tflite_builder as tb


class GoldenRejected(Exception):
    """The interpreter refused a generated model: a builder bug, not an engine bug."""


def run_tflm(model: bytes, inputs: list[np.ndarray]) -> np.ndarray:
    """Golden outputs ``[K, *output_shape]`` for ``inputs`` (one ``[K, ...]`` array per
    graph input)."""
    # The runtime's default arena (10x the model size) is too small for tiny models
    # with large activations; these models need far less than 1 MiB.
    try:
        it = runtime.Interpreter.from_bytes(model, arena_size=1 << 20)
    except Exception as e:  # the runtime raises RuntimeError/ValueError variants
        raise GoldenRejected(f"interpreter rejected the model: {e}") from e
    outs = []
    for k in range(inputs[0].shape[0]):
        for i, batch in enumerate(inputs):
            it.set_input(batch[k], i)
        try:
            it.invoke()
        except Exception as e:
            raise GoldenRejected(f"interpreter failed to invoke: {e}") from e
        outs.append(np.array(it.get_output(0), copy=True))
    return np.stack(outs)


def in_child(fn, *args):
    """``fn(*args)`` in a forked child process, returning its result.

    TFLM aborts the whole process (TFLITE_CHECK -> abort()) on some invalid models;
    isolating each golden run turns that into a :class:`GoldenRejected` naming the
    model instead of killing pytest or the benchmark.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            payload = pickle.dumps((True, fn(*args)))
        except BaseException as e:  # noqa: BLE001 - everything goes to the parent
            payload = pickle.dumps((False, e))
        with os.fdopen(w, "wb") as f:
            f.write(payload)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        raise GoldenRejected(f"interpreter process died (status {status}, signal {sig})")
    ok, value = pickle.loads(data)
    if not ok:
        raise value
    return value


def compare(expected: np.ndarray, got: np.ndarray, max_listed: int = 5) -> str | None:
    """None when byte-identical, else a description of the difference.

    Float outputs are compared by bit pattern (byte-for-byte means -0.0 != 0.0).
    """
    got = np.asarray(got)
    if got.shape != expected.shape:
        return f"shape mismatch: expected {expected.shape}, got {got.shape}"
    if got.dtype != expected.dtype:
        return f"dtype mismatch: expected {expected.dtype}, got {got.dtype}"
    eb = expected.view(np.uint8).reshape(expected.shape + (-1,))
    gb = got.view(np.uint8).reshape(got.shape + (-1,))
    diff = np.argwhere((eb != gb).any(axis=-1))
    if diff.size == 0:
        return None
    parts = []
    for idx in diff[:max_listed]:
        t = tuple(int(i) for i in idx)
        parts.append(f"[{', '.join(map(str, t))}] expected {expected[t]!r} got {got[t]!r}")
    return (f"{len(diff)} of {expected.size} values differ; first: " + "; ".join(parts))


@dataclasses.dataclass
class FuzzCase:
    seed: int
    model: bytes
    desc: dict
    inputs: list[np.ndarray]  # one [K, ...] batch per graph input
    expected: np.ndarray  # [K, *output_shape] from the interpreter

    @classmethod
    def make(cls, seed: int, k: int = 6, isolate: bool = True, **model_kw) -> "FuzzCase":
        """Build the model for ``seed`` and its golden outputs on ``k`` inputs."""
        model, desc = tb.random_model(seed, **model_kw)
        rng = np.random.default_rng([seed, 1])  # inputs: a stream separate from the model's
        inputs = [tb.random_inputs(rng, spec, k) for spec in desc["inputs"]]
        expected = in_child(run_tflm, model, inputs) if isolate else run_tflm(model, inputs)
        return cls(seed, model, desc, inputs, expected)

    def report(self, problem: str) -> str:
        return f"{problem}\nmodel: {tb.describe(self.desc)}"
