"""Values built once per model and kept with it: compiled functions, cut-down models,
checked sizes. They live in ``LoadedModel.cache`` and go when the model is closed.

Each value is built at the active precision (``precision.using``) and kept under it:
functions built while bfloat16 is active are traced in bfloat16 (``precision.traced``), so
whatever compiles a model's pass must trace it inside ``build`` (``get_concrete_function``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Protocol, TypeVar

Value = TypeVar("Value")


class HoldsCache(Protocol):
    """Anything with a ``cache`` dict, such as ``LoadedModel``."""

    cache: dict[Any, Any]


def cached(loaded: HoldsCache, key: Hashable, build: Callable[[], Value]) -> Value:
    """``loaded.cache[key]``, built by ``build()`` on first use.

    Args:
        loaded: the model the value belongs to.
        key: a tuple naming the value, its kind first (``("ascent", path, ...)``); the
            active precision is added to it when it is not float32.
        build: makes the value; called only when ``key`` is not cached yet (when it raises,
            nothing is cached).
    """
    from convviz_gui.engine.precision import active, traced

    precision = active().name
    full = key if precision == "float32" else (key, precision)
    if full not in loaded.cache:
        loaded.cache[full], _ = traced(loaded, build)
    return loaded.cache[full]
