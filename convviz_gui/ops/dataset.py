"""The dataset family (issue 24): what a model learned across a folder of images, its
mistakes, its strategies per class and the images each channel loves (``Dataset`` ->
``DatasetResult``). The scan itself lives in ``engine/dataset``; this module holds the
request, the result, the progress and the operation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convviz_gui.engine.dataset.results import (
    ChannelTops,
    ClassStrategies,
    Cluster,
    Mistake,
    TopImage,
)
from convviz_gui.engine.layers import LayerPath
from convviz_gui.ops.base import ModelRef, Request

__all__ = ["ChannelTops", "ClassStrategies", "Cluster", "Dataset", "DatasetProgress",
           "DatasetResult", "Mistake", "TopImage"]


@dataclass(frozen=True)
class Dataset(Request):
    """Analyze every image of ``folder`` with ``model``.

    The folder is labelled when it holds subfolders (``FOLDER/<class>/*``, as
    ``keras.utils.image_dataset_from_directory`` reads it; matched to the model's labels
    by name, else by sorted order), flat otherwise (no accuracy or confusion).
    ``layer`` is explained by ``method`` for the strategies (None: the model's default CAM
    layer); ``channel_layer`` gives the channels' top images (None: ``layer``).
    ``batch_size`` 0: automatic. ``cache``: keep per-shard summaries on disk in the user's
    cache folder (resume, instant reopen); ``cache_dir`` overrides that folder ("" default).
    Long: progress per batch (``DatasetProgress``), cancellable.
    """

    model: ModelRef
    folder: str
    layer: LayerPath | None = None
    method: str = "Grad-CAM"
    channel_layer: LayerPath | None = None
    top_k: int = 9
    batch_size: int = 0
    cache: bool = True
    cache_dir: str = ""
    fit: str = "stretch"
    preset: str | None = None  # None: the model's preprocessing
    score: str = "logit"  # what the maps explain (as ``ExplainSpec.score``)
    mistakes: int = 50  # most confident mistakes kept
    engine: str = "local"  # "local", or "ray" (``ray_address``) when the Ray extra is there
    ray_address: str = ""  # "local" starts a local Ray; else a cluster address


@dataclass(frozen=True)
class DatasetProgress:
    """How far a scan is: ``done`` of ``total`` images read (skipped ones included),
    ``stage`` in words; ``resumed`` images came from the cache of an interrupted scan."""

    done: int
    total: int
    stage: str
    resumed: int = 0

    @property
    def fraction(self) -> float:
        """Done share in [0, 1]."""
        return self.done / self.total if self.total else 1.0

    def __str__(self) -> str:
        return f"{self.stage}: {self.done}/{self.total}"


@dataclass(frozen=True)
class DatasetResult:
    """A finished ``Dataset`` analysis. Image paths are relative to ``folder`` (POSIX
    separators; ``folder`` is absolute); coordinates as ``engine/dataset/results`` says.

    ``classes`` are the model's labels (the confusion's rows and columns); ``labelled``
    says whether the folder gave true classes (then ``accuracy``, ``confusion`` rows
    true x columns predicted counts, ``precision`` and ``recall`` per class, None for a
    class never predicted / never present); ``class_note`` says how the subfolders were
    matched to the classes ("" when by name); ``folder_classes[i]`` is the model class of
    the i-th subfolder (sorted) . ``predicted_counts``: images predicted as each class.
    """

    model_name: str
    folder: str
    images: int  # images analyzed (skipped ones not counted)
    skipped: tuple[tuple[str, str], ...]  # (relative path, reason)
    classes: tuple[str, ...]
    labelled: bool
    class_note: str
    folder_classes: tuple[tuple[str, int], ...]  # (subfolder name, model class index)
    accuracy: float | None
    confusion: np.ndarray | None  # (C, C) int64, rows true, columns predicted
    precision: tuple[float | None, ...]
    recall: tuple[float | None, ...]
    predicted_counts: tuple[int, ...]
    mistakes: tuple[Mistake, ...]  # most confident first
    strategies: tuple[ClassStrategies, ...]  # one per predicted class with images
    channels: ChannelTops
    method: str  # display name of the explanation method
    layer: str  # slash path of the explained layer
    input_size: tuple[int, int]  # (width, height) of the model input (the maps' frame)
    seconds: float
    engine: str = "local"  # "local" or "ray"
    cached: bool = False  # the whole result came from the cache
    resumed: int = 0  # images whose summaries came from an interrupted scan's cache
    notes: tuple[str, ...] = ()  # anything the user should know (sampling, matching)

    def path(self, image: str) -> str:
        """The absolute path of a relative ``image`` of this result."""
        import os

        return os.path.join(self.folder, image)
