"""The explainer base: layer and score resolution, targets in, a ``CamResult`` out.

Every method is one small subclass that only says how its raw map is computed
(``attribute``); this base validates the request, builds the target's read-out weights,
reports progress and cancel for batched methods, and normalizes the map.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from PIL import Image

from convviz_gui.engine.cam.options import SIGN, MethodOptions, Option
from convviz_gui.engine.cam.targets import ClassScore, Target
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import LayerPath, find_layer
from convviz_gui.engine.normalize import unit_range
from convviz_gui.engine.precision import active, for_method

if TYPE_CHECKING:
    from convviz_gui.engine.models import LoadedModel


@dataclass(frozen=True)
class Prediction:
    """One class of the model's answer."""

    index: int
    label: str
    score: float
    extra: tuple[tuple[str, float], ...] = ()  # named values shown beside the score

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready prediction."""
        return {"index": self.index, "label": self.label, "score": round(self.score, 6),
                **{name: round(value, 6) for name, value in self.extra}}

    def describe_extra(self) -> str:
        """The extra values in words, e.g. ``mean probability 0.31``."""
        return ", ".join(f"{name.replace('_', ' ')} {value:.4g}" for name, value in self.extra)


def resize_map(values: np.ndarray, width: int, height: int) -> np.ndarray:
    """A 2-D float map resized (bilinear, Pillow) to ``width`` x ``height``."""
    resized = Image.fromarray(np.asarray(values, np.float32), mode="F").resize(
        (width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


@dataclass(frozen=True)
class CamResult:
    """A heatmap in [0, 1] (at the layer's or the input's resolution), with what it explains.

    ``score`` is the model's output for the class (its probability after a softmax or
    sigmoid); ``explained`` is the score the map explains (the logit by default, see
    ``scoring``); ``raw`` is the method's map as its paper defines it (with the CAMs' ReLU;
    signed for LRP, Integrated Gradients, Occlusion, RISE and Eigen-CAM), before the division
    by its maximum that gives ``heatmap``. ``sign`` says how it is drawn: ``positive`` (the
    heatmap) or ``signed`` (``raw`` around zero: for the target and against it).
    """

    heatmap: np.ndarray  # (h, w) float32
    class_index: int
    label: str
    score: float
    layer: LayerPath  # () for pixel methods that use no layer
    method: str
    raw: np.ndarray | None = None  # the unnormalized map (signed for some pixel methods)
    resolution: str = "layer"  # "layer" or "input"
    score_kind: str = "output"  # "logit", "probability" or "output" (no activation to bypass)
    explained: float | None = None
    target: str = ""  # what was explained, in words
    precision: str = ""  # what the model's passes ran in (``engine.precision``), in words
    relevance_sum: float | None = None  # the map's total, for methods that conserve the score
    sign: str = "positive"  # "positive" or "signed" (``Explainer.sign_default``, option ``sign``)

    @property
    def where(self) -> str:
        """The explained layer's path, or "input" for pixel methods without one."""
        return "/".join(self.layer) if self.layer else "input"

    @property
    def zero_map(self) -> str:
        """Why the drawn map is zero everywhere, in one sentence; "" when it is not."""
        raw = self.raw if self.raw is not None else self.heatmap
        if np.any(self.heatmap > 0) or (self.signed and np.any(raw != 0)):
            return ""
        where = "this layer" if self.layer else "the input"
        if np.any(raw < 0):
            return ("The map is zero: every value is negative (evidence against the target), "
                    "and only the positive part is drawn; Sign: signed shows it.")
        if self.score_kind == "probability" and not 1e-6 < self.score < 1 - 1e-6:
            return (f"The map is zero: the probability is saturated at {self.score:.3g}, so its "
                    f"gradient at {where} vanishes; explain the logit instead.")
        return (f"The map is zero: the gradient of the score is zero at {where}, or its "
                "features weigh against the target everywhere (only the positive part is drawn).")

    @property
    def signed(self) -> bool:
        """True when the map is drawn with its sign (and has one: ``raw`` is kept)."""
        return self.sign == "signed" and self.raw is not None

    def upsampled(self, width: int, height: int) -> np.ndarray:
        """The heatmap resized (bilinear) to an image size; all-zero stays all-zero."""
        return np.clip(resize_map(self.heatmap, width, height), 0.0, 1.0)

    def peak_xy(self, width: int, height: int) -> tuple[int, int]:
        """(x, y) in an image of that size of the centre of the heatmap's hottest cell:
        where its bilinear upsampling peaks (on a border cell, the upsampled map is flat from
        the cell's centre to the image's edge, whose first pixel is no peak)."""
        rows, cols = self.heatmap.shape
        y, x = np.unravel_index(int(np.argmax(self.heatmap)), self.heatmap.shape)
        return (min(width - 1, int((x + 0.5) * width / cols)),
                min(height - 1, int((y + 0.5) * height / rows)))

    def to_dict(self, image_size: tuple[int, int]) -> dict[str, Any]:
        """JSON-ready summary; ``peak_xy`` in the coordinates of ``image_size`` (w, h);
        ``zero_map`` says whether the map is zero everywhere (then ``zero_map_reason`` why)."""
        zero = self.zero_map
        return {
            "class_index": self.class_index,
            "label": self.label,
            "score": round(self.score, 6),
            "layer": self.where,
            "method": self.method,
            "heatmap_shape": list(self.heatmap.shape),
            "resolution": self.resolution,
            "peak_xy": list(self.peak_xy(*image_size)),
            "score_kind": self.score_kind,
            "explained_score": None if self.explained is None else round(self.explained, 6),
            **({} if self.relevance_sum is None else
               {"relevance_sum": round(self.relevance_sum, 6)}),
            "target": self.target,
            "sign": self.sign,
            "zero_map": bool(zero),
            **({"zero_map_reason": zero} if zero else {}),
            **({"precision": self.precision} if self.precision else {}),
        }


