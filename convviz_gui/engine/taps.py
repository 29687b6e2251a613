"""Feature models that expose the outputs of chosen layers, at any nesting depth.

A layer inside a nested model (e.g. a MobileNetV2 base inside a Sequential head)
has its output in the nested model's own graph. To reach it from the outer input,
the outer graph is re-run on a fresh input with each nested model replaced by a
version of itself that also returns the tapped outputs.
"""

from __future__ import annotations

from typing import Any

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath


def build_tap_model(
    model: Any, paths: list[LayerPath], with_outputs: bool, layer_inputs: bool = False
) -> Any:
    """Keras model: input -> [tapped outputs in ``paths`` order] (+ the model outputs).

    ``layer_inputs`` taps what each layer receives instead of what it returns.
    """
    import keras

    shape = tuple(model.inputs[0].shape)[1:]
    new_input = keras.Input(shape=shape, dtype=model.inputs[0].dtype)
    taps, outputs = _run_tapped(model, new_input, paths, layer_inputs)
    result = [taps[path] for path in paths]
    if with_outputs:
        result.extend(outputs)
    return keras.Model(new_input, result, name=f"{model.name}_taps")


def _run_tapped(
    model: Any, inputs: Any, paths: list[LayerPath], layer_inputs: bool = False
) -> tuple[dict, list]:
    """Call ``model`` on ``inputs`` and collect the symbolic outputs of ``paths``."""
    wanted_here = {path[0]: path for path in paths if len(path) == 1}
    nested: dict[str, list[LayerPath]] = {}
    for path in paths:
        if len(path) > 1:
            nested.setdefault(path[0], []).append(path)
    taps: dict[LayerPath, Any] = {}

    def operation_fn(layer: Any):
        name = getattr(layer, "name", None)
        if name in nested:
            sub_paths = [path[1:] for path in nested[name]]

            def call_nested(*args, **kwargs):
                sub_taps, sub_outputs = _run_tapped(layer, args[0], sub_paths, layer_inputs)
                for path in nested[name]:
                    taps[path] = sub_taps[path[1:]]
                return sub_outputs[0] if len(sub_outputs) == 1 else sub_outputs

            return call_nested
        if name in wanted_here:

            def call_and_keep(*args, **kwargs):
                output = layer(*args, **kwargs)
                taps.setdefault(wanted_here[name], args[0] if layer_inputs else output)
                return output

            return call_and_keep
        return layer

    if hasattr(model, "_run_through_graph") and getattr(model, "_nodes_by_depth", None):
        outputs = model._run_through_graph(inputs, operation_fn=operation_fn)
    elif hasattr(model, "layers"):  # an unbuilt-graph Sequential: a plain chain
        outputs = inputs
        for layer in model.layers:
            outputs = operation_fn(layer)(outputs)
    else:
        raise ConvVizError(f"Cannot look inside {model.name}.")
    missing = [path for path in paths if path not in taps]
    if missing:
        raise ConvVizError(f"Layer {'/'.join(missing[0])} is not used by {model.name}'s graph.")
    output_list = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    return taps, output_list


def compiled_taps(
    loaded: Any, paths: list[LayerPath], with_outputs: bool, channels: int | None = None
) -> Any:
    """A cached, compiled ``batch -> [tapped..., outputs...]`` function for ``loaded``.

    ``channels`` keeps only the first channels of every tapped output inside the graph,
    so full activations are freed as the pass goes instead of all returned at once.
    """
    key = ("taps", tuple(paths), with_outputs, channels)
    function = loaded.cache.get(key)
    if function is None:
        import tensorflow as tf

        model = loaded.keras_model
        tap_model = build_tap_model(model, paths, with_outputs) if paths else model
        spec = tf.TensorSpec((None, *tuple(model.inputs[0].shape)[1:]), tf.float32)

        @tf.function(input_signature=[spec])
        def function(batch):
            outputs = tap_model(batch, training=False)
            outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
            if channels is not None:
                outputs = [output[..., :channels] for output in outputs]
            return outputs

        # The concrete function skips tf.function's per-call signature lookup.
        function = function.get_concrete_function()
        loaded.cache[key] = function
    return function
