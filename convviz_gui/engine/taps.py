"""Feature models that expose the outputs of chosen layers, at any nesting depth.

A layer inside a nested model (e.g. a MobileNetV2 base inside a Sequential head)
has its output in the nested model's own graph. To reach it from the outer input,
the outer graph is re-run on a fresh input with each nested model replaced by a
version of itself that also returns the tapped outputs. ``build_sized_tap_model``
instead rebuilds only the layers up to one target, on an input of another size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath
from convviz_gui.engine.model_cache import cached
from convviz_gui.engine.precision import as_float32

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel

Substitute = Callable[[Any], Callable]  # layer -> what is called in its place


def build_tap_model(
    model: Any, paths: list[LayerPath], with_outputs: bool, layer_inputs: bool = False,
    substitutes: dict[LayerPath, Substitute] | None = None, extra_inputs: list | None = None,
) -> Any:
    """Keras model: input -> [tapped outputs in ``paths`` order] (+ the model outputs).

    ``layer_inputs`` taps what each layer receives instead of what it returns.
    ``substitutes`` maps layer paths (at any depth) to factories: given the layer, they
    return the callable run in its place in the new graph (the user's model is unchanged),
    e.g. the layer without its softmax, or the layer followed by a gradient override.
    ``extra_inputs`` (Keras inputs the substitutes read) become inputs of the model after
    the image.
    """
    import keras

    shape = tuple(model.inputs[0].shape)[1:]
    new_input = keras.Input(shape=shape, dtype=model.inputs[0].dtype)
    taps, outputs = _run_tapped(model, new_input, paths, layer_inputs, substitutes or {})
    result = [taps[path] for path in paths]
    if with_outputs:
        result.extend(as_float32(output) for output in outputs)
    inputs = [new_input, *extra_inputs] if extra_inputs else new_input
    return keras.Model(inputs, result, name=f"{model.name}_taps")


def _run_tapped(
    model: Any, inputs: Any, paths: list[LayerPath], layer_inputs: bool = False,
    substitutes: dict[LayerPath, Substitute] | None = None,
) -> tuple[dict, list]:
    """Call ``model`` on ``inputs`` and collect the symbolic outputs of ``paths``."""
    substitutes = substitutes or {}
    wanted_here = {path[0]: path for path in paths if len(path) == 1}
    nested: dict[str, list[LayerPath]] = {}
    for path in paths:
        if len(path) > 1:
            nested.setdefault(path[0], []).append(path)
    nested_substitutes: dict[str, dict[LayerPath, Substitute]] = {}
    for path, factory in substitutes.items():
        if len(path) > 1:
            nested_substitutes.setdefault(path[0], {})[path[1:]] = factory
    taps: dict[LayerPath, Any] = {}

    def operation_fn(layer: Any) -> Any:
        name: str = getattr(layer, "name", "")
        if name in nested or name in nested_substitutes:
            sub_paths = [path[1:] for path in nested.get(name, [])]

            def call_nested(*args: Any, **kwargs: Any) -> Any:
                sub_taps, sub_outputs = _run_tapped(layer, args[0], sub_paths, layer_inputs,
                                                    nested_substitutes.get(name))
                for path in nested.get(name, []):
                    taps[path] = sub_taps[path[1:]]
                return sub_outputs[0] if len(sub_outputs) == 1 else sub_outputs

            return call_nested
        call = substitutes[(name,)](layer) if (name,) in substitutes else layer
        if name in wanted_here:

            def call_and_keep(*args: Any, **kwargs: Any) -> Any:
                # A tap is float32 (a reduced-precision pass: ``engine.precision``), and the
                # layers after it read the same tensor, so gradients reach it.
                if layer_inputs:
                    args = (as_float32(args[0]), *args[1:])
                    taps.setdefault(wanted_here[name], args[0])
                    return call(*args, **kwargs)
                output = as_float32(call(*args, **kwargs))
                taps.setdefault(wanted_here[name], output)
                return output

            return call_and_keep
        return call

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


class InputSizeError(ConvVizError):
    """The layers up to a target cannot take the chosen input size."""

    def __init__(self, target: str, layer: str, reason: str, size: tuple[Any, Any]) -> None:
        self.target, self.layer, self.reason = target, layer, reason
        self.cause = f"{layer} {'itself' if layer == target.split('/')[-1] else 'before it'} {reason}"
        super().__init__(f"{target} cannot be computed from a {size[0]}x{size[1]} input: "
                         f"{self.cause}.")


def build_sized_tap_model(
    model: Any, path: LayerPath, height: int | None, width: int | None, layer_inputs: bool = False
) -> Any:
    """Keras model: a new (height, width, channels) input -> the output (or input) of ``path``.

    Only the layers the target depends on are run: each container on the way is cut at
    the target (or at the nested model that holds it), so a Flatten/Dense after the
    target never sees the new size. Raises ``InputSizeError`` naming the first layer
    that cannot take it (a fixed-size layer, or one that would shrink it to nothing).
    """
    import keras

    source = model.inputs[0]
    new_input = keras.Input(shape=(height, width, source.shape[-1]), dtype=source.dtype)

    def checked(operation: Any) -> Callable:
        """``operation`` run on the new tensors, its failures turned into InputSizeError."""
        graph = _graph(operation)
        if graph is not None:  # a nested model: run its own graph with the same checks
            return lambda inputs, *args, **kwargs: graph._run_through_graph(
                inputs, operation_fn=checked)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                outputs = operation(*args, **kwargs)
            except (ValueError, TypeError) as exc:
                shrinks = "zero or negative" in str(exc)
                raise size_error(operation, "would shrink the image to nothing" if shrinks
                                  else "has a fixed size") from exc
            if any(dim == 0 for output in keras.tree.flatten(outputs) for dim in output.shape[1:]):
                raise size_error(operation, "would shrink the image to nothing")
            return outputs

        return call

    def size_error(operation: Any, reason: str) -> InputSizeError:
        return InputSizeError("/".join(path), operation.name, reason, (height, width))

    outputs = new_input
    current = model
    for depth, name in enumerate(path):
        graph = _graph(current)
        if graph is None:
            raise ConvVizError(f"Cannot look inside {current.name}.")
        node = _first_node(graph, name, current.name)
        last = depth == len(path) - 1
        target = node.output_tensors[0] if last and not layer_inputs else node.input_tensors[0]
        part = keras.Function(graph.inputs, target, name=f"{current.name}_to_{name}")
        # Not ``part(outputs)``: Keras 3 raises (no warning) on an input of another size
        # than the graph was built for, so the graph is run layer by layer instead.
        outputs = part._run_through_graph(outputs, operation_fn=checked)
        current = node.operation
    return keras.Model(new_input, as_float32(outputs), name=f"{model.name}_to_{path[-1]}")


def _graph(model: Any) -> Any:
    """The functional graph of a Functional or built Sequential model; None for a layer."""
    graph = getattr(model, "_functional", None) or model  # a Sequential keeps one
    return graph if getattr(graph, "_nodes_by_depth", None) else None


def _first_node(graph: Any, name: str, owner: str) -> Any:
    """The node of ``graph`` that first calls the layer named ``name``."""
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            if node.operation is not None and node.operation.name == name and not node.is_input:
                return node
    raise ConvVizError(f"Layer {name} is not used by {owner}'s graph.")


def compiled_taps(
    loaded: LoadedModel, paths: list[LayerPath], with_outputs: bool, channels: int | None = None
) -> Any:
    """A cached, compiled ``batch -> [tapped..., outputs...]`` function for ``loaded``.

    ``channels`` keeps only the first channels of every tapped output inside the graph,
    so full activations are freed as the pass goes instead of all returned at once.
    """

    def build() -> Any:
        import tensorflow as tf

        model = loaded.keras_model
        tap_model = build_tap_model(model, paths, with_outputs) if paths else model
        spec = tf.TensorSpec((None, *tuple(model.inputs[0].shape)[1:]), tf.float32)

        @tf.function(input_signature=[spec])
        def function(batch: Any) -> list[Any]:
            outputs = tap_model(batch, training=False)
            outputs = [as_float32(output) for output in
                       (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
            if channels is not None:
                outputs = [output[..., :channels] for output in outputs]
            return outputs

        # The concrete function skips tf.function's per-call signature lookup.
        return function.get_concrete_function()

    return cached(loaded, ("taps", tuple(paths), with_outputs, channels), build)
