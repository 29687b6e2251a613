"""The dataset family (issue 24): what a model learned across a folder of images, its
mistakes, its strategies per class and the images each channel loves (``Dataset`` ->
``DatasetResult``). The scan itself lives in ``engine/dataset``; this module holds the
request, the result, the progress and the operation."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from convviz_gui.engine.cam.base import ExplanationCancelled
from convviz_gui.engine.dataset.folder import DatasetFiles
from convviz_gui.engine.dataset.results import (
    ChannelTops,
    ClassStrategies,
    Cluster,
    Mistake,
    TopImage,
)
from convviz_gui.engine.dataset.summary import (
    ScanSettings,
    Summary,
    empty_summary,
    merge,
    sketch_cap_for,
)
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath
from convviz_gui.ops.base import ModelRef, Request
from convviz_gui.ops.context import OpContext
from convviz_gui.ops.registry import operation, to_json

if TYPE_CHECKING:
    from convviz_gui.engine.dataset.cache import ScanCache
    from convviz_gui.engine.models import LoadedModel

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
        return str(Path(self.folder, image))


SHARD_BATCHES = 8  # batches per shard: what an interrupted scan loses at most

# A scanner turns the folder's files into one merged ``Summary``:
# (loaded model, files, settings, cache or None, context) -> (summary, files resumed from the cache).
Scanner = Callable[["LoadedModel", DatasetFiles, ScanSettings, "ScanCache | None", OpContext],
                   tuple[Summary, int]]


def scan_settings(request: Dataset, loaded: LoadedModel) -> ScanSettings:
    """The request's settings, resolved for ``loaded`` and checked (one sentence when wrong):
    a classifier, spatial layers, a known method and fit."""
    from convviz_gui.engine.cam import make_cam
    from convviz_gui.engine.cam.base import batch_size_for
    from convviz_gui.engine.cam.options import MethodOptions
    from convviz_gui.engine.images import FIT_MODES
    from convviz_gui.ops.model import spatial_layer

    if loaded.output_kind != "classification":
        raise ConvVizError(f"{loaded.name} is not a classifier (its output is a {loaded.output_kind}); "
                           "the dataset analysis needs one class per image.")
    if request.fit not in FIT_MODES:
        raise ConvVizError(f"Unknown fit mode '{request.fit}'. Choose one of: {', '.join(FIT_MODES)}.")
    if request.top_k < 1:
        raise ConvVizError("--top-k must be at least 1.")
    layer = spatial_layer(loaded, request.layer).path if request.layer else None
    explainer = make_cam(loaded, layer, request.method, request.score, preset=request.preset)
    default = loaded.default_cam_layer()
    layer = explainer.layer or (default.path if default is not None else None)
    if not layer:
        raise ConvVizError(f"{loaded.name} has no layer with spatial output for the channels.")
    channel_layer = spatial_layer(loaded, request.channel_layer).path if request.channel_layer else layer
    batch = request.batch_size if request.batch_size > 0 else batch_size_for(loaded, MethodOptions())
    return ScanSettings(os.path.abspath(request.folder), loaded.class_count, tuple(layer),
                        tuple(channel_layer), explainer.name, request.score,
                        request.preset or loaded.preset, request.fit, request.top_k,
                        max(0, request.mistakes), batch, sketch_cap_for(loaded.class_count))


def scan_locally(loaded: LoadedModel, files: DatasetFiles, settings: ScanSettings,
                 cache: ScanCache | None, context: OpContext) -> tuple[Summary, int]:
    """Scan shard after shard in this process, each finished shard kept in ``cache``; the
    shards the cache holds are not scanned again. Progress after every batch."""
    from convviz_gui.engine.dataset.shard import scan_shard, shard_slices

    total, done, resumed = len(files.files), 0, 0
    summary = empty_summary(settings)
    context.progress(DatasetProgress(0, total, "Reading the folder"))

    def after_batch(count: int) -> None:
        nonlocal done
        done += count
        context.progress(DatasetProgress(done, total, "Scanning images", resumed))

    for index, part in enumerate(shard_slices(total, SHARD_BATCHES * settings.batch_size)):
        found = cache.shard(index) if cache is not None else None
        if found is None:
            found = scan_shard(loaded, files.files[part], settings, after_batch,
                               lambda: context.cancelled)
            if cache is not None:
                cache.save_shard(index, found)
        else:
            resumed += part.stop - part.start
            after_batch(part.stop - part.start)
        summary = merge(summary, found)
    return summary, resumed


def _scanner(request: Dataset) -> Scanner:
    """The local scanner, or the Ray one (``convviz_gui.ops.dataset_ray.ray_scanner``: the
    request's model opened by Ray actors at ``ray_address``; says how to install Ray when
    it is missing)."""
    if request.engine == "local":
        return scan_locally
    if request.engine != "ray":
        raise ConvVizError(f"Unknown engine '{request.engine}': choose local or ray.")
    try:
        from convviz_gui.ops.dataset_ray import ray_scanner
    except ImportError as exc:
        raise ConvVizError("This ConvViz cannot run scans on Ray; install the extra with "
                           "pip install \"convviz[ray]\".") from exc
    return ray_scanner(request.model, request.ray_address)


def _cache_of(request: Dataset) -> ScanCache | None:
    """The cache of the request's scan (None when ``request.cache`` is off): keyed by the
    model file's digest, the request and the folder's files, so no model is needed to find
    a finished scan. Marked as used; the least recently used scans beyond the budget go."""
    from convviz_gui.engine.dataset.cache import ScanCache, model_digest, prune, scan_key
    from convviz_gui.engine.models import DEMO_MODEL
    from convviz_gui.paths import resource, user_cache_dir

    if not request.cache:
        return None
    if not Path(request.folder).is_dir():
        return None  # list_dataset says what is wrong
    source = str(resource(*DEMO_MODEL)) if request.model.spec == "demo" else request.model.spec
    codes = "|".join(model_digest(code) for code in request.model.code)
    settings = replace(request, engine="local", ray_address="", cache_dir="")
    root = Path(request.cache_dir) if request.cache_dir else user_cache_dir() / "dataset"
    cache = ScanCache(root, scan_key(f"{model_digest(source)}|{codes}", request.folder, repr(settings)))
    cache.touch()
    prune(root, keep=cache.folder.name)  # the cache stays bounded
    return cache


@operation(Dataset, long=True)
def analyze_dataset(request: Dataset, context: OpContext) -> DatasetResult:
    """Scan the folder (or reopen the cached scan), then cluster each class's maps and
    gather the channels' top images."""
    from convviz_gui.engine.dataset.folder import list_dataset

    started = time.perf_counter()
    cache = _cache_of(request)
    kept = cache.result() if cache is not None else None
    if isinstance(kept, DatasetResult):
        return replace(kept, cached=True, seconds=time.perf_counter() - started)
    loaded = context.workspace.model(request.model)
    files = list_dataset(request.folder, loaded.labels)
    if not files.files:
        raise ConvVizError(f"There are no files to analyze in {files.root}.")
    settings = scan_settings(request, loaded)
    summary, resumed = _scanner(request)(loaded, files, settings, cache, context)
    if context.cancelled:
        raise ExplanationCancelled("Cancelled.")
    context.progress(DatasetProgress(len(files.files), len(files.files), "Clustering the maps", resumed))
    result = finish(summary, files, settings, loaded, time.perf_counter() - started,
                    request.engine, resumed)
    if cache is not None:
        cache.save_result(result)
    return result


