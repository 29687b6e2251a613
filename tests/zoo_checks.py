"""What "right" means for a zoo model, one check per view; shared by the zoo tests and
``bench/zoo_report.py`` so the table and the tests cannot disagree.

Every check runs ConvViz through its operations layer (what the CLI and the window call)
and returns a ``Verdict``: ``ok``, ``FAIL`` (an error: the view does not open) or ``WRONG``
(it opens and shows something wrong).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .zoo import ZooModel, output_index

FILTERS = (0, 1, 2, 3)
FILTER_STEPS = 10
TOLERANCE = 2e-3  # mixed-precision models compute in float16
CONVVIZ_KINDS = {  # ConvViz's output_kind words that name each expected kind
    "classification": {"classification"},
    "segmentation": {"segmentation"},
    "regression": {"regression", "score"},
    "features": {"features"},
}


@dataclass(frozen=True)
class Verdict:
    """One cell of the table: ``status`` ok / FAIL / WRONG, a short ``reason``, and
    ``detail`` (what was seen, for the table even when it is ok)."""

    status: str
    reason: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def cell(self) -> str:
        """Markdown cell text: ``ok``, ``ok (detail)``, ``WRONG(reason)``..."""
        if self.ok:
            return f"ok ({self.detail})" if self.detail else "ok"
        return f"{self.status}({self.reason})"


def ok(detail: str = "") -> Verdict:
    return Verdict("ok", detail=detail)


def wrong(reason: str) -> Verdict:
    return Verdict("WRONG", reason)


def failed(exc: BaseException) -> Verdict:
    """FAIL with the error's first line (ConvViz's own sentence, or the exception type)."""
    from convviz_gui.engine.errors import ConvVizError

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if not isinstance(exc, ConvVizError):
        text = f"{type(exc).__name__}: {text}"
    return Verdict("FAIL", text[:140])


@dataclass
class Session:
    """A zoo model opened in one ConvViz workspace (shared by all checks of that model)."""

    zoo: ZooModel
    context: Any = None
    ref: Any = None
    image: Any = None
    summary: Any = None
    open_error: BaseException | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    _expected: np.ndarray | None = None  # expected_output(), run once (an eager pass: seconds)

    @classmethod
    def open(cls, zoo: ZooModel) -> Session:
        """Open the model as the CLI does (``OpenModel``), keeping the error if it fails."""
        from convviz_gui.ops.base import ImageRef, ModelRef
        from convviz_gui.ops.context import OpContext, Workspace
        from convviz_gui.ops.model import OpenModel
        from convviz_gui.ops.registry import run

        code = (str(zoo.expected.code_file),) if zoo.expected.code_file is not None else ()
        session = cls(zoo, OpContext(Workspace()),
                      ModelRef(str(zoo.path), trust_code=bool(code), code=code),
                      ImageRef(str(zoo.image)))
        started = time.perf_counter()
        try:
            session.summary = run(OpenModel(session.ref), session.context)
        except Exception as exc:  # noqa: BLE001 (the verdict reports it)
            session.open_error = exc
        session.seconds["load"] = time.perf_counter() - started
        return session

    @property
    def loaded(self) -> Any:
        """ConvViz's ``LoadedModel`` (raises what opening raised)."""
        if self.open_error is not None:
            raise self.open_error
        return self.context.workspace.model(self.ref)

    def run(self, request: Any) -> Any:
        from convviz_gui.ops.registry import run

        return run(request, self.context)

    def batch(self) -> np.ndarray:
        """The test image as ConvViz feeds it to this model."""
        return self.loaded.prepare(self.context.workspace.image(self.image))

    def expected_output(self) -> np.ndarray:
        """The explained output's values for ``batch()`` (run by Keras itself), (1, ...);
        computed once per session (the predict and Grad-CAM checks both compare with it)."""
        if self._expected is None:
            self._expected = self._run_keras()
        return self._expected

    def _run_keras(self) -> np.ndarray:
        model = self.loaded.keras_model
        values = model(self.batch(), training=False)
        flat = values if isinstance(values, (list, tuple)) else \
            [values[key] for key in sorted(values)] if isinstance(values, dict) else [values]
        return np.asarray(flat[output_index(model, self.zoo.expected.output)], np.float64)

    def layer_path(self, name: str) -> tuple[str, ...]:
        """The path of the layer named ``name`` (nested models too)."""
        from convviz_gui.engine.layers import find_layer

        info = find_layer(self.loaded.layer_tree, name)
        assert info is not None, f"the zoo names a layer {name} the model does not have"
        return info.path

    def describe_layer(self, path: tuple[str, ...]) -> str:
        """``Class name`` of the layer at ``path``."""
        from convviz_gui.engine.layers import find_layer

        info = find_layer(self.loaded.layer_tree, "/".join(path))
        return f"{info.class_name} {info.name}" if info else "/".join(path)


