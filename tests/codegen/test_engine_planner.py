"""Arena planning: lifetimes, aliasing, alignment, the lower bound, and the placement search."""

from __future__ import annotations

import random

import pytest

from tinyrig.codegen.ir import Graph, Tensor
from tinyrig.codegen.layer import LayerPlan
from tinyrig.codegen.planner import ARENA_ALIGNMENT, collect_buffers, plan_memory


def make_graph(sizes: list[int], inputs: list[int], outputs: list[int]) -> Graph:
    tensors = [Tensor(index=i, name=f"t{i}", shape=(size,), dtype="int8") for i, size in enumerate(sizes)]
    return Graph(tensors=tensors, operators=[], inputs=inputs, outputs=outputs)


def layer(index: int, inputs: list[int], outputs: list[int], alias_of: int | None = None) -> LayerPlan:
    return LayerPlan(index=index, op="RESHAPE" if alias_of is not None else "OP",
                     kernel_id=None if alias_of is not None else "op", inputs=inputs, outputs=outputs,
                     alias_of=alias_of)


def assert_valid(graph: Graph, layers: list[LayerPlan]) -> None:
    plan = plan_memory(graph, layers)
    for buffer in plan.buffers:
        assert buffer.offset % ARENA_ALIGNMENT == 0
        assert buffer.offset + buffer.size <= plan.arena_bytes
    for a in plan.buffers:
        for b in plan.buffers:
            if a is not b and a.overlaps_in_time(b):
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)
    assert plan.arena_bytes >= plan.lower_bound
    return plan


def test_chain_reuses_memory_and_meets_the_lower_bound():
    # t0 -> t1 -> t2 -> t3: only neighbours are alive together.
    graph = make_graph([1000, 4000, 2000, 500], inputs=[0], outputs=[3])
    layers = [layer(0, [0], [1]), layer(1, [1], [2]), layer(2, [2], [3])]
    plan = assert_valid(graph, layers)
    assert plan.lower_bound == 6000
    assert plan.arena_bytes == 6000


def test_reshape_output_aliases_its_input():
    graph = make_graph([64, 64, 64, 16], inputs=[0], outputs=[3])
    layers = [layer(0, [0], [1]), layer(1, [1], [2], alias_of=1), layer(2, [2], [3])]
    plan = assert_valid(graph, layers)
    assert plan.offsets[1] == plan.offsets[2]
    assert len(plan.buffers) == 3


def test_residual_keeps_the_skip_tensor_alive():
    # t1 feeds both layer 1 and the ADD in layer 3.
    graph = make_graph([100, 300, 300, 300, 300], inputs=[0], outputs=[4])
    layers = [layer(0, [0], [1]), layer(1, [1], [2]), layer(2, [2], [3]), layer(3, [1, 3], [4])]
    plan = assert_valid(graph, layers)
    skip = next(b for b in plan.buffers if 1 in b.tensors)
    assert (skip.first_step, skip.last_step) == (0, 3)
    assert plan.lower_bound == 900


def test_graph_input_lives_from_the_start_and_output_to_the_end():
    graph = make_graph([10, 20, 30], inputs=[0], outputs=[1])
    layers = [layer(0, [0], [1]), layer(1, [1], [2])]  # t2 is computed but unused
    buffers = {tuple(b.tensors): b for b in collect_buffers(graph, layers)}
    assert (buffers[(0,)].first_step, buffers[(1,)].last_step) == (0, 1)


@pytest.mark.parametrize("seed", range(30))
def test_random_graphs_never_overlap_live_buffers(seed):
    rng = random.Random(seed)
    count = rng.randint(3, 25)
    sizes = [rng.choice([16, 100, 1000, 4096, 12345]) for _ in range(count)]
    layers = []
    for step in range(1, count):
        sources = sorted(set(rng.sample(range(step), min(step, rng.randint(1, 2)))))
        if rng.random() < 0.15 and len(sources) == 1:
            sizes[step] = sizes[sources[0]]
            layers.append(layer(step - 1, sources, [step], alias_of=sources[0]))
        else:
            layers.append(layer(step - 1, sources, [step]))
    assert_valid(make_graph(sizes, inputs=[0], outputs=[count - 1]), layers)
