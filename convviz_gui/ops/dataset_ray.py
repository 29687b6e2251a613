"""The dataset scan on Ray (issue 24, ``Dataset(engine="ray")``, ``convviz dataset --ray``):
the same shards as the local scan (``engine.dataset.shard.scan_shard``), mapped with Ray
Data over an actor pool (one loaded model per actor, a GPU each when the cluster has
GPUs), their summaries merged as they arrive. Same results as the local scan: ``merge``
is associative and commutative and keeps no float arithmetic, so the order the shards
finish in changes nothing.

Needs the ``ray`` extra (``pip install "convviz[ray]"``); importing this module without it
raises ImportError, which ``ops.dataset`` turns into that sentence. On a remote cluster
(``ray_address`` not ``local``) every node needs ConvViz installed and must see the model
file and the folder at the same paths.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from collections.abc import Generator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import ray
import ray.data

from convviz_gui.engine.cam.base import ExplanationCancelled
from convviz_gui.engine.dataset.folder import DatasetFiles
from convviz_gui.engine.dataset.shard import File, scan_shard, shard_slices
from convviz_gui.engine.dataset.summary import ScanSettings, Summary, empty_summary, merge
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.ops import dataset as dataset_ops
from convviz_gui.ops.base import ModelRef
from convviz_gui.ops.context import OpContext
from convviz_gui.ops.dataset import DatasetProgress, Scanner

if TYPE_CHECKING:
    from convviz_gui.engine.dataset.cache import ScanCache
    from convviz_gui.engine.models import LoadedModel

ACTOR_CPUS = 1  # CPUs reserved per actor on a cluster without GPUs (TensorFlow gets as many threads)
QUIET = logging.CRITICAL  # Ray's own Python logs: its lines (and a failed scan's tracebacks) would
# bury the CLI's output; a failure reaches the user as one ConvVizError sentence instead


def ray_scanner(model: ModelRef, address: str) -> Scanner:
    """The ``Scanner`` running ``model``'s scan on the Ray cluster at ``address``
    ("local" or "": start a local Ray)."""
    return partial(scan_with_ray, model=model, address=address)


def start_ray(address: str) -> None:
    """Connect to the cluster at ``address`` or start a local one ("local", ""); an already
    connected Ray (a test's, the window's previous scan) is kept. Ray's logs stay quiet:
    nothing from the workers reaches this process's output."""
    if not ray.is_initialized():
        try:
            ray.init(address="local" if address in ("", "local") else address, include_dashboard=False,
                     log_to_driver=False, logging_level=QUIET, configure_logging=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConvVizError(f"Cannot connect to the Ray cluster at {address}: "
                               f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(QUIET)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.enable_auto_log_stats = False


class ShardWorker:
    """A Ray Data actor: opens the model once (in its own process), then scans the shards
    it is given (one row = one shard: its index and files) into pickled summaries. The
    user's errors (a model this node cannot open, a layer giving NaN) come back as a row's
    ``error`` sentence rather than as a failed Ray task, whose traceback Ray would print."""

    def __init__(self, model: ModelRef, settings: ScanSettings) -> None:
        from convviz_gui.ops.context import Workspace

        _limit_threads()
        self.settings = settings
        self.loaded, self.error = None, ""
        try:
            self.loaded = Workspace().model(model)
        except ConvVizError as exc:
            self.error = str(exc)

    def _scan(self, paths: np.ndarray, classes: np.ndarray) -> tuple[bytes, str]:
        """(pickled summary, "") of one shard, or (b"", the error's sentence)."""
        if self.loaded is None:
            return b"", self.error
        try:
            files = [(str(path), int(label)) for path, label in zip(paths, classes)]
            return pickle.dumps(scan_shard(self.loaded, files, self.settings)), ""
        except ConvVizError as exc:
            return b"", str(exc)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        scanned = [self._scan(paths, classes) for paths, classes in zip(batch["paths"], batch["classes"])]
        return {"shard": np.asarray(batch["shard"]), "files": np.array([len(p) for p in batch["paths"]]),
                "summary": np.array([blob for blob, _ in scanned], dtype=object),
                "error": np.array([error for _, error in scanned], dtype=object)}


def _limit_threads() -> None:
    """TensorFlow's thread pools sized to the CPUs Ray gave this actor (several actors share
    a node); left alone when Ray gave none or TensorFlow already started."""
    cpus = int(ray.get_runtime_context().get_assigned_resources().get("CPU", 0))
    if cpus < 1:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(cpus)
        tf.config.threading.set_inter_op_parallelism_threads(cpus)
    except RuntimeError:
        pass  # TensorFlow is already running in this worker


def _pool(shards: int) -> dict[str, Any]:
    """``map_batches`` arguments of the actor pool: one actor per GPU when the cluster has
    GPUs, else one per ``ACTOR_CPUS`` CPUs; never more actors than shards."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if gpus:
        return {"compute": ray.data.ActorPoolStrategy(size=max(1, min(shards, gpus))), "num_gpus": 1}
    size = max(1, min(shards, int(resources.get("CPU", 1)) // ACTOR_CPUS))
    return {"compute": ray.data.ActorPoolStrategy(size=size), "num_cpus": ACTOR_CPUS}


def _code_env() -> dict[str, Any]:
    """The actors' runtime environment: this process's ConvViz first on their path, so they
    run the code this process runs (a source checkout, an editable install, a virtual
    environment the node's Python would not pick); a folder a remote node lacks is skipped
    there, and its own installed ConvViz is used."""
    import convviz_gui

    root = str(Path(convviz_gui.__file__).resolve().parent.parent)
    paths = [root, *(path for path in os.environ.get("PYTHONPATH", "").split(os.pathsep) if path)]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}}


def _ray_error(exc: Exception) -> ConvVizError:
    """One sentence for a failed Ray scan: the workers' own ``ConvVizError`` when there is
    one (a model a node cannot open, an unreadable layer; Ray passes it on as an object or
    only as the last line of a remote traceback), else the failure's last line."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConvVizError):
            return ConvVizError(str(seen).splitlines()[0])
        seen = getattr(seen, "cause", None) or seen.__cause__
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    last = lines[-1] if lines else type(exc).__name__
    remote = re.search(r"ConvVizError: (.+)$", last)
    return ConvVizError(remote.group(1) if remote else f"The scan on Ray failed: {last}")


def _results(shards: list[dict[str, Any]], model: ModelRef, settings: ScanSettings
             ) -> Generator[tuple[int, int, Summary], None, None]:
    """(shard index, files, summary) of every shard, as the actors finish them."""
    rows = ray.data.from_items(shards).map_batches(
        ShardWorker, batch_size=1, fn_constructor_kwargs={"model": model, "settings": settings},
        runtime_env=_code_env(), **_pool(len(shards)))
    for batch in rows.iter_batches(batch_size=1, batch_format="numpy", prefetch_batches=0):
        for index, count, blob, error in zip(*(batch[key] for key in ("shard", "files", "summary", "error"))):
            if error:
                raise ConvVizError(str(error))
            yield int(index), int(count), pickle.loads(blob)  # noqa: S301 (our own actors' summaries)


def scan_with_ray(loaded: LoadedModel, files: DatasetFiles, settings: ScanSettings,
                  cache: ScanCache | None, context: OpContext, *, model: ModelRef | None = None,
                  address: str = "local") -> tuple[Summary, int]:
    """A ``Scanner``: the shards ``scan_locally`` would make (so both share the cache), the
    ones the cache lacks scanned by Ray actors that open ``model`` themselves (default: the
    file ``loaded`` came from), each kept in ``cache`` as it arrives. Progress and cancel
    between shards."""
    model = model or ModelRef(loaded.source, output=loaded.output.name if loaded.output else "")
    entries: list[File] = list(files.files)
    total, done, resumed = len(entries), 0, 0
    summary = empty_summary(settings)
    todo = []
    for index, part in enumerate(shard_slices(total, dataset_ops.SHARD_BATCHES * settings.batch_size)):
        found = cache.shard(index) if cache is not None else None
        if found is None:
            todo.append({"shard": index, "paths": [name for name, _ in entries[part]],
                         "classes": [label for _, label in entries[part]]})
        else:
            summary = merge(summary, found)
            resumed += part.stop - part.start
    done = resumed
    context.progress(DatasetProgress(done, total, "Starting Ray", resumed))
    if not todo:
        return summary, resumed
    start_ray(address)
    context.progress(DatasetProgress(done, total, "Scanning images on Ray", resumed))
    results = _results(todo, model, settings)
    try:
        for index, count, found in results:
            if cache is not None:
                cache.save_shard(index, found)
            summary = merge(summary, found)
            done += count
            context.progress(DatasetProgress(done, total, "Scanning images on Ray", resumed))
            if context.cancelled and done < total:
                raise ExplanationCancelled("Cancelled.")
    except (ExplanationCancelled, ConvVizError):
        raise
    except Exception as exc:  # noqa: BLE001 (Ray wraps the workers' errors in its own types)
        raise _ray_error(exc) from exc
    finally:
        results.close()  # stops the execution when the scan stops early
    return summary, resumed