def timed(name: str):
    """Decorator: the check's seconds go to ``session.seconds[name]``; an exception
    becomes a FAIL verdict."""

    def wrap(check):
        def run(session: Session, *args: Any) -> Verdict:
            started = time.perf_counter()
            try:
                return check(session, *args)
            except Exception as exc:  # noqa: BLE001 (the verdict reports it)
                return failed(exc)
            finally:
                session.seconds[name] = time.perf_counter() - started

        run.__name__ = check.__name__
        run.__doc__ = check.__doc__
        return run

    return wrap


@timed("open")
def check_opens(session: Session) -> Verdict:
    """The model opens."""
    session.loaded  # noqa: B018 (raises the opening error)
    return ok()


@timed("inspect")
def check_inspect(session: Session) -> Verdict:
    """The default CAM layer is acceptable and the output kind is the expected one."""
    expected = session.zoo.expected
    summary = session.summary
    if session.open_error is not None:
        raise session.open_error
    problems = []
    path = summary.default_cam_path
    if path is None:
        problems.append("no default layer")
    elif path[-1] not in expected.cam_layers:
        problems.append(f"layer = {session.describe_layer(path)}")
    if summary.output_kind not in CONVVIZ_KINDS[expected.kind]:
        problems.append(f"kind = {summary.output_kind}, not {expected.kind}")
    explained = tuple(session.loaded.keras_model.outputs[
        output_index(session.loaded.keras_model, expected.output)].shape)
    if tuple(summary.output_shape) != explained:
        problems.append(f"output {list(summary.output_shape)}, not {expected.output} "
                        f"{list(explained)}")
    detail = f"{path[-1] if path else '-'}, {summary.output_kind}"
    return wrong("; ".join(problems)) if problems else ok(detail)


@timed("input")
def check_input(session: Session) -> Verdict:
    """The pixels reach the model in the range it was built for (when the file says it)."""
    wanted = session.zoo.expected.input_range
    batch = session.batch()
    low, high = float(batch.min()), float(batch.max())
    detail = f"[{low:.3g}, {high:.3g}]"
    if wanted is None:
        return ok(detail)
    span = wanted[1] - wanted[0]
    if low < wanted[0] - 0.01 * span or high > wanted[1] + 0.01 * span or \
            high - low < 0.25 * span:
        return wrong(f"fed {detail}, model wants [{wanted[0]:g}, {wanted[1]:g}]")
    return ok(detail)


def _pixel_shares(values: np.ndarray) -> np.ndarray:
    """Share of pixels of each class in a (H, W, C) output; one sigmoid channel: the
    foreground (p > 0.5)."""
    if values.shape[-1] == 1:
        return np.array([float(np.mean(values > 0.5))])
    return np.bincount(values.argmax(-1).ravel(), minlength=values.shape[-1]) / values[..., 0].size


@timed("predict")
def check_predict(session: Session) -> Verdict:
    """Top-1 prediction comes from the explained output (its value and index)."""
    from convviz_gui.engine.errors import ConvVizError
    from convviz_gui.ops.model import Predict

    kind = session.zoo.expected.kind
    values = session.expected_output()[0]
    try:
        found = session.run(Predict(session.ref, session.image, top=5)).predictions
    except ConvVizError as exc:
        if kind in ("features", "regression"):
            return ok(f"refused: {str(exc)[:60]}")
        raise
    scores = np.array([p.score for p in found])
    top = found[0]
    detail = f"{top.label} {top.score:.3f}"
    if not np.all(np.isfinite(scores)):
        return wrong("scores not finite")
    if kind == "classification":
        if scores.min() < -TOLERANCE or scores.max() > 1 + TOLERANCE:
            return wrong(f"probabilities outside [0, 1] ({scores.min():.3g}..{scores.max():.3g})")
        if top.index != int(values.argmax()) or abs(top.score - values.max()) > TOLERANCE:
            return wrong(f"top-1 {top.index} {top.score:.3f}; {session.zoo.expected.output} "
                         f"says {int(values.argmax())} {values.max():.3f}")
        return ok(detail)
    if kind == "segmentation":
        shares = _pixel_shares(values)
        if values.shape[-1] == 1:
            if not np.any(np.abs(scores - shares[0]) < TOLERANCE):
                return wrong(f"no score is the foreground share {shares[0]:.3f} "
                             f"(got {', '.join(f'{s:.3f}' for s in scores)})")
            return ok(detail)
        if abs(top.score - shares.max()) > TOLERANCE:
            return wrong(f"top-1 {top.score:.3f}, largest class share {shares.max():.3f}")
        return ok(detail)
    if kind == "features":  # a feature map: its channels' mean activations
        means = values.reshape(-1, values.shape[-1]).mean(axis=0)
        if not all(abs(means[p.index] - p.score) < TOLERANCE for p in found):
            return wrong(f"shows {top.score:.3f} for '{top.label}': not its mean activation")
        return ok(detail)
    flat = values.ravel()  # regression: only the output's own values may be shown
    if not all(np.any(np.abs(flat - score) < TOLERANCE) for score in scores):
        return wrong(f"shows {top.score:.3f} as class '{top.label}': not an output value")
    return ok(detail)


