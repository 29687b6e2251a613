"""Models that need Python code ConvViz does not ship: custom Keras classes and KerasHub models.

A model saved with custom layers, functions or models (``@keras.saving.register_keras_serializable``)
opens only once the code defining them is imported. The user names that code (a ``.py`` file
or an importable module); it is imported in the engine process before Keras loads the model,
and only with consent, because importing runs it. The choice is remembered in the model's
``<model>.convviz.json`` sidecar under ``model_code``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.keras2 import saved_config

SETTINGS_KEY = "model_code"
# Packages Keras imports by itself when a model names them; the user installs them: into
# ConvViz's Python environment, or (the self-contained app cannot take packages) with ConvViz.
ADDON_INSTALL = {
    "keras_hub": 'pip install "convviz[hub]" (or pip install keras-hub)',
    "keras_cv": "pip install keras-cv",
    "keras_nlp": "pip install keras-nlp",
}
ADDON_WITH_CONVVIZ = {
    "keras_hub": ("KerasHub", 'pip install "convviz[hub]"'),
    "keras_cv": ("KerasCV", "pip install convviz keras-cv"),
    "keras_nlp": ("KerasNLP", "pip install convviz keras-nlp"),
}
WHERE_TO_GIVE_CODE = ("give the Python file or module that defines {it}: Model > Load Model Code… "
                      "in the window, --model-code FILE.py on the command line")


KINDS = ("model", "layer", "function", "class")  # the order messages name them in


class MissingModelCodeError(ConvVizError):
    """The model uses custom classes whose code has not been given (the window offers to)."""


@dataclass(frozen=True)
class CustomObject:
    """A class or function a saved model names that is neither Keras' own nor imported."""

    kind: str  # "model", "layer", "function" or "class"
    class_name: str
    package: str  # the registration package: "zoo" of "zoo>ChannelAttention"; "" if none
    module: str  # the Python module it was defined in; "" when the file does not say
    registered_name: str  # the name Keras looks it up by

    @property
    def top_package(self) -> str:
        """First part of the module (``keras_hub`` of ``keras_hub.src.models``)."""
        return (self.module or self.package).split(".")[0]

    def describe(self) -> str:
        """E.g. ``the custom layer 'ChannelAttention' (package 'zoo', module 'zoo.layers')``."""
        where = [f"package '{self.package}'"] if self.package else []
        if self.module and self.module != self.package:
            where.append(f"module '{self.module}'")
        return f"the custom {self.kind} '{self.class_name}'" + (f" ({', '.join(where)})" if where else "")


def is_code_file(entry: str) -> bool:
    """True for a ``.py`` path, False for a module name like ``zoo.layers``."""
    return entry.endswith(".py") or "/" in entry or os.sep in entry


def code_label(entries: Sequence[str]) -> str:
    """The code as the user knows it: file names and module names, comma-separated."""
    return ", ".join(Path(entry).name if is_code_file(entry) else entry for entry in entries)


# ----- what the model file names ----------------------------------------------------------------
def custom_objects_in(config: dict[str, Any]) -> list[CustomObject]:
    """Every non-Keras class and registered function the config names, outermost first."""
    found: dict[str, CustomObject] = {}

    def visit(node: Any, kind: str) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item, kind)
            return
        if not isinstance(node, dict):
            return
        item = _custom_object(node, kind)
        if item is not None:
            found.setdefault(item.registered_name, item)
        for key, value in node.items():
            visit(value, "layer" if key == "layers" else "class")

    visit(config, "model")
    return sorted(found.values(), key=lambda item: KINDS.index(item.kind))


def _custom_object(node: dict[str, Any], kind: str) -> CustomObject | None:
    class_name = node.get("class_name")
    if not isinstance(class_name, str) or class_name.startswith("__"):
        return None
    module = node.get("module") or ""
    if class_name == "function":  # Keras 3 saves functions by (registered) name in "config"
        name = node.get("config")
        if not isinstance(name, str) or ">" not in name:
            return None
        package, _, short = name.partition(">")
        return CustomObject("function", short, package, "", name)
    registered = node.get("registered_name")
    registered = registered if isinstance(registered, str) and registered else class_name
    package, _, short = registered.rpartition(">")
    if module:  # .keras: Keras' own classes live in keras.*
        if module.split(".")[0] in ("keras", "builtins"):
            return None
    elif not package and (kind != "layer" or _is_keras_layer(class_name)):
        return None  # legacy .h5: only registered names (with '>') and unknown layers stand out
    return CustomObject(kind, short, package, module, registered)


