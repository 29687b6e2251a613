"""Opening model files saved by Keras 2 (tf-keras, tf.keras) with Keras 3.

The file's config is rewritten where Keras 2 and Keras 3 differ (a list ``axis`` in
BatchNormalization, ``groups`` in depthwise convolutions, ``/`` in layer names, tf-keras module
paths, TFOpLambda layers), deserialized, and the weights are then loaded from the same file.
"""

from __future__ import annotations

import copy
import functools
import json
import zipfile
from pathlib import Path
from typing import Any

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.runtime import load_keras

MODEL_CLASSES = {"Functional": "keras.src.models.functional", "Model": "keras.src.models.functional",
                 "Sequential": "keras.src.models.sequential"}
# Module paths tf-keras and tf.keras 2.x wrote into .keras configs.
KERAS2_MODULES = ("tf_keras.", "keras.src.engine.", "keras.engine.", "keras.src.layers.",
                  "keras.layers.", "keras.src.applications.")
TF_OP_CLASSES = ("TFOpLambda", "SlicingOpLambda")
DEPTHWISE_CLASSES = ("DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D")
SEPARABLE_UNUSED = ("kernel_initializer", "kernel_regularizer", "kernel_constraint")
CONSTANT_INPUT = "_CONSTANT_VALUE"  # tf-keras' name for a constant first argument of an op
# keras.ops modules of the operations Keras 3 records for ``x + 3.0`` (configs: a name only).
OPERATION_MODULES = ("numpy", "nn", "math", "core", "image", "linalg")


def saved_by(path: str | Path) -> str:
    """'Keras 2.15.0 (tf-keras)', 'Keras 3.15.1' or '' (unknown) for a model file."""
    return _label(_read(Path(path))[0])


def saved_config(path: str | Path) -> dict | None:
    """The model config saved in a .keras or .h5 file; None when it cannot be read."""
    return _read(Path(path))[1]


def load_model(path: str | Path, safe_mode: bool = True,
               custom_objects: dict[str, Any] | None = None) -> tuple[Any, str]:
    """The Keras 3 model in a .keras or .h5 file, whichever Keras saved it, and who did;
    ``custom_objects``: the user's classes by the names the file uses.

    Raises:
        ConvVizError: the file uses a TensorFlow op ConvViz does not translate.
        Exception: whatever Keras raises for a file it cannot read.
    """
    keras = load_keras()
    path = Path(path)
    version, config = _read(path)
    legacy = path.suffix.lower() != ".keras"
    if config is None or not (legacy or version.startswith("2.")):
        return (keras.models.load_model(path, compile=False, safe_mode=safe_mode,
                                        custom_objects=custom_objects), _label(version))
    translated = translate(config, path.name, keras2=version.startswith("2."))
    translated.pop("compile_config", None)  # never compiled (a Keras 2 optimizer would not load)
    if legacy:
        model = _from_legacy_config(translated, safe_mode, custom_objects)
    else:
        model = keras.saving.deserialize_keras_object(
            translated, custom_objects=_custom_objects(custom_objects), safe_mode=safe_mode)
    model.load_weights(path)
    return model, _label(version)


def _label(version: str) -> str:
    """'Keras 2.15.0 (tf-keras)' for the TensorFlow-only Keras 2 (2.4 on), else 'Keras X'."""
    if not version:
        return ""
    parts = version.split(".")
    tf_only = parts[0] == "2" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) >= 4
    return f"Keras {version} (tf-keras)" if tf_only else f"Keras {version}"


def _read(path: Path) -> tuple[str, dict | None]:
    """(Keras version, model config) saved in the file; ('', None) when they cannot be read."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                metadata = json.loads(archive.read("metadata.json"))
                return str(metadata.get("keras_version", "")), json.loads(archive.read("config.json"))
        import h5py

        with h5py.File(path, "r") as h5:
            version, config = h5.attrs.get("keras_version", ""), h5.attrs.get("model_config")
        return _text(version), json.loads(_text(config)) if config is not None else None
    except (OSError, KeyError, ValueError):
        return "", None


def _text(value: Any) -> str:
    """An HDF5 attribute (bytes or str) as text."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _custom_objects(users: dict[str, Any] | None = None) -> dict[str, Any]:
    """The classes translated configs name, and the user's own (``--model-code``)."""
    from keras.src.applications import convnext

    from convviz_gui.engine.tf_ops import TFOp

    return {"TFOp": TFOp, "LayerScale": convnext.LayerScale,
            "StochasticDepth": convnext.StochasticDepth, **(users or {})}