def finish(summary: Summary, files: DatasetFiles, settings: ScanSettings, loaded: LoadedModel,
           seconds: float, engine: str = "local", resumed: int = 0) -> DatasetResult:
    """The ``DatasetResult`` of a merged summary: metrics, the clusters of every predicted
    class's kept maps (``engine.dataset.clusters``), the channels' top images placed in
    their images' pixels (receptive fields from the graph)."""
    from convviz_gui.engine.dataset.clusters import class_strategies
    from convviz_gui.engine.dataset.finish import channel_tops, classification_metrics
    from convviz_gui.engine.dataset.receptive import receptive_field

    if not summary.images:
        reason = summary.skipped[0][1] if summary.skipped else "no files"
        raise ConvVizError(f"None of the files in {files.root} could be read as an image ({reason})")
    height, width = loaded.input_size()
    order = {name: position for position, (name, _) in enumerate(files.files)}
    labels = loaded.labels
    strategies = tuple(
        class_strategies(index, labels[index], int(summary.predicted[index]), sketch, order,
                         (width, height))
        for index, sketch in summary.sketches.items())
    accuracy, precision, recall = classification_metrics(summary.confusion) if files.labelled \
        else (None, (None,) * len(labels), (None,) * len(labels))
    channel_layer = "/".join(settings.channel_layer)
    channels = channel_tops(summary.tops, receptive_field(loaded.keras_model, settings.channel_layer),
                            channel_layer, (width, height), settings.fit)
    notes = [files.note] if files.note else []
    if any(item.sampled >= settings.sketch_cap for item in strategies):
        notes.append(f"Large classes were clustered on a sample of at most {settings.sketch_cap} "
                     "images each (always the same ones).")
    if summary.blank_maps:
        notes.append(f"{summary.blank_maps} images had an explanation map that is zero everywhere "
                     "and are in no cluster.")
    if not receptive_field(loaded.keras_model, settings.channel_layer).exact:
        notes.append(f"The receptive field of {channel_layer} passes through a layer ConvViz cannot "
                     "measure; the boxes cover the whole image.")
    skipped = tuple(sorted(files.skipped + summary.skipped))
    return DatasetResult(
        loaded.name, files.root, summary.images, skipped, labels, files.labelled, files.note,
        files.folder_classes, accuracy, summary.confusion if files.labelled else None,
        precision, recall, tuple(int(count) for count in summary.predicted), summary.mistakes,
        strategies, channels, settings.method, "/".join(settings.layer), (width, height), seconds,
        engine, False, resumed, tuple(notes))


