"""Shared by tests/codegen/test_engine_fuzz.py and benchmarks/fuzz_engine.py.

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

from tinyrig_testing import tflite_builder as tb


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
        e, g = expected[t].item(), got[t].item()
        # Index 0 is the input sample; the rest index the model's output tensor.
        parts.append(f"input #{t[0]} output[{', '.join(map(str, t[1:]))}]: expected {e!r} got {g!r}")
    samples = sorted({int(i[0]) for i in diff})
    return (f"{len(diff)} of {expected.size} values differ (inputs {samples}); first: "
            + "; ".join(parts))


@dataclasses.dataclass
class FuzzCase:
    seed: int
    model: bytes
    desc: dict
    inputs: list[np.ndarray]  # one [K, ...] batch per graph input
    expected: np.ndarray  # [K, *output_shape] from the interpreter
    model_kw: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def make(cls, seed: int, k: int = 6, isolate: bool = True, **model_kw) -> "FuzzCase":
        """Build the model for ``seed`` and its golden outputs on ``k`` inputs."""
        model, desc = tb.random_model(seed, **model_kw)
        rng = np.random.default_rng([seed, 1])  # inputs: a stream separate from the model's
        inputs = [tb.random_inputs(rng, spec, k) for spec in desc["inputs"]]
        expected = in_child(run_tflm, model, inputs) if isolate else run_tflm(model, inputs)
        return cls(seed, model, desc, inputs, expected, dict(model_kw))

    @classmethod
    def from_model(cls, name: str, model: bytes, desc: dict, k: int = 6,
                   inputs: list[np.ndarray] | None = None) -> "FuzzCase":
        """A hand-built ("directed") model; ``name`` stands in for the seed.  Inputs
        are random (seeded by the name) unless given."""
        if inputs is None:
            rng = np.random.default_rng(list(name.encode()))
            inputs = [tb.random_inputs(rng, spec, k) for spec in desc["inputs"]]
        case = cls(0, model, desc, inputs, in_child(run_tflm, model, inputs))
        case.name = name
        return case

    @property
    def repro(self) -> str:
        """The call that rebuilds this model."""
        if getattr(self, "name", None):
            return f"directed case {self.name!r} in tests/codegen/test_engine_fuzz.py"
        kw = "".join(f", {k}={v!r}" for k, v in self.model_kw.items())
        return f"tflite_builder.random_model({self.seed}{kw})"

    @property
    def label(self) -> str:
        head = getattr(self, "name", None) or f"seed {self.seed} {self.desc['main_op']}"
        return f"{head} ({' -> '.join(self.desc['ops'])})"

    def report(self, problem: str) -> str:
        return (f"{self.label}: {problem}\n"
                f"reproduce: {self.repro}\n"
                f"model: {tb.describe(self.desc)}")

    def save(self, directory, got=None) -> "os.PathLike":
        """Write the model, its inputs and the outputs to ``directory`` for a repro."""
        from pathlib import Path

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        stem = (f"fuzz_{self.name}" if getattr(self, "name", None)
                else f"fuzz_seed{self.seed}_{self.desc['main_op'].lower()}")
        (d / f"{stem}.tflite").write_bytes(self.model)
        np.save(d / f"{stem}_input.npy", self.inputs[0])
        np.save(d / f"{stem}_expected.npy", self.expected)
        if isinstance(got, np.ndarray):
            np.save(d / f"{stem}_got.npy", got)
        return d / f"{stem}.tflite"


# --------------------------------------------------------------------------------------
# Engine side: compile, build in batches, run, compare
# --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    """What happened to one fuzz case.

    ``status``: "ok"; "mismatch" (outputs differ from TFLM); "unsupported" (the engine
    raised UnsupportedModelError); "engine_error" (compile_model raised anything
    else); "build_error" (the generated C++ did not compile); "crash" (the executable
    died on this model); "golden_rejected" (the interpreter refused the model: a
    builder bug).
    """

    spec: tuple  # (seed, model kwargs)
    status: str
    detail: str = ""
    case: FuzzCase | None = None
    got: np.ndarray | None = None

    @property
    def label(self) -> str:
        if self.case is not None:
            return self.case.label
        return f"seed {self.spec[0]} {self.spec[1]}"

    def report(self) -> str:
        if self.case is None:
            return f"{self.label}: {self.status}: {self.detail}"
        return self.case.report(f"{self.status}: {self.detail}")


def make_case(spec, k: int = 6):
    """FuzzCase for ``spec = (seed, model kwargs)``, or an Outcome if the golden run
    failed.  Picklable, for process pools."""
    seed, kw = spec
    try:
        return FuzzCase.make(seed, k=k, **kw)
    except GoldenRejected as e:
        return Outcome(spec, "golden_rejected", str(e))


def evaluate(cases: list, *, jobs: int = 1, workdir=None, obj_cache=None,
             confirm: bool = True, sanitize_confirm: bool = True) -> list[Outcome]:
    """Compile every FuzzCase with the engine, link them into one host executable,
    run each on its inputs and compare with the interpreter's outputs.

    Entries of ``cases`` that are already Outcomes (golden failures) pass through.
    With ``confirm``, each mismatch or crash is rebuilt alone (and, with
    ``sanitize_confirm``, with ASan/UBSan) and the result is added to its detail, so
    a report says whether it reproduces outside the batch.
    """
    import traceback

    from tinyrig_testing import engine_host as eh
    from tinyrig.codegen.engine import compile_model
    from tinyrig.codegen.errors import UnsupportedModelError

    outcomes: list[Outcome | None] = [None] * len(cases)
    compiled = {}
    for i, c in enumerate(cases):
        if isinstance(c, Outcome):
            outcomes[i] = c
            continue
        spec = (c.seed, c.model_kw)
        try:
            compiled[i] = compile_model(c.model)
        except UnsupportedModelError as e:
            outcomes[i] = Outcome(spec, "unsupported", str(e), c)
        except Exception as e:  # noqa: BLE001 - any engine crash is a finding
            tb_text = "".join(traceback.format_exception_only(type(e), e)).strip()
            where = traceback.extract_tb(e.__traceback__)[-1]
            outcomes[i] = Outcome(spec, "engine_error",
                                  f"{tb_text} (at {where.filename}:{where.lineno})", c)

    def build(indices):
        hb = eh.HostBatch([compiled[i] for i in indices], workdir=None, jobs=jobs,
                          obj_cache=obj_cache)
        hb.build()
        return hb

    order = list(compiled)
    try:
        hb = build(order)
    except eh.HostBuildError:
        # Find the models whose C++ does not build, then batch the rest.
        good = []
        for i in order:
            try:
                build([i]).close()
                good.append(i)
            except eh.HostBuildError as e:
                c = cases[i]
                outcomes[i] = Outcome((c.seed, c.model_kw), "build_error", str(e)[-1500:], c)
        order = good
        hb = build(order)
    warnings = list(hb.warnings)
    results = hb.run([(j, cases[i].inputs[0]) for j, i in enumerate(order)])
    hb.close()
    for j, i in enumerate(order):
        c, r = cases[i], results[j]
        spec = (c.seed, c.model_kw)
        if isinstance(r, str):
            outcomes[i] = Outcome(spec, "crash", r, c)
            continue
        problem = compare(c.expected, r)
        outcomes[i] = Outcome(spec, "mismatch" if problem else "ok", problem or "", c, r)
    if confirm:
        for o in outcomes:
            if o.status in ("mismatch", "crash"):
                o.detail += confirm_alone(o.case, sanitize=sanitize_confirm)
    evaluate.last_warnings = warnings  # for callers that check -Wall -Wextra cleanliness
    return outcomes


def confirm_alone(case: FuzzCase, sanitize: bool = True) -> str:
    """Rebuild one case in its own executable (and under sanitizers); describe."""
    from tinyrig_testing import engine_host as eh
    from tinyrig.codegen.engine import compile_model

    cm = compile_model(case.model)
    notes = []
    alone = eh.run_alone(cm, case.inputs[0])
    if isinstance(alone, str):
        notes.append(f"built alone: {alone}")
    else:
        p = compare(case.expected, alone)
        notes.append("reproduces when built alone" if p else
                     "does NOT reproduce when built alone (batch interference?)")
    if sanitize:
        try:
            san = eh.run_alone(cm, case.inputs[0], sanitize=True)
            notes.append("ASan/UBSan: clean" if not isinstance(san, str)
                         else f"ASan/UBSan: {san[-800:]}")
        except eh.HostBuildError as e:
            notes.append(f"sanitizer build failed: {str(e)[-300:]}")
    return "\n  " + "\n  ".join(notes)
