"""Static arena planning from tensor lifetimes.

Every run-time tensor gets a fixed offset in one arena. Two tensors may share
bytes only if their lifetimes (the operator steps from the one that writes the
tensor to the last that reads it) do not overlap. Tensors joined by an alias
(RESHAPE) form one buffer. Graph inputs are live from step 0 (the firmware fills
them before invoke) and graph outputs until the last step (read after invoke).

Placement is greedy: buffers are taken one by one and each goes to the lowest
16-byte aligned offset that does not collide with an already placed,
lifetime-overlapping buffer (first fit into gaps). The order matters, so a few
orders are tried (largest first, as TFLM's greedy planner, then variants and
seeded jitter) and the smallest arena wins; the search is deterministic. The lower bound reported beside it is the largest
total size of buffers alive at the same step, which no placement can beat.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .ir import Graph
from .layer import LayerPlan

ARENA_ALIGNMENT = 16


def align_up(value: int, alignment: int = ARENA_ALIGNMENT) -> int:
    return (value + alignment - 1) // alignment * alignment


@dataclass
class Buffer:
    tensors: list[int]  # tensor indices sharing this storage (an alias group)
    size: int
    first_step: int
    last_step: int
    offset: int = -1

    def overlaps_in_time(self, other: "Buffer") -> bool:
        return self.first_step <= other.last_step and other.first_step <= self.last_step


@dataclass
class MemoryPlan:
    offsets: dict[int, int]  # tensor index -> byte offset in the arena
    arena_bytes: int
    lower_bound: int
    buffers: list[Buffer]


def _alias_groups(tensor_ids: set[int], layers: list[LayerPlan]) -> dict[int, int]:
    """Map each tensor to the representative of its alias group (union-find)."""
    parent = {t: t for t in tensor_ids}

    def find(t: int) -> int:
        while parent[t] != t:
            parent[t] = parent[parent[t]]
            t = parent[t]
        return t

    for layer in layers:
        if layer.alias_of is not None:
            for output in layer.outputs:
                parent[find(output)] = find(layer.alias_of)
    return {t: find(t) for t in tensor_ids}


def collect_buffers(graph: Graph, layers: list[LayerPlan]) -> list[Buffer]:
    last = max(len(layers) - 1, 0)
    touched: dict[int, list[int]] = {}
    for step, layer in enumerate(layers):
        for position, tensor in enumerate(layer.inputs):
            if position not in layer.constant_inputs:
                touched.setdefault(tensor, []).append(step)
        for tensor in layer.outputs:
            touched.setdefault(tensor, []).append(step)
    for tensor in graph.inputs:
        touched.setdefault(tensor, []).append(0)
    for tensor in graph.outputs:
        touched.setdefault(tensor, []).append(last)
    touched = {t: steps for t, steps in touched.items() if not graph.tensor(t).is_constant}

    representative = _alias_groups(set(touched), layers)
    groups: dict[int, Buffer] = {}
    for tensor, steps in sorted(touched.items()):
        root = representative[tensor]
        size = graph.tensor(tensor).byte_size
        buffer = groups.get(root)
        if buffer is None:
            groups[root] = Buffer(tensors=[tensor], size=size, first_step=min(steps), last_step=max(steps))
        else:
            buffer.tensors.append(tensor)
            buffer.size = max(buffer.size, size)
            buffer.first_step = min(buffer.first_step, min(steps))
            buffer.last_step = max(buffer.last_step, max(steps))
    return list(groups.values())


def lower_bound(buffers: list[Buffer]) -> int:
    if not buffers:
        return 0
    steps = range(min(b.first_step for b in buffers), max(b.last_step for b in buffers) + 1)
    return max(sum(b.size for b in buffers if b.first_step <= step <= b.last_step) for step in steps)


def _first_fit(buffer: Buffer, placed: list[Buffer]) -> int:
    conflicts = sorted((b for b in placed if b.overlaps_in_time(buffer)), key=lambda b: b.offset)
    candidate = 0
    for other in conflicts:
        if candidate + buffer.size <= other.offset:
            break
        candidate = max(candidate, align_up(other.offset + other.size))
    return candidate


def _place(buffers: list[Buffer], order: list[int]) -> int:
    """Place buffers in the given order with first fit; returns the arena size."""
    placed: list[Buffer] = []
    for index in order:
        buffer = buffers[index]
        buffer.offset = _first_fit(buffer, placed)
        placed.append(buffer)
    return align_up(max((b.offset + b.size for b in buffers), default=0))


def _candidate_orders(buffers: list[Buffer], random_trials: int, seed: int):
    indices = range(len(buffers))
    # Deterministic heuristics first: largest first (TFLM's greedy planner), then
    # variants that favour long-lived or early buffers among similar sizes.
    yield sorted(indices, key=lambda i: (-buffers[i].size, buffers[i].first_step))
    yield sorted(indices, key=lambda i: (-buffers[i].size * (buffers[i].last_step - buffers[i].first_step + 1), i))
    yield sorted(indices, key=lambda i: (buffers[i].first_step, -buffers[i].size))
    yield sorted(indices, key=lambda i: (-(buffers[i].last_step - buffers[i].first_step), -buffers[i].size))
    # Then seeded jitter of the size order, which often closes the last gaps.
    rng = random.Random(seed)
    for _ in range(random_trials):
        yield sorted(indices, key=lambda i: -buffers[i].size * rng.uniform(0.5, 1.5))


def plan_memory(graph: Graph, layers: list[LayerPlan], random_trials: int = 300, seed: int = 0) -> MemoryPlan:
    """Plan offsets; tries several placement orders and keeps the smallest arena."""
    buffers = collect_buffers(graph, layers)
    bound = lower_bound(buffers)
    best_arena, best_offsets = None, None
    for order in _candidate_orders(buffers, random_trials, seed):
        arena = _place(buffers, order)
        if best_arena is None or arena < best_arena:
            best_arena, best_offsets = arena, [b.offset for b in buffers]
            if arena <= align_up(bound):
                break  # cannot do better than the lower bound
    for buffer, offset in zip(buffers, best_offsets or []):
        buffer.offset = offset
    offsets = {tensor: buffer.offset for buffer in buffers for tensor in buffer.tensors}
    return MemoryPlan(offsets=offsets, arena_bytes=best_arena or 0, lower_bound=bound, buffers=buffers)