# ----- JSON -------------------------------------------------------------------------------------
def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@to_json.register(DatasetResult)
def _dataset_json(result: DatasetResult) -> dict[str, Any]:
    """The issue's JSON (paths relative to the folder, coordinates in image pixels; a
    cluster's ``peak_xy`` in model-input pixels), plus per-class precision and recall as
    ``class_precision`` and ``class_recall`` (``precision`` names the passes' number type)
    and the notes."""
    labels = result.classes
    return {
        "model": result.model_name, "folder": result.folder, "images": result.images,
        "skipped": [{"image": image, "reason": reason} for image, reason in result.skipped],
        "classes": list(labels), "accuracy": _rounded(result.accuracy),
        "confusion": None if result.confusion is None else result.confusion.tolist(),
        "class_precision": [_rounded(value) for value in result.precision],
        "class_recall": [_rounded(value) for value in result.recall],
        "mistakes": [{"image": item.image, "true": labels[item.true], "predicted": labels[item.predicted],
                      "score": round(item.score, 6)} for item in result.mistakes],
        "clusters": {strategy.label: [
            {"members": list(cluster.members), "peak_xy": list(cluster.peak_xy),
             "flagged": cluster.flagged, "reason": cluster.reason}
            for cluster in strategy.clusters] for strategy in result.strategies},
        "channels": {"layer": result.channels.layer, "top": {
            str(channel): [{"image": item.image, "value": round(item.value, 6), "xy": list(item.xy),
                            "box": list(item.box)} for item in entries]
            for channel, entries in enumerate(result.channels.top)}},
        "method": result.method, "layer": result.layer, "class_note": result.class_note,
        "notes": list(result.notes), "seconds": round(result.seconds, 3), "engine": result.engine,
    }