def _is_keras_layer(class_name: str) -> bool:
    import keras

    return hasattr(keras.layers, class_name) or class_name in ("Functional", "Sequential", "Model")


def is_subclassed(config: dict[str, Any]) -> bool:
    """True when the saved top-level model has no layer graph (a subclassed ``keras.Model``)."""
    inner = config.get("config")
    return isinstance(inner, dict) and "layers" not in inner and "input_layers" not in inner


def subclassed_error(name: str, class_name: str) -> ConvVizError:
    """The one sentence for a model ConvViz cannot walk layer by layer."""
    return ConvVizError(
        f"{name} is a subclassed Keras model ('{class_name}') with no layer graph; ConvViz needs a "
        "functional or Sequential model: rebuild it functionally (with keras.Input) and save it again."
    )


# ----- the user's code --------------------------------------------------------------------------
def import_model_code(entries: Sequence[str]) -> list[ModuleType]:
    """Import each ``.py`` file (absolute path) or module name; one sentence on failure."""
    return [_import_one(entry) for entry in entries]


def _import_one(entry: str) -> ModuleType:
    path = Path(entry)
    if is_code_file(entry):
        if not path.is_file():
            raise ConvVizError(f"The model code file {path.name} does not exist.")
        if path.suffix != ".py":
            raise ConvVizError(f"The model code {path.name} is not a Python file (.py).")
        root, module_name = _module_name(path.resolve())
        if str(root) not in sys.path:  # its sibling modules import too; appended, so that
            sys.path.append(str(root))  # its folder cannot shadow what ConvViz imports
    else:
        module_name = entry
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name) and not is_code_file(entry):
            raise ConvVizError(f"No module named '{entry}' can be imported; give its .py file "
                               "instead, or install it.") from exc
        raise _import_error(entry, exc) from exc
    except (Exception, SystemExit) as exc:  # the user's code may raise anything
        raise _import_error(entry, exc) from exc
    if is_code_file(entry) and Path(module.__file__ or "").resolve() != path.resolve():
        raise ConvVizError(f"{path.name} cannot be imported as '{module_name}': a module of that "
                           f"name is already loaded from {module.__file__}; rename the file.")
    return module


def _import_error(entry: str, exc: BaseException) -> ConvVizError:
    text = str(exc).strip().splitlines()
    detail = f": {text[0][:200]}" if text else ""
    return ConvVizError(f"Importing the model code {code_label([entry])} failed "
                        f"({type(exc).__name__}{detail}).")


def _module_name(path: Path) -> tuple[Path, str]:
    """The folder to put on ``sys.path`` and the dotted name of a file (packages kept)."""
    parts = [] if path.stem == "__init__" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return folder, ".".join(parts)


def custom_objects_for(path: Path, entries: Sequence[str]) -> dict[str, Any]:
    """Import the code and map the model's custom names to what it defines.

    Registered classes are found through Keras' registry; unregistered ones by their class
    name in the imported modules (passed to Keras as ``custom_objects``).

    Raises:
        ConvVizError: the code cannot be imported, or does not define a class the model uses.
    """
    modules = import_model_code(entries)
    config = saved_config(path) or {}
    wanted = [item for item in custom_objects_in(config) if item.top_package not in ADDON_INSTALL]
    found = {item.registered_name: value for item in wanted
             for value in [_defined_in(modules, item.class_name)] if value is not None}
    missing = [item for item in wanted if not _resolved(item, found)]
    if missing:
        verb = "defines" if len(entries) > 1 else "define"
        raise ConvVizError(f"{'None of ' if len(entries) > 1 else ''}{code_label(entries)} "
                           f"{'does not ' if len(entries) == 1 else ''}{verb} "
                           f"{_describe_all(missing)}.")
    return found


