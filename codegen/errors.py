"""Errors raised while reading or compiling a model.

Both carry a single-line message so that a CLI can print them as they are.
"""


class ModelError(ValueError):
    """Anything wrong with a model: unreadable or unsupported."""


def naming_model(model, error: Exception) -> str:
    """The error's message with the model file named, unless the message names it already (the
    reader names the tensor or operator; a command's one line also needs the file)."""
    return str(error) if str(model) in str(error) else f"{model}: {error}"


class ModelFormatError(ModelError):
    """The input is not a readable .tflite flatbuffer (truncated, corrupt, wrong file)."""

    def __init__(self, reason: str):
        super().__init__(f"not a valid .tflite model: {reason}")
        self.reason = reason


class UnsupportedModelError(ModelError):
    """The model is well formed but uses something the engine cannot compile.

    `operator_index` and `op` name the offending operator when there is one
    (None for model-level problems such as several graph inputs).
    """

    def __init__(self, reason: str, operator_index: int | None = None, op: str | None = None):
        if operator_index is None:
            message = f"unsupported model: {reason}"
        else:
            message = f"unsupported operator {operator_index} ({op}): {reason}"
        super().__init__(message)
        self.reason = reason
        self.operator_index = operator_index
        self.op = op