def _from_legacy_config(config: dict, safe_mode: bool,
                        custom_objects: dict[str, Any] | None = None) -> Any:
    """Deserialize an .h5 (legacy) config as Keras' own .h5 loader does."""
    from keras.src.legacy.saving import saving_utils
    from keras.src.saving.serialization_lib import SafeModeScope

    with SafeModeScope(safe_mode):
        return saving_utils.model_from_config(config, custom_objects=_custom_objects(custom_objects))


def translate(config: dict, file_name: str, keras2: bool = True) -> dict:
    """A copy of a saved model config that Keras 3 deserializes as the saving Keras did.

    Args:
        config: the model config saved in the file.
        file_name: named in errors.
        keras2: the file was saved by Keras 2 (its node references are renumbered).

    Raises:
        ConvVizError: a TensorFlow op ConvViz does not translate.
    """
    config = copy.deepcopy(config)
    _translate_model(config, file_name, keras2)
    return config


def _translate_model(entry: dict, file_name: str, keras2: bool) -> None:
    """Rewrite a Functional/Sequential entry and, recursively, its layers."""
    if entry.get("module", "").startswith(KERAS2_MODULES) and entry["class_name"] in MODEL_CLASSES:
        entry["module"] = MODEL_CLASSES[entry["class_name"]]
        entry["class_name"] = entry["registered_name"] = "Functional" if entry[
            "class_name"] == "Model" else entry["class_name"]
    body = entry["config"]
    layers = body.get("layers", [])
    names = {layer.get("name", layer["config"].get("name")) for layer in layers}
    for layer in layers:
        if _is_model(layer):
            _translate_model(layer, file_name, keras2)
        else:
            _translate_layer(layer, file_name, names)
    if not keras2:
        return
    renames = _slash_free_names(names)
    # tf-keras counted a nested model's own construction as its node 0; Keras 3 does not.
    built_models = {layer["name"] for layer in layers if _is_model(layer) and _starts_with_input(layer)}
    if not (renames or built_models):
        return
    relink = functools.partial(_relinked, renames=renames, built_models=built_models)
    for layer in layers:
        for holder in (layer, layer["config"]):
            holder["name"] = renames.get(holder.get("name"), holder.get("name"))
        if "inbound_nodes" in layer:
            layer["inbound_nodes"] = relink(layer["inbound_nodes"])
    for key in ("input_layers", "output_layers"):
        if key in body:
            body[key] = relink(body[key])


def _is_model(layer: dict) -> bool:
    return isinstance(layer.get("config"), dict) and "layers" in layer["config"]


def _starts_with_input(model: dict) -> bool:
    inner = model["config"]["layers"]
    return bool(inner) and inner[0]["class_name"] == "InputLayer"


def _slash_free_names(names: set[str]) -> dict[str, str]:
    """New names for layer names with '/' (Keras 3 refuses them): 'conv1/conv' -> 'conv1_conv'."""
    renames: dict[str, str] = {}
    for name in sorted(name for name in names if name and "/" in name):
        new = name.replace("/", "_")
        while new in names or new in renames.values():
            new += "_"
        renames[name] = new
    return renames


def _relinked(value: Any, renames: dict[str, str], built_models: set[str]) -> Any:
    """Layer references ``[name, node, tensor, ...]`` anywhere in ``value``, renamed and with
    the node index of a nested model that had its own Input one lower."""
    if isinstance(value, list):
        if len(value) >= 3 and isinstance(value[0], str) and isinstance(value[1], int):
            name, node = value[0], value[1]
            node -= name in built_models
            return [renames.get(name, name), node, *value[2:]]
        return [_relinked(item, renames, built_models) for item in value]
    if isinstance(value, dict):
        return {key: _relinked(item, renames, built_models) for key, item in value.items()}
    return value


