"""Operator lowering dispatch: IR operator -> `LayerPlan`, or `UnsupportedModelError`."""

from __future__ import annotations

from .errors import UnsupportedModelError
from .ir import Graph, Operator
from .layer import LayerPlan, OperatorContext
from .op_conv import lower_conv2d, lower_depthwise_conv2d
from .op_elementwise import lower_add, lower_dequantize, lower_quantize, lower_reshape, lower_softmax
from .op_fully_connected import lower_fully_connected
from .op_pool import lower_pool2d
from .quantization import MultiplierRangeError

LOWERINGS = {
    "CONV_2D": lower_conv2d,
    "DEPTHWISE_CONV_2D": lower_depthwise_conv2d,
    "FULLY_CONNECTED": lower_fully_connected,
    "ADD": lower_add,
    "AVERAGE_POOL_2D": lower_pool2d,
    "MAX_POOL_2D": lower_pool2d,
    "RESHAPE": lower_reshape,
    "SOFTMAX": lower_softmax,
    "QUANTIZE": lower_quantize,
    "DEQUANTIZE": lower_dequantize,
}

SUPPORTED_OPS = tuple(LOWERINGS)


def lower_operator(graph: Graph, operator: Operator) -> LayerPlan:
    lowering = LOWERINGS.get(operator.op)
    if lowering is None:
        raise UnsupportedModelError("operator type not supported", operator.index, operator.op)
    try:
        return lowering(OperatorContext(graph, operator))
    except MultiplierRangeError as exc:
        raise UnsupportedModelError(str(exc), operator.index, operator.op) from None


def lower_graph(graph: Graph) -> list[LayerPlan]:
    """Lower every operator in execution order; the first unsupported one raises."""
    return [lower_operator(graph, operator) for operator in graph.operators]