@timed("activations")
def check_activations(session: Session, path: tuple[str, ...] | None) -> Verdict:
    """A spatial layer's channels: finite, not all blank."""
    from convviz_gui.ops.activations import Activations

    if path is None:
        return Verdict("FAIL", "no default layer")
    acts = session.run(Activations(session.ref, session.image, path)).activations
    stats = acts.stats()
    if not np.all(np.isfinite(acts.values)):
        return wrong("values not finite")
    blank = sum(s.blank for s in stats)
    if blank == len(stats):
        return wrong(f"all {blank} channels blank")
    return ok(f"{path[-1]} {list(acts.values.shape)}, {blank} blank")


def filter_size(session: Session) -> int:
    """Pattern size: the model's own input (fixed-size models need it), else 64 px."""
    return session.loaded.input_shape[0] or 64


@timed("filters")
def check_filters(session: Session, path: tuple[str, ...] | None) -> Verdict:
    """Filters 0-3, 10 reference steps each: every one's target must rise."""
    from convviz_gui.engine.featurevis.settings import FilterSettings
    from convviz_gui.ops.filters import Filters

    if path is None:
        return Verdict("FAIL", "no default layer")
    settings = FilterSettings(steps=FILTER_STEPS, size=filter_size(session))
    found = session.run(Filters(session.ref, path, FILTERS, settings)).filters
    start = np.array([found.start_losses[i] for i in FILTERS])
    end = np.array([found.losses[i] for i in FILTERS])
    if not np.all(np.isfinite(end)):
        return wrong("loss not finite")
    # A filter that never moves (a ReLU channel that is 0 for every input near the start)
    # may stay flat if ConvViz says so (``dead``); every other filter must rise, and one at least.
    flat = [i for i, a, b in zip(FILTERS, start, end) if not b > a and i not in found.dead]
    detail = f"{path[-1]}: " + ", ".join(f"{a:.3g}->{b:.3g}" + (" (dead)" if i in found.dead else "")
                                         for i, a, b in zip(FILTERS, start, end))
    if flat or len(found.dead) == len(FILTERS):
        return wrong(f"filters {flat or list(FILTERS)} do not rise ({detail})")
    return ok(detail)


def _map_problem(heatmap: np.ndarray) -> str:
    """Why a heatmap shows nothing ("" when it shows something)."""
    if not np.all(np.isfinite(heatmap)):
        return "map not finite"
    if np.all(heatmap == 0):
        return "map all zero"
    if float(np.ptp(heatmap)) < 1e-6:
        return "map constant"
    return ""


def explain(session: Session, method: str, layer: tuple[str, ...] | None = None) -> Any:
    """The method's ``CamResult`` on the test image (cheap occlusion: 4x4 patches)."""
    from convviz_gui.engine.cam.base import MethodOptions
    from convviz_gui.ops.explain import Explain, ExplainSpec

    side = session.loaded.input_size()[0]
    options = MethodOptions(patch=max(2, side // 4), stride=max(2, side // 4))
    return session.run(Explain(session.ref, session.image,
                               ExplainSpec(method, layer, options=options))).cam


@timed("gradcam")
def check_gradcam(session: Session) -> Verdict:
    """Grad-CAM at the default layer: an acceptable layer, the expected class, a map that
    varies."""
    expected = session.zoo.expected
    cam = explain(session, "gradcam")
    width, height = session.context.workspace.image(session.image).size
    peak = cam.peak_xy(width, height)
    detail = f"{cam.where} {list(cam.heatmap.shape)}, peak {peak}"
    problems = [_map_problem(cam.heatmap)]
    if cam.layer[-1] not in expected.cam_layers:
        problems.insert(0, f"layer = {session.describe_layer(cam.layer)}")
    if expected.kind == "classification":
        values = session.expected_output()[0]
        top = int(values.argmax())
        if cam.class_index != top or abs(cam.score - values[top]) > TOLERANCE:
            problems.append(f"explains class {cam.class_index} (score {cam.score:.3f}); top of "
                            f"{expected.output} is {top} ({values[top]:.3f})")
    problems = [p for p in problems if p]
    return wrong("; ".join(problems)) if problems else ok(detail)


def _check_method(session: Session, method: str) -> Verdict:
    cam = explain(session, method)
    problem = _map_problem(cam.raw if cam.raw is not None else cam.heatmap)
    if problem:
        return wrong(problem)
    if not np.any(cam.heatmap):  # a signed map with only evidence against: said on the figure
        said = cam.zero_map.startswith("The map is zero: every value is negative")
        return ok("only negative values, said so") if said else wrong("heatmap all zero")
    return ok(f"{list(cam.heatmap.shape)}")


@timed("occlusion")
def check_occlusion(session: Session) -> Verdict:
    """Occlusion (a perturbation method): a finite map that varies."""
    return _check_method(session, "occlusion")


@timed("saliency")
def check_saliency(session: Session) -> Verdict:
    """Saliency (a pixel method): a finite map that varies."""
    return _check_method(session, "saliency")
