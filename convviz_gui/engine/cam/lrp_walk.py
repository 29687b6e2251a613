"""The LRP forward pass: a Keras graph re-run node by node, each layer by its rule.

The walk follows the model's own functional graph (nested models included, as
``taps._run_tapped`` does) and computes every layer on real tensors: linear layers
through ``lrp_rules.relayed`` (a BatchNormalization that only follows a convolution or a
Dense is folded into it, ``lrp_canonizer``), element-wise layers pass relevance on,
max pooling is winner-take-all and average pooling, padding, reshaping, concatenation
and upsampling proportional (their plain gradient times input is exactly that), residual
``Add`` splits in proportion to each input with the epsilon stabilizer, and a
``Multiply`` treats its smaller (or second) input as a constant gate (squeeze-and-
excitation, hard-swish). Any other layer is refused with one sentence.

Tensors between the input and the first linear layer (preprocessing) carry relevance
itself as their backward signal (the "relevance zone"); after it, relevance per unit
of activation. ``Facts`` records, per computed tensor, which one, and whether it is
known to be non-negative (a ReLU's output), which lets z+ use W+ a directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convviz_gui.engine.cam import lrp_rules as rules
from convviz_gui.engine.cam.lrp_canonizer import LINEAR_CLASSES, foldable, linear_steps
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath

# Layers and Keras operations by what relevance does through them (class names).
IDENTITY = frozenset({
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
    "GaussianNoise", "AlphaDropout", "ActivityRegularization", "Identity", "RandomFlip",
    "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness",
    "Cast"})
ELEMENTWISE = frozenset({"Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax",
                         "Rescaling", "Normalization", "Relu", "Relu6", "Sigmoid", "Silu",
                         "HardSigmoid", "HardSilu", "Gelu", "Tanh", "Clip"})
# Ops that are element-wise when one of their operands is a constant (``x / 127.5 - 1``).
ARITHMETIC = frozenset({"Add", "Subtract", "Multiply", "Divide", "TrueDivide"})
PROPORTIONAL = frozenset({
    "Reshape", "Flatten", "Permute", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
    "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "Concatenate", "Maximum", "Minimum", "GetItem", "Stack", "Flip", "Reverse", "ExpandDims",
    "Squeeze", "Transpose", "CenterCrop"})
MERGES = frozenset({"Add", "Subtract", "Average"})
# A Keras 2 file's TensorFlow ops (``engine.tf_ops.TFOp``) as the Keras layer they act like.
TF_OPS = {"math.add": "Add", "__operators__.add": "Add", "math.subtract": "Subtract",
          "math.multiply": "Multiply", "math.truediv": "TrueDivide", "math.divide": "Divide",
          "nn.relu": "Relu", "nn.relu6": "Relu6", "math.sigmoid": "Sigmoid", "nn.sigmoid": "Sigmoid",
          "nn.silu": "Silu", "nn.swish": "Silu", "math.tanh": "Tanh", "nn.tanh": "Tanh",
          "clip_by_value": "Clip", "cast": "Cast", "identity": "Identity",
          "__operators__.getitem": "GetItem", "reverse": "Reverse", "concat": "Concatenate",
          "stack": "Stack", "reshape": "Reshape", "expand_dims": "ExpandDims",
          "squeeze": "Squeeze", "transpose": "Transpose"}
HOMOGENEOUS = frozenset({"relu", "leaky_relu", "Relu"})  # x f'(x) = f(x): the gradient passes R
NON_NEGATIVE_ACTIVATIONS = frozenset({"relu", "relu6", "bounded_relu", "sigmoid", "softmax", "hard_sigmoid",
                                      "softplus", "exponential", "Relu", "Relu6", "Sigmoid",
                                      "HardSigmoid", "Softmax"})
NON_NEGATIVE_PASSING = frozenset({"MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
                                  "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
                                  "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
                                  "GlobalAveragePooling1D", "GlobalAveragePooling2D",
                                  "GlobalAveragePooling3D", "Reshape", "Flatten", "Concatenate",
                                  "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
                                  "UpSampling2D", "Cropping2D", "Maximum", "Add", "Average"})


@dataclass(frozen=True)
class Facts:
    """What the walk knows about a tensor: its backward signal is relevance itself
    (``zone``: between the input and the first linear layer), it is >= 0 (``non_negative``)."""

    zone: bool
    non_negative: bool


def graph_of(model: Any) -> Any:
    """The functional graph of a Functional or built Sequential model; None for a layer."""
    graph = getattr(model, "_functional", None) or model
    return graph if getattr(graph, "_nodes_by_depth", None) else None


def _activation_name(layer: Any) -> str:
    kind = type(layer).__name__
    if kind == "Softmax":
        return "softmax"
    if kind == "LeakyReLU":
        return "leaky_relu"
    if kind == "ReLU":
        if layer.threshold or layer.max_value is not None:
            return "bounded_relu"
        return "leaky_relu" if layer.negative_slope else "relu"
    function = getattr(layer, "activation", None)
    return getattr(function, "__name__", "") if function is not None else ""


def _passed_on(inputs: Any, outputs: Any, name: str, zone: bool) -> Any:
    """An element-wise layer's ``outputs`` handing relevance on: through its own gradient
    when that already does it (f(x) = x f'(x): ReLU, leaky ReLU), else relayed."""
    if name in HOMOGENEOUS and not zone:
        return outputs
    return rules.passes_through(inputs, outputs, zone)


class RelevanceWalk:
    """Callable ``batch -> explained output`` whose gradient, with respect to the batch, is
    the LRP relevance of the read-out of that output.

    Args:
        model: the Keras model.
        composite: the rule of each layer.
        head: the path of the layer whose softmax/sigmoid is bypassed (the logit is
            explained), and whether it is a separate activation layer; None to keep it.
    """

    def __init__(self, model: Any, composite: rules.Composite,
                 head: tuple[LayerPath, bool] | None = None) -> None:
        self.model = model
        self.composite = composite
        self.head = head
        self._facts: dict[int, Facts] = {}
        self._alive: list[Any] = []  # keeps the tensors of ``_facts`` alive (ids stay unique)

    def __call__(self, batch: Any) -> Any:
        self._facts.clear()
        self._alive.clear()
        self._note(batch, Facts(zone=True, non_negative=False))
        output = self._run(self.model, [batch], ())[0]
        return rules.as_relevance(output) if self._fact(output).zone else output

    # --- bookkeeping ---------------------------------------------------------------------
    def _note(self, tensor: Any, facts: Facts) -> Any:
        self._facts[id(tensor)] = facts
        self._alive.append(tensor)
        return tensor

    def _fact(self, tensor: Any) -> Facts:
        return self._facts.get(id(tensor), Facts(zone=False, non_negative=False))

    def _to_body(self, tensors: list[Any]) -> list[Any]:
        """Inputs of a layer that mixes them: the zone ones turned to the body's signal."""
        return [rules.as_relevance(t) if self._fact(t).zone else t for t in tensors]

    # --- the graph -----------------------------------------------------------------------
    def _run(self, model: Any, inputs: list[Any], prefix: LayerPath) -> list[Any]:
        from keras import tree

        graph = graph_of(model)
        if graph is None:
            raise ConvVizError(f"LRP cannot look inside '{model.name}' ({type(model).__name__}).")
        if len(graph.inputs) != len(inputs):
            raise ConvVizError(f"LRP explains models with one image input; '{model.name}' has "
                               f"{len(graph.inputs)} inputs.")
        values = {id(x): y for x, y in zip(graph.inputs, inputs)}
        folded, skipped = self._fold_plan(graph)
        for depth in sorted(graph._nodes_by_depth, reverse=True):
            for node in graph._nodes_by_depth[depth]:
                if not node.operation or node.is_input:
                    continue
                if any(id(x) not in values for x in node.input_tensors):
                    continue
                args, kwargs = node.arguments.fill_in(values)
                if id(node) in skipped:
                    outputs = args[0]  # a BatchNormalization folded into the layer before it
                else:
                    outputs = self._layer(node.operation, args, kwargs, prefix,
                                          folded.get(id(node)))
                for x, y in zip(node.outputs, tree.flatten(outputs)):
                    values[id(x)] = y
        return [values[id(x)] for x in graph.outputs]

    @staticmethod
    def _fold_plan(graph: Any) -> tuple[dict[int, Any], set[int]]:
        """({id(linear node): its BatchNormalization}, {id(folded BatchNorm node)})."""
        consumers: dict[int, list[Any]] = {}
        for nodes in graph._nodes_by_depth.values():
            for node in nodes:
                if node.operation and not node.is_input:
                    for tensor in node.input_tensors:
                        consumers.setdefault(id(tensor), []).append(node)
        outputs = {id(x) for x in graph.outputs}
        folded, skipped = {}, set()
        for nodes in graph._nodes_by_depth.values():
            for node in nodes:
                if not node.operation or node.is_input or len(node.outputs) != 1:
                    continue
                tensor = node.outputs[0]
                after = consumers.get(id(tensor), [])
                if (len(after) == 1 and id(tensor) not in outputs
                        and type(after[0].operation).__name__ == "BatchNormalization"
                        and foldable(node.operation, after[0].operation, len(tensor.shape))):
                    folded[id(node)] = after[0].operation
                    skipped.add(id(after[0]))
        return folded, skipped

    # --- one layer -----------------------------------------------------------------------
    def _layer(self, layer: Any, args: tuple, kwargs: dict, prefix: LayerPath,
               batchnorm: Any | None) -> Any:
        kind = type(layer).__name__
        kind = TF_OPS.get(getattr(layer, "function", ""), kind) if kind == "TFOp" else kind
        path = (*prefix, layer.name)
        tensors = [t for t in _flat(args) if _is_tensor(t)]
        if graph_of(layer) is not None and hasattr(layer, "layers"):
            outputs = self._run(layer, _flat(args[0]), path)
            return outputs[0] if len(outputs) == 1 else outputs
        if kind in LINEAR_CLASSES:
            return self._linear(layer, args[0], path, batchnorm)
        if kind in IDENTITY:
            return args[0]
        if kind in ELEMENTWISE or (kind in ARITHMETIC and len(tensors) == 1):
            return self._elementwise(layer, args, kwargs, path, kind)
        if kind in MERGES:
            return self._merge(layer, args, kwargs, kind)
        if kind == "Multiply":
            return self._gated(tensors)
        if kind in PROPORTIONAL:
            return self._proportional(layer, args, kwargs, tensors, kind)
        raise ConvVizError(
            f"LRP cannot propagate relevance through layer '{'/'.join(path)}' ({kind}): it has "
            "no rule for that layer type; choose a gradient or perturbation method.")

    def _call(self, layer: Any, args: tuple, kwargs: dict) -> Any:
        """The layer's own computation, at inference, as float32."""
        import tensorflow as tf
        from keras import tree

        kwargs = {key: value for key, value in kwargs.items() if key not in ("mask", "training")}
        call = getattr(layer, "call", layer)
        if getattr(layer, "_call_has_training_arg", False):
            kwargs["training"] = False
        return tree.map_structure(lambda t: tf.cast(t, tf.float32), call(*args, **kwargs))

    def _linear(self, layer: Any, inputs: Any, path: LayerPath, batchnorm: Any | None) -> Any:
        kind = "dense" if type(layer).__name__ == "Dense" else (
            "affine" if type(layer).__name__ == "BatchNormalization" else "conv")
        facts = self._fact(inputs)
        values = inputs
        for step, linear in enumerate(linear_steps(layer, batchnorm)):
            first = facts.zone and step == 0
            rule = self.composite.rule_for(kind, first)
            source = values
            if first:
                source = rules.as_unit(values) if rule.kind == "flat" else rules.as_relevance(values)
            plain = linear.apply(source, linear.kernel)
            output = linear.biased(plain if rule.kind != "flat" else
                                   linear.apply(values, linear.kernel))
            terms = rules.modified_terms(rule, linear.apply, source, linear.kernel,
                                         linear.shaped_bias(len(plain.shape)), plain,
                                         facts.non_negative and step == 0)
            values = rules.relayed(output, terms, rule.epsilon)
        bypassed = self.head is not None and self.head[0] == path
        activation = getattr(layer, "activation", None)
        name = getattr(activation, "__name__", "linear")
        self._note(values, Facts(zone=False, non_negative=False))
        if activation is None or name == "linear" or bypassed:
            return values
        result = _passed_on(values, activation(values), name, zone=False)
        return self._note(result, Facts(False, name in NON_NEGATIVE_ACTIVATIONS))

    def _elementwise(self, layer: Any, args: tuple, kwargs: dict, path: LayerPath,
                     kind: str) -> Any:
        inputs = next(t for t in _flat(args) if _is_tensor(t))
        facts = self._fact(inputs)
        if self.head is not None and self.head == (path, True):
            return inputs  # the bypassed output activation: the logit is explained
        name = _activation_name(layer) or kind
        result = _passed_on(inputs, self._call(layer, args, kwargs), name, facts.zone)
        return self._note(result, Facts(facts.zone, name in NON_NEGATIVE_ACTIVATIONS))

    def _merge(self, layer: Any, args: tuple, kwargs: dict, kind: str) -> Any:
        inputs = self._to_body(_flat(args[0]) if len(args) == 1 else list(args))
        combined = self._call(layer, (inputs,) if len(args) == 1 else tuple(inputs), kwargs)
        result = rules.relayed(combined, [(1.0, combined)], self.composite.stabilizer)
        positive = kind != "Subtract" and all(
            self._fact(t).non_negative for t in inputs)
        return self._note(result, Facts(False, positive))

    def _gated(self, tensors: list[Any]) -> Any:
        """``signal * gate`` with the gate (the smaller input, else the second) a constant:
        all relevance goes to the signal."""
        import tensorflow as tf

        if len(tensors) != 2:
            raise ConvVizError(f"LRP propagates a Multiply of two inputs, not {len(tensors)}.")
        signal, gate = tensors if _size(tensors[1]) <= _size(tensors[0]) else tensors[::-1]
        signal = self._to_body([signal])[0]
        result = signal * tf.stop_gradient(gate)
        return self._note(result, Facts(False, self._fact(signal).non_negative
                                        and self._fact(gate).non_negative))

    def _proportional(self, layer: Any, args: tuple, kwargs: dict, tensors: list[Any],
                      kind: str) -> Any:
        facts = [self._fact(t) for t in tensors]
        zone = all(f.zone for f in facts)
        if not zone and any(f.zone for f in facts):  # mixed: every input to the body's signal
            converted = dict(zip(map(id, tensors), self._to_body(tensors)))
            args = _replace(args, converted)
        result = self._call(layer, args, kwargs)
        positive = kind in NON_NEGATIVE_PASSING and all(
            f.non_negative for f in facts)
        for tensor in _flat(result):
            self._note(tensor, Facts(zone, positive))
        return result


def _flat(value: Any) -> list[Any]:
    from keras import tree

    return list(tree.flatten(value))


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and len(value.shape) > 0


def _size(tensor: Any) -> int:
    count = 1
    for dim in tensor.shape[1:]:
        count *= dim or 1
    return count


def _replace(args: Any, converted: dict[int, Any]) -> Any:
    from keras import tree

    return tree.map_structure(lambda t: converted.get(id(t), t), args)
