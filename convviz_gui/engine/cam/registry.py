"""Every method by display name and by CLI name: each registers itself when defined.

A subclass of ``Explainer`` that sets its own ``key`` is registered (``register``) as its
module is imported; importing ``convviz_gui.engine.cam`` imports every built-in method
module. A third-party method module registers its methods when it is imported, and a
request can name it as ``module:Name`` so that another process (the window's engine)
imports it too (``method_reference``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from convviz_gui.engine.cam.base import Explainer
from convviz_gui.engine.cam.options import MethodOptions, declare, retract
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel

# Display name -> class, in the order menus list them (the order of registration).
CAM_METHODS: dict[str, type[Explainer]] = {}
_LOOKUP: dict[str, type[Explainer]] = {}


def _normal(name: str) -> str:
    return "-".join(name.strip().lower().replace("_", " ").split())


def _origin(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register(cls: type[Explainer]) -> None:
    """Make ``cls`` a method (its display name and key, any case) with its options.

    Raises:
        ValueError: another class already has its name or key, or declares one of its
            options differently.
    """
    previous = CAM_METHODS.get(cls.name)
    if previous is not None and _origin(previous) == _origin(cls):
        unregister(previous)  # its module was imported again
    for alias in (cls.name, cls.key):
        taken = _LOOKUP.get(_normal(alias))
        if taken is not None:
            raise ValueError(f"{_origin(cls)}: the method name '{alias}' is {_origin(taken)}'s.")
    declare(cls.name, cls.offered_options())
    CAM_METHODS[cls.name] = cls
    _LOOKUP.update({_normal(cls.name): cls, _normal(cls.key): cls})


def unregister(cls: type[Explainer]) -> None:
    """Forget the method ``cls`` and the options only it declared."""
    if CAM_METHODS.get(cls.name) is not cls:
        return
    del CAM_METHODS[cls.name]
    for alias in (cls.name, cls.key):
        _LOOKUP.pop(_normal(alias), None)
    retract(cls.name)


def method_keys() -> tuple[str, ...]:
    """The CLI names of every method, in menu order."""
    return tuple(cls.key for cls in CAM_METHODS.values())


def method_reference(cls: type[Explainer]) -> str:
    """The name a request gives for ``cls``: its display name for a built-in method,
    ``module:Name`` for a third-party one (so that the engine process imports it)."""
    if cls.__module__.startswith("convviz_gui."):
        return cls.name
    return f"{cls.__module__}:{cls.name}"


def method_class(name: str) -> type[Explainer]:
    """A method by CLI name (``scorecam``) or display name (``Score-CAM``), any case, or by
    ``module:name`` (the module is imported first: it registers its methods)."""
    module, _, name = name.rpartition(":")
    if module:
        try:
            import_module(module)
        except ImportError as exc:
            raise ConvVizError(f"Cannot import the method module {module}: {exc}.") from exc
    cls = _LOOKUP.get(_normal(name))
    if cls is None:
        raise ConvVizError(f"Unknown method '{name}'. Choose one of {', '.join(method_keys())}.")
    return cls


def make_cam(loaded: LoadedModel, layer: LayerPath | None = None, method: str = "Grad-CAM",
             score: str = "logit", options: MethodOptions | None = None,
             preset: str | None = None) -> Explainer:
    """An explainer by method name (``layer`` is ignored by methods that use none)."""
    return method_class(method)(loaded, layer, score, options, preset)