def _translate_layer(layer: dict, file_name: str, names: set[str]) -> None:
    """Rewrite one (non-model) layer entry in place."""
    class_name, config = layer["class_name"], layer["config"]
    if layer.get("module", "").startswith(KERAS2_MODULES) and class_name not in TF_OP_CLASSES:
        layer["module"], layer["registered_name"] = "keras.layers", None
    if class_name in TF_OP_CLASSES:
        _to_tf_op(layer, file_name, names)
    elif class_name == "BatchNormalization" and isinstance(config.get("axis"), list) \
            and len(config["axis"]) == 1:
        config["axis"] = config["axis"][0]
    elif class_name in DEPTHWISE_CLASSES:
        if config.get("groups", 1) == 1:
            config.pop("groups", None)
        if class_name.startswith("Separable"):
            for key in SEPARABLE_UNUSED:
                config.pop(key, None)
    elif class_name == "InputLayer" and "batch_input_shape" in config:
        config["batch_shape"] = config.pop("batch_input_shape")
    elif "module" not in layer and set(config) <= {"name"}:
        _to_operation(layer)


def _to_operation(layer: dict) -> None:
    """A keras.ops operation Keras 3 saved to .h5 without its module (``x + 3.0`` is ``Add``)."""
    import importlib

    for module in OPERATION_MODULES:
        found = getattr(importlib.import_module(f"keras.src.ops.{module}"), layer["class_name"], None)
        if isinstance(found, type):
            layer["module"] = f"keras.src.ops.{module}"
            layer["registered_name"] = layer["class_name"]
            return


def _to_tf_op(layer: dict, file_name: str, names: set[str]) -> None:
    """TFOpLambda/SlicingOpLambda -> ConvViz's TFOp with the op's arguments in its config."""
    from convviz_gui.engine.tf_ops import KNOWN_OPS

    function = layer["config"]["function"]
    if function not in KNOWN_OPS:
        raise ConvVizError(
            f"{file_name} uses the TensorFlow op tf.{function} (layer '{layer['name']}'), which "
            "ConvViz cannot translate from Keras 2; rebuild that step with Keras 3 layers or "
            "keras.ops and save the model as .keras."
        )
    arguments, nodes = None, []
    for node in layer["inbound_nodes"]:
        inputs: list[list] = []
        node_arguments = _op_arguments(node, names, inputs)
        if arguments not in (None, node_arguments):
            raise ConvVizError(f"{file_name}: the op layer '{layer['name']}' is called with "
                               "different arguments at different places, which ConvViz cannot "
                               "translate from Keras 2.")
        arguments = node_arguments
        nodes.append([[*reference[:3], {}] for reference in inputs])
    layer.update(class_name="TFOp", inbound_nodes=nodes, registered_name="ConvViz>TFOp")
    layer.pop("module", None)
    layer["config"] = {key: value for key, value in layer["config"].items() if key != "function"}
    layer["config"].update(function=function, arguments=json.dumps(arguments))


def _op_arguments(node: list, names: set[str], inputs: list[list]) -> dict:
    """The {"args": [first], "kwargs": {...}} of one tf-keras op call; tensors go to ``inputs``.

    tf-keras records the op's first argument as the node's entries (several for a list such as
    ``tf.concat``'s values; ``_CONSTANT_VALUE`` for a number) and the rest as the last entry's
    keyword arguments, where ``[layer, node, tensor]`` is another tensor.
    """
    def tensor(reference: list) -> dict:
        inputs.append(reference)
        return {"__tensor__": len(inputs) - 1}

    def revive(value: Any) -> Any:
        if isinstance(value, list):
            if (len(value) == 3 and isinstance(value[0], str) and value[0] in names
                    and all(isinstance(item, int) for item in value[1:])):
                return tensor(value)
            return [revive(item) for item in value]
        if isinstance(value, dict):
            if set(value) == {"start", "stop", "step"}:
                return {"__slice__": [value["start"], value["stop"], value["step"]]}
            if value.get("class_name") == "__ellipsis__":
                return {"__ellipsis__": True}
            return {key: revive(item) for key, item in value.items()}
        return value

    if node and isinstance(node[0], str):  # a single entry, not wrapped in a list
        node = [node]
    first = [entry[2] if entry[0] == CONSTANT_INPUT else tensor(entry[:3]) for entry in node]
    kwargs = node[-1][3] if len(node[-1]) > 3 else {}
    return {"args": [first[0] if len(first) == 1 else first], "kwargs": revive(kwargs)}
