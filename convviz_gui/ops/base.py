"""What every family of operations shares: the references to a model and an image, the
base class of the requests, and ``Saved`` (the files an operation wrote).

A request names what to compute (model and image by reference, layer, options); a result
holds NumPy arrays and plain values, never Keras objects, so that it can cross the pipe
between the engine process and the window, and be drawn by either. Both are frozen
dataclasses of plain data: the logic lives in the operation functions next to them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelRef:
    """Which model: a file path, ``demo`` or ``app:NAME[:imagenet|none]``; which of its
    outputs is explained (a name or index; empty: the remembered one, else the classifier);
    ``code``: the ``.py`` files (absolute) or module names defining its custom classes,
    imported first."""

    spec: str
    trust_code: bool = False
    output: str = ""
    code: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageRef:
    """Which image (a file path: pasted images are saved to a file first), and how it is
    fitted to the model's input: ``stretch``, ``crop`` (center) or ``pad``."""

    path: str
    fit: str = "stretch"


@dataclass(frozen=True)
class Request:
    """Base of every request; its operation is registered with ``ops.registry.operation``."""


@dataclass(frozen=True)
class Saved:
    """Files an export wrote."""

    paths: tuple[str, ...] = ()
