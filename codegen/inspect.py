"""`tinyrig inspect MODEL.tflite`: the operator table and what compiling the model would cost.

`inspect_model` never stops at the first unsupported operator: every row says
whether its operator compiles and, if not, why. The arena is planned even for a
model that does not fully compile (unsupported operators are assumed to read
their inputs and write their outputs like any kernel).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .engine import check_model_interface
from .errors import UnsupportedModelError
from .ir import Graph, Operator
from .kernels import discover_kernels
from .kernels.registry import REFERENCE, select_kernel
from .layer import LayerPlan
from .layers import lower_operator
from .planner import plan_memory
from .tflite_reader import read_tflite


@dataclass
class OperatorRow:
    index: int
    op: str
    input_shapes: list[list[int]]
    output_shapes: list[list[int]]
    macs: int
    param_bytes: int
    supported: bool
    reason: str | None = None  # why the operator does not compile
    kernel: str | None = None  # C++ function the engine would call


@dataclass
class InspectReport:
    model: str
    rows: list[OperatorRow]
    total_macs: int
    weight_bytes: int
    arena_bytes: int
    arena_lower_bound: int
    all_supported: bool
    input_shape: list[int]
    input_dtype: str
    output_shape: list[int]
    output_dtype: str
    model_problems: list[str] = field(default_factory=list)  # e.g. two graph inputs


def _unsupported_row(graph: Graph, operator: Operator, reason: str) -> tuple[OperatorRow, LayerPlan]:
    inputs = [i for i in operator.inputs if i >= 0 and not graph.tensor(i).is_constant]
    constant_bytes = sum(graph.tensor(i).byte_size for i in operator.inputs if i >= 0 and graph.tensor(i).is_constant)
    row = OperatorRow(
        index=operator.index, op=operator.op,
        input_shapes=[list(graph.tensor(i).shape) for i in inputs],
        output_shapes=[list(graph.tensor(i).shape) for i in operator.outputs if i >= 0],
        macs=0, param_bytes=constant_bytes, supported=False, reason=reason,
    )
    stand_in = LayerPlan(index=operator.index, op=operator.op, kernel_id=None, inputs=inputs,
                         outputs=[i for i in operator.outputs if i >= 0])
    return row, stand_in


def inspect_model(path: str | os.PathLike, core: str = REFERENCE) -> InspectReport:
    discover_kernels()
    graph = read_tflite(path)
    rows, plans = [], []
    for operator in graph.operators:
        try:
            plan = lower_operator(graph, operator)
        except UnsupportedModelError as error:
            row, plan = _unsupported_row(graph, operator, error.reason)
        else:
            row = OperatorRow(
                index=plan.index, op=plan.op,
                input_shapes=[list(s) for s in plan.input_shapes],
                output_shapes=[list(s) for s in plan.output_shapes],
                macs=plan.macs, param_bytes=plan.param_bytes, supported=True,
                kernel=select_kernel(plan.kernel_id, core).function if plan.kernel_id else None,
            )
        rows.append(row)
        plans.append(plan)

    problems = []
    try:
        check_model_interface(graph)
    except UnsupportedModelError as error:
        problems.append(error.reason)
    memory = plan_memory(graph, plans)
    first_input = graph.tensor(graph.inputs[0]) if graph.inputs else None
    first_output = graph.tensor(graph.outputs[0]) if graph.outputs else None
    return InspectReport(
        model=Path(path).name,
        rows=rows,
        total_macs=sum(r.macs for r in rows),
        weight_bytes=sum(r.param_bytes for r in rows),
        arena_bytes=memory.arena_bytes,
        arena_lower_bound=memory.lower_bound,
        all_supported=all(r.supported for r in rows) and not problems,
        input_shape=list(first_input.shape) if first_input else [],
        input_dtype=first_input.dtype if first_input else "",
        output_shape=list(first_output.shape) if first_output else [],
        output_dtype=first_output.dtype if first_output else "",
        model_problems=problems,
    )


def why_not_compiled(report: InspectReport) -> str | None:
    """One line saying why the model does not compile (the first model problem or unsupported
    operator, with how many more the table shows); None when it compiles."""
    reasons = list(report.model_problems)
    reasons += [f"operator {row.index} ({row.op}): {row.reason}" for row in report.rows if not row.supported]
    if not reasons:
        return None
    more = f" (and {len(reasons) - 1} more in the table)" if len(reasons) > 1 else ""
    return f"{reasons[0]}{more}"


def _shapes(shapes: list[list[int]]) -> str:
    return ", ".join("x".join(str(d) for d in shape) or "scalar" for shape in shapes)


def render_text(report: InspectReport) -> str:
    header = ("#", "op", "input", "output", "MACs", "params (B)", "status")
    table = [header]
    for row in report.rows:
        if not row.supported:
            status = f"UNSUPPORTED: {row.reason}"
        else:
            status = "ok" if row.kernel else "ok (no code: aliases its input)"
        table.append((str(row.index), row.op, _shapes(row.input_shapes), _shapes(row.output_shapes),
                      f"{row.macs:,}", f"{row.param_bytes:,}", status))
    # The status column is last and left ragged; numeric columns are right-aligned.
    widths = [max(len(r[c]) for r in table) for c in range(len(header) - 1)]
    right = {0, 4, 5}
    lines = []
    for r in table:
        cells = [r[c].rjust(widths[c]) if c in right else r[c].ljust(widths[c]) for c in range(len(widths))]
        lines.append("  ".join(cells + [r[-1]]).rstrip())
    lines.insert(1, "-" * max(len(line) for line in lines))
    bound = report.arena_lower_bound
    over = f" (+{(report.arena_bytes - bound) / bound * 100:.1f}%)" if bound else ""
    summary = [
        f"model: {report.model}  input {'x'.join(map(str, report.input_shape))} {report.input_dtype}"
        f"  output {'x'.join(map(str, report.output_shape))} {report.output_dtype}",
        "",
        *lines,
        "",
        f"total MACs:     {report.total_macs:,}",
        f"weight bytes:   {report.weight_bytes:,}",
        f"arena bytes:    {report.arena_bytes:,} planned, lower bound {bound:,}{over}",
        f"all supported:  {'yes' if report.all_supported else 'no'}",
    ]
    summary += [f"model problem:  {problem}" for problem in report.model_problems]
    return "\n".join(summary) + "\n"


def report_to_json(report: InspectReport) -> dict:
    return asdict(report)
