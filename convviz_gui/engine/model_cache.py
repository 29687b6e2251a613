"""Values built once per model and kept with it: compiled functions, cut-down models,
checked sizes. They live in ``LoadedModel.cache`` and go when the model is closed."""

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
        key: a tuple naming the value, its kind first (``("ascent", path, ...)``).
        build: makes the value; called only when ``key`` is not cached yet (when it raises,
            nothing is cached).
    """
    if key not in loaded.cache:
        loaded.cache[key] = build()
    return loaded.cache[key]
