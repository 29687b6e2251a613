"""What an operation runs with: the opened models and images, progress and cancel."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convviz_gui.ops.messages import ImageRef, ModelRef

MODELS_KEPT = 2  # the current model and the previous one (switching back is instant)
IMAGES_KEPT = 4


class Workspace:
    """Models and images opened in this process, reused across requests (small LRU caches)."""

    def __init__(self) -> None:
        self._models: OrderedDict[ModelRef, Any] = OrderedDict()
        self._images: OrderedDict[tuple, Any] = OrderedDict()

    def model(self, ref: ModelRef) -> Any:
        """The ``LoadedModel`` for ``ref``, opened on first use."""
        loaded = self._models.get(ref)
        if loaded is None:
            from convviz_gui.engine.models import open_model

            loaded = open_model(ref.spec, trust_model_code=ref.trust_code, output=ref.output,
                                model_code=ref.code)
            loaded.layer_tree  # noqa: B018 (built once, here)
            self._models[ref] = loaded
            while len(self._models) > MODELS_KEPT:
                self._models.popitem(last=False)
        self._models.move_to_end(ref)
        return loaded

    def image(self, ref: ImageRef) -> Any:
        """The ``LoadedImage`` for ``ref`` (re-read when the file changed)."""
        from convviz_gui.engine.images import load_image

        path = Path(ref.path)
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = None  # load_image says what is wrong with the path
        key = (ref.path, stamp)
        image = self._images.get(key)
        if image is None:
            image = load_image(path)
            self._images[key] = image
            while len(self._images) > IMAGES_KEPT:
                self._images.popitem(last=False)
        self._images.move_to_end(key)
        return image

    def forget_model(self, ref: ModelRef) -> None:
        """Drop one model (its files changed: the next request opens it again)."""
        self._models.pop(ref, None)

    def forget(self) -> None:
        """Drop every model and image (their memory goes with them)."""
        self._models.clear()
        self._images.clear()


class OpContext:
    """Handed to every operation: the workspace, ``progress(value)`` and ``cancelled``.

    Args:
        workspace: opened models and images.
        report: called with every progress value (may drop some to stay fluid).
        is_cancelled: polled by long operations between steps.
    """

    def __init__(self, workspace: Workspace, report: Callable[[Any], None] | None = None,
                 is_cancelled: Callable[[], bool] | None = None) -> None:
        self.workspace = workspace
        self._report = report
        self._is_cancelled = is_cancelled

    @property
    def cancelled(self) -> bool:
        """True once the caller asked the operation to stop."""
        return bool(self._is_cancelled and self._is_cancelled())

    def progress(self, value: Any) -> None:
        """Report progress; long operations call this between steps."""
        if self._report is not None:
            self._report(value)