@dataclass(frozen=True)
class Progress:
    """How far a batched explanation is (sent between batches)."""

    done: int
    total: int
    stage: str

    @property
    def fraction(self) -> float:
        """Done share in [0, 1]."""
        return self.done / self.total if self.total else 1.0

    def __str__(self) -> str:
        return f"{self.stage}: {self.done}/{self.total}"


class ExplanationCancelled(ConvVizError):
    """The user cancelled a batched explanation (nothing partial is worth showing)."""


class Steps:
    """Batches of a long computation, with progress between them and cancel checks."""

    def __init__(self, progress: Callable[[Any], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> None:
        self._progress = progress
        self._cancelled = cancelled

    def check(self) -> None:
        """Raise ``ExplanationCancelled`` if the user cancelled."""
        if self._cancelled is not None and self._cancelled():
            raise ExplanationCancelled("Cancelled.")

    def batches(self, total: int, size: int, stage: str) -> Iterator[slice]:
        """Slices of ``range(total)`` of ``size``; progress after each, cancel before each."""
        size = max(1, size)
        for start in range(0, total, size):
            self.check()
            yield slice(start, min(total, start + size))
            if self._progress is not None:
                self._progress(Progress(min(total, start + size), total, stage))


def batch_size_for(loaded: LoadedModel, options: MethodOptions) -> int:
    """Images per batch: the option, else 32 for small inputs down to 8 for 299 px RGB."""
    if options.batch_size > 0:
        return options.batch_size
    height, width = loaded.input_size()
    return int(np.clip(2_000_000 // (height * width * loaded.channels), 8, 32))


@dataclass(frozen=True)
class Attribution:
    """A method's raw map, and the clean image's (explained, post-activation) outputs when
    the method computed them on the way (saves a forward pass)."""

    raw: Any
    clean: tuple[Any, Any] | None = None


class Explainer:
    """One explanation method. Subclasses set the class attributes and ``attribute``; a
    subclass that sets its own ``key`` is registered as a method when it is defined.

    ``name`` is the display name, ``key`` the CLI name; ``uses_layer`` says whether the
    method reads a layer's feature maps; ``resolution`` whether its map has the layer's
    or the input's resolution; ``long`` whether it runs batches with progress and cancel;
    ``declared_options`` its own options (CLI flags and window widgets are made from them);
    ``reduced_precision_ok`` whether ``auto`` may run it in bfloat16/float16;
    ``sign_default`` how its map is drawn when its sign means for or against the target
    (``positive`` or ``signed``: the ``sign`` option is offered, ``auto`` is this), "" when
    it never does (a ReLU'd, absolute or class-agnostic map: drawn positive only).
    """

    name: ClassVar[str] = "base"
    key: ClassVar[str] = "base"
    uses_layer: ClassVar[bool] = True
    resolution: ClassVar[str] = "layer"
    long: ClassVar[bool] = False
    summary: ClassVar[str] = ""  # one line for tooltips
    declared_options: ClassVar[tuple[Option, ...]] = ()
    # False: its map does not keep its answer in bfloat16/float16, so ``auto`` runs it in
    # float32 (``engine.precision.for_method``; tests/engine/test_precision.py measures it).
    reduced_precision_ok: ClassVar[bool] = True
    float32_only: ClassVar[str] = ""  # why it computes in float32 whatever is asked, or ""
    reports_relevance: ClassVar[bool] = False  # its map's sum is reported (LRP: conserved)
    sign_default: ClassVar[str] = ""  # "", "positive" or "signed"
    option_fields: ClassVar[tuple[str, ...]] = ()  # the ``MethodOptions`` it reads (derived)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.sign_default not in ("", "positive", "signed"):
            raise ValueError(f"{cls.__qualname__}.sign_default must be '', 'positive' or "
                             f"'signed', not {cls.sign_default!r}.")
        cls.option_fields = (tuple(option.name for option in cls.offered_options())
                             + (("batch_size",) if cls.long else ()))
        if "key" in cls.__dict__:
            from convviz_gui.engine.cam.registry import register

            register(cls)

    def __init__(self, loaded: LoadedModel, layer: LayerPath | None = None, score: str = "logit",
                 options: MethodOptions | None = None, preset: str | None = None) -> None:
        from convviz_gui.engine.cam.scoring import check_score

        self.loaded = loaded
        self.score = check_score(score)
        self.options = options or MethodOptions()
        self.preset = preset or loaded.preset
        self.layer: LayerPath = self._resolve_layer(layer) if self.uses_layer else ()

    @classmethod
    def offered_options(cls) -> tuple[Option, ...]:
        """Its declared options, and ``sign`` when its map's sign means something."""
        return cls.declared_options + ((SIGN,) if cls.sign_default else ())

    @classmethod
    def drawn_sign(cls, options: MethodOptions) -> str:
        """``positive`` or ``signed``: the ``sign`` option, ``auto`` being ``sign_default``;
        always ``positive`` for a method whose sign means nothing."""
        chosen = getattr(options, "sign", "auto")
        if not cls.sign_default:
            return "positive"
        return cls.sign_default if chosen == "auto" else chosen

    def _resolve_layer(self, layer: LayerPath | None) -> LayerPath:
        if layer is None:
            default = self.loaded.default_cam_layer()
            if default is None:
                raise ConvVizError(f"{self.loaded.name} has no layer with spatial output to explain.")
            layer = default.path
        info = find_layer(self.loaded.layer_tree, "/".join(layer))
        if info is None or not info.spatial:
            raise ConvVizError(f"{'/'.join(layer)} has no spatial output; choose a conv layer.")
        if tuple(info.path) not in self.loaded.output_ancestors:
            raise ConvVizError(
                f"{info.display_path} does not feed the explained output "
                f"{self.loaded.output_layer_name}: its map cannot explain it. Choose a layer on "
                "that output's path, or another output.")
        return tuple(info.path)

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        """The raw map (h, w) for the target read-out ``weights``; override me."""
        raise NotImplementedError

    def attribute_many(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> list[Any]:
        """Raw maps of every image of ``batch`` for its row of ``weights`` (one image at a
        time here; methods that can attribute a whole batch in one pass override this)."""
        raws = []
        for index in range(len(batch)):
            steps.check()
            raws.append(self.attribute(batch[index:index + 1], weights[index], steps).raw)
        return raws

    def explain(self, batch: np.ndarray, target: Target | None = None,
                progress: Callable[[Any], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> CamResult:
        """Heatmap of ``target`` (default: the top class) on the first image of ``batch``."""
        with for_method(self.reduced_precision_ok, self.float32_only):
            return self._explain(batch, target, progress, cancelled)

    def _explain(self, batch: np.ndarray, target: Target | None,
                 progress: Callable[[Any], None] | None,
                 cancelled: Callable[[], bool] | None) -> CamResult:
        from convviz_gui.engine.cam.scoring import explained_outputs

        batch = np.asarray(batch[:1], np.float32)
        clean = None
        if target is None or target.needs_output(self.loaded):
            clean = explained_outputs(self.loaded, batch, self.score)
        if target is None:
            assert clean is not None  # computed above: no target needs the output
            target = ClassScore(int(np.argmax(clean[1].reshape(-1))))
        target.check(self.loaded)
        weights = target.weights(self.loaded, None if clean is None else clean[1][0])
        found = self.attribute(batch, weights, Steps(progress, cancelled))
        clean = found.clean or clean or explained_outputs(self.loaded, batch, self.score)
        return self._result(found.raw, target, weights, *clean)

    def explain_many(self, batch: np.ndarray, targets: Sequence[Target | None],
                     clean: tuple[np.ndarray, np.ndarray] | None = None,
                     progress: Callable[[Any], None] | None = None,
                     cancelled: Callable[[], bool] | None = None) -> list[CamResult]:
        """One heatmap per image of ``batch``, for the target of the same index (``None``:
        that image's top class). The gradient CAMs attribute the whole batch in one
        forward/backward pass; the other methods go image by image.

        Args:
            clean: the batch's ``explained_outputs`` when the caller has them already.
        """
        with for_method(self.reduced_precision_ok, self.float32_only):
            return self._explain_many(batch, targets, clean, progress, cancelled)

    def _explain_many(self, batch: np.ndarray, targets: Sequence[Target | None],
                      clean: tuple[np.ndarray, np.ndarray] | None,
                      progress: Callable[[Any], None] | None,
                      cancelled: Callable[[], bool] | None) -> list[CamResult]:
        from convviz_gui.engine.cam.scoring import explained_outputs

        batch = np.asarray(batch, np.float32)
        explained, probabilities = clean or explained_outputs(self.loaded, batch, self.score)
        chosen = [target or ClassScore(int(np.argmax(probabilities[index].reshape(-1))))
                  for index, target in enumerate(targets)]
        for target in chosen:
            target.check(self.loaded)
        weights = np.stack([target.weights(self.loaded, probabilities[index])
                            for index, target in enumerate(chosen)])
        raws = self.attribute_many(batch, weights, Steps(progress, cancelled))
        return [self._result(raw, target, weights[index], explained[index:index + 1],
                             probabilities[index:index + 1])
                for index, (raw, target) in enumerate(zip(raws, chosen))]

    def _result(self, raw: Any, target: Target, weights: np.ndarray, explained: Any,
                probabilities: Any) -> CamResult:
        """The ``CamResult`` of one image from its raw map and clean (1, ...) outputs."""
        explained, probabilities = np.asarray(explained), np.asarray(probabilities)
        if not (np.all(np.isfinite(explained)) and np.all(np.isfinite(probabilities))):
            raise ConvVizError("The model produced NaN or infinite outputs for this image.")
        raw = np.nan_to_num(np.asarray(raw, np.float32))
        return CamResult(
            heatmap=unit_range(np.maximum(raw, 0.0)), class_index=target.class_index,
            label=self.loaded.labels[target.class_index],
            score=float(np.sum(probabilities[0] * np.abs(weights))), layer=self.layer,
            method=self.name, raw=raw, resolution=self.resolution,
            score_kind=self.score_kind, explained=float(np.sum(explained[0] * weights)),
            target=target.describe(self.loaded.labels), precision=active().describe(),
            relevance_sum=float(raw.sum(dtype=np.float64)) if self.reports_relevance else None,
            sign=self.drawn_sign(self.options),
        )

    @property
    def score_kind(self) -> str:
        """What is explained: ``logit``, ``probability`` or ``output`` (no activation)."""
        from convviz_gui.engine.cam.scoring import score_kind

        return score_kind(self.loaded, self.score)

    def __call__(self, batch: np.ndarray, class_index: int) -> CamResult:
        """Heatmap for ``class_index`` on the first image of ``batch``."""
        return self.explain(batch, ClassScore(class_index))


def predict(loaded: LoadedModel, batch: np.ndarray, top: int = 5) -> list[Prediction]:
    """Top-k classes; segmentation models rank classes by their share of pixels."""
    from convviz_gui.engine.taps import compiled_taps

    outputs = compiled_taps(loaded, [], with_outputs=True)(np.asarray(batch, np.float32))[0]
    return ranked(loaded, outputs.numpy()[0], top)


def ranked(loaded: LoadedModel, values: np.ndarray, top: int = 5) -> list[Prediction]:
    """Top-k classes of one image's output ``values`` (probabilities, or per-pixel ones)."""
    if not np.all(np.isfinite(values)):
        raise ConvVizError("The model produced NaN or infinite outputs for this image.")
    kind = loaded.output_kind
    if kind == "segmentation" and values.shape[-1] == 1:  # one sigmoid channel: a binary mask
        positive = float(np.mean(values[..., 0] > 0.5))
        return [Prediction(0, loaded.labels[0], positive,
                           (("positive_share", positive), ("mean_probability", float(values.mean()))))]
    if kind == "segmentation":
        scores = np.bincount(mask_of(values).ravel(), minlength=values.shape[-1]) / values[..., 0].size
    elif kind == "features":  # a backbone: its channels by mean activation
        scores = values.reshape(-1, values.shape[-1]).mean(axis=0)
    else:
        scores = values.reshape(-1)
    if kind == "regression":  # raw values in their own order: ranking them means nothing
        order = np.arange(min(len(scores), max(1, top)))
    else:
        order = np.argsort(-scores, kind="stable")[: max(1, top)]
    return [Prediction(int(i), loaded.labels[int(i)], float(scores[i])) for i in order]


def mask_of(values: np.ndarray) -> np.ndarray:
    """The predicted class of every pixel of a per-pixel output (H, W, C): the argmax, or
    above one half for a single sigmoid channel (1 = positive)."""
    if values.shape[-1] == 1:
        return (values[..., 0] > 0.5).astype(np.int64)
    return values.argmax(axis=-1)


def predicted_mask(loaded: LoadedModel, batch: np.ndarray) -> np.ndarray:
    """Per-pixel predicted class map of a segmentation model, (H, W) int."""
    from convviz_gui.engine.taps import compiled_taps

    outputs = compiled_taps(loaded, [], with_outputs=True)(np.asarray(batch, np.float32))[0]
    return mask_of(outputs.numpy()[0])


def resolve_class(loaded: LoadedModel, value: str | int | None, predictions: list[Prediction]) -> int:
    """Class index from an index, a label (case-insensitive) or None (top prediction)."""
    if value is None or value == "":
        return predictions[0].index
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    lowered = [label.lower() for label in loaded.labels]
    if text.lower() in lowered:
        return lowered.index(text.lower())
    raise ConvVizError(f"'{text}' is not a class of this model (e.g. {loaded.labels[0]}).")
