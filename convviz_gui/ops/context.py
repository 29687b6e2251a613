"""What an operation runs with: the opened models and images, progress and cancel."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from convviz_gui.ops.base import ImageRef, ModelRef

MODELS_KEPT = 2  # the current model and the previous one (switching back is instant)
IMAGES_KEPT = 4


def _open_model(ref: ModelRef) -> Any:
    """The ``LoadedModel`` of ``ref``, with its layer tree built."""
    from convviz_gui.engine.models import open_model

    loaded = open_model(ref.spec, trust_model_code=ref.trust_code, output=ref.output,
                        model_code=ref.code)
    loaded.layer_tree  # noqa: B018 (built once, here)
    return loaded


def _read_image(path: str, stamp: int | None) -> Any:
    """The ``LoadedImage`` of ``path``; ``stamp`` (its modification time) is only the cache key."""
    from convviz_gui.engine.images import load_image

    return load_image(Path(path))


class Workspace:
    """Models and images opened in this process, reused across requests (least recently
    used caches of ``MODELS_KEPT`` models and ``IMAGES_KEPT`` images, one per workspace)."""

    def __init__(self) -> None:
        self._models = lru_cache(maxsize=MODELS_KEPT)(_open_model)
        self._images = lru_cache(maxsize=IMAGES_KEPT)(_read_image)

    def model(self, ref: ModelRef) -> Any:
        """The ``LoadedModel`` for ``ref``, opened on first use."""
        return self._models(ref)

    def image(self, ref: ImageRef) -> Any:
        """The ``LoadedImage`` for ``ref`` (re-read when the file changed)."""
        try:
            stamp: int | None = Path(ref.path).stat().st_mtime_ns
        except OSError:
            stamp = None  # load_image says what is wrong with the path
        return self._images(ref.path, stamp)

    def forget_models(self) -> None:
        """Drop the opened models (a model's files changed: the next request opens it
        again), keeping the images."""
        self._models.cache_clear()

    def forget(self) -> None:
        """Drop every model and image (their memory goes with them)."""
        self._models.cache_clear()
        self._images.cache_clear()


class OpContext:
    """Handed to every operation: the workspace, ``progress(value)``, ``cancelled`` and the
    precision its model passes run in.

    Args:
        workspace: opened models and images.
        report: called with every progress value (may drop some to stay fluid).
        is_cancelled: polled by long operations between steps.
        precision: ``auto``, ``float32``, ``bfloat16`` or ``float16`` (``engine.precision``).
    """

    def __init__(self, workspace: Workspace, report: Callable[[Any], None] | None = None,
                 is_cancelled: Callable[[], bool] | None = None, precision: str = "float32") -> None:
        self.workspace = workspace
        self._report = report
        self._is_cancelled = is_cancelled
        self.precision = precision

    def resolved_precision(self) -> Any:
        """The ``engine.precision.Precision`` that runs (``auto`` resolved for this machine)."""
        from convviz_gui.engine.precision import resolve

        return resolve(self.precision)

    @property
    def cancelled(self) -> bool:
        """True once the caller asked the operation to stop."""
        return bool(self._is_cancelled and self._is_cancelled())

    @property
    def listening(self) -> bool:
        """Whether anyone receives progress (long operations skip previews otherwise)."""
        return self._report is not None

    def progress(self, value: Any) -> None:
        """Report progress; long operations call this between steps."""
        if self._report is not None:
            self._report(value)