def _defined_in(modules: Iterable[ModuleType], class_name: str) -> Any:
    return next((getattr(module, class_name) for module in modules
                 if callable(getattr(module, class_name, None))), None)


def _resolved(item: CustomObject, custom_objects: dict[str, Any]) -> bool:
    import keras

    return keras.saving.get_registered_object(item.registered_name, custom_objects) is not None


def _describe_all(items: Sequence[CustomObject]) -> str:
    names = [item.describe() for item in items]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def explain_load_failure(path: Path, error: Exception, code: Sequence[str],
                         custom_objects: dict[str, Any]) -> ConvVizError | None:
    """Why Keras could not load ``path`` (raising ``error``), from what its config names: a
    missing add-on package, custom code or a subclassed model, or the model code given in
    ``code`` failing; None when none of these is the cause."""
    config = saved_config(path)
    if config is None:
        return None
    items = custom_objects_in(config)
    for package in ADDON_INSTALL:
        if any(item.top_package == package for item in items) and not _importable(package):
            return addon_missing_error(path.name, package)
    missing = [item for item in items
               if item.top_package not in ADDON_INSTALL and not _resolved(item, custom_objects)]
    if not missing:
        return _code_failed(path.name, error, code) if code else None
    if missing[0].kind == "model" and is_subclassed(config):
        return subclassed_error(path.name, missing[0].class_name)
    return MissingModelCodeError(
        f"{path.name} uses {_describe_all(missing)}, whose code ConvViz does not have; "
        + WHERE_TO_GIVE_CODE.format(it="it" if len(missing) == 1 else "them") + "."
    )


def _code_failed(name: str, error: BaseException, code: Sequence[str]) -> ConvVizError:
    """The innermost error (Keras wraps the user's own in several layers of its text)."""
    inner: BaseException | None = error
    while inner is not None:
        error, inner = inner, inner.__cause__ or inner.__context__
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):  # "...message for object <X>:" then the reason
        lines[0] += " " + lines[1]
    detail = f": {lines[0][:300].rstrip('.')}" if lines else ""
    return ConvVizError(f"Cannot open {name} with the model code {code_label(code)} "
                        f"({type(error).__name__}{detail}).")


def addon_missing_error(name: str, package: str) -> ConvVizError:
    """``name`` needs the add-on ``package``, which is not importable: how to get it. The
    self-contained app (``sys.frozen``, ``convviz.spec``) cannot take packages, so there the
    way is ConvViz installed from pip with the add-on."""
    if getattr(sys, "frozen", False):
        label, command = ADDON_WITH_CONVVIZ[package]
        return ConvVizError(f"{name} was saved from {package}, which this ConvViz app does not "
                            f"include; to open {label} models, install ConvViz from pip with it "
                            f"({command}) and open the model there.")
    return ConvVizError(f"{name} was saved from {package}, which is not installed; "
                        f"install it with {ADDON_INSTALL[package]}.")


def _importable(package: str) -> bool:
    try:
        importlib.import_module(package)
    except ImportError:
        return False
    return True


def has_layer_graph(model: Any) -> bool:
    """True for functional and Sequential models (ConvViz walks their layers and tensors)."""
    import keras

    return isinstance(model, keras.Sequential) or hasattr(model, "_nodes_by_depth")


# ----- remembered in the sidecar ----------------------------------------------------------------
def remembered_code(model_path: Path, settings: dict[str, Any]) -> tuple[str, ...]:
    """The code named in the sidecar; files are stored relative to the model's folder."""
    entries = settings.get(SETTINGS_KEY) or []
    if isinstance(entries, str):
        entries = [entries]
    return tuple(str(model_path.parent / entry) if is_code_file(entry) else str(entry)
                 for entry in entries)


def stored_code(model_path: Path, entries: Sequence[str]) -> list[str]:
    """``entries`` as the sidecar keeps them: files beside the model relative to its folder
    (the folder can be moved or shared), others absolute."""
    folder = model_path.resolve().parent
    stored = []
    for entry in entries:
        if is_code_file(entry):
            file = Path(entry).resolve()
            entry = file.relative_to(folder).as_posix() if file.is_relative_to(folder) else str(file)
        stored.append(entry)
    return stored
