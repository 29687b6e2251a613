"""The sanity check of an explanation method (``Sanity``): cascading model randomization
after Adebayo et al. 2018, "Sanity Checks for Saliency Maps" (NeurIPS), Sec. 3.1.

From the output down, the weighted layers of a COPY of the model are re-initialized with
their own initializers (in blocks when there are many), the image is explained again after
each step, and the absolute map is compared with the original one (Spearman rank
correlation and SSIM). A method whose map depends on what the model learned decorrelates
once the top layers are random; one that does not (an edge detector) stays the same.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from convviz_gui.engine.cam import CamResult
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.ops.base import ImageRef, ModelRef, Request
from convviz_gui.ops.context import OpContext
from convviz_gui.ops.explain import ExplainSpec
from convviz_gui.ops.model import prepared_image, spatial_layer
from convviz_gui.ops.registry import operation, to_json

SPEARMAN_THRESHOLD = 0.5  # passed: below this once the top third of the layers is random


# ----- request and results ----------------------------------------------------------------------
@dataclass(frozen=True)
class Sanity(Request):
    """Cascading randomization of ``model`` for ``spec``'s method, layer (CAMs: the same
    layer path in every randomized copy), class (None: the top prediction of the trained
    model, explained in every copy) and options; ``seed`` draws the new weights. Long:
    progress per step, cancellable."""

    model: ModelRef
    image: ImageRef
    spec: ExplainSpec = ExplainSpec()
    seed: int = 0


@dataclass(frozen=True)
class SanityStep:
    """The map after one more step of cascading randomization, compared with the original."""

    layer: str  # the layer (or block, or "first … last" layers) randomized at this step
    randomized: int  # weighted layers random so far, counted from the output
    spearman: float  # rank correlation of the absolute maps
    ssim: float  # structural similarity of the absolute maps, each scaled to [0, 1]
    cam: CamResult


@dataclass(frozen=True)
class SanityResult:
    """A ``Sanity`` check: the original map, every step, and the verdict read at
    ``verdict_step`` (the first step with a third of the weighted layers random)."""

    model_name: str
    image_name: str
    image_rgb: np.ndarray  # display copy
    image_size: tuple[int, int]  # original (width, height)
    compared_size: tuple[int, int]  # (height, width) the maps are compared at
    original: CamResult
    steps: tuple[SanityStep, ...]
    weighted_layers: int
    grouped: bool  # several layers per step (a big model)
    verdict_step: int
    passed: bool
    verdict: str
    seconds: float = 0.0
    notes: tuple[str, ...] = ()


# ----- operation --------------------------------------------------------------------------------
@operation(Sanity, long=True)
def sanity_check(request: Sanity, context: OpContext) -> SanityResult:
    """Explain with the trained model, then after each cascading randomization step of a
    copy of it (never the user's model); compare each map with the original."""
    from convviz_gui.engine.cam import Progress, make_cam, make_target, resolve_class
    from convviz_gui.engine.cam import predict as top_k
    from convviz_gui.engine.cam.base import ExplanationCancelled
    from convviz_gui.engine.randomization import (
        cascade_steps,
        map_similarity,
        randomizable_copy,
        randomize_layers,
        top_third_step,
        weighted_layers,
    )

    started = time.perf_counter()
    spec = request.spec
    loaded, image, batch = prepared_image(context, request.model, request.image, spec.preset)
    layer = spatial_layer(loaded, spec.layer).path if spec.layer else None
    predictions = top_k(loaded, batch, loaded.class_count)
    kind = "regression" if loaded.output_kind == "regression" else "class"  # as ``explain``
    target = make_target(kind, resolve_class(loaded, spec.class_, predictions))
    copy = randomizable_copy(loaded)
    layers = weighted_layers(copy)
    if not layers:
        raise ConvVizError(f"{loaded.name} has no weighted layers to randomize.")
    plan = cascade_steps(layers)
    total = (len(plan) + 1) * 100

    def explain(stage: str, done: int) -> CamResult:
        def report(update: Any) -> None:
            part = getattr(update, "fraction", 0.0)
            context.progress(Progress(done * 100 + round(part * 100), total, stage))

        if context.cancelled:
            raise ExplanationCancelled("Cancelled.")
        report(None)
        explainer = make_cam(copy, layer, spec.method, spec.score, spec.options, spec.preset)
        return explainer.explain(batch, target, report, lambda: context.cancelled)

    original = explain("Explaining with the trained model", 0)
    layer = original.layer or None  # CAMs: the same layer path in every randomized copy
    size = copy.input_size()
    steps, fallbacks, randomized = [], [], 0
    for index, step in enumerate(plan):
        if context.cancelled:
            raise ExplanationCancelled("Cancelled.")
        fallbacks += randomize_layers(copy, step.paths, request.seed + index)
        randomized += len(step.paths)
        cam = explain(f"Randomized down to {step.label}", index + 1)
        assert original.raw is not None and cam.raw is not None  # every method sets it
        spearman, ssim = map_similarity(original.raw, cam.raw, size)
        steps.append(SanityStep(step.label, randomized, spearman, ssim, cam))
    context.progress(Progress(total, total, "Sanity check done"))
    decisive = top_third_step(plan, len(layers))
    passed = steps[decisive].spearman < SPEARMAN_THRESHOLD
    notes = [f"{len(layers)} weighted layers are randomized in {len(plan)} steps (blocks of "
             "consecutive layers, the top one alone), as the paper does for Inception v3."
             ] if len(plan) < len(layers) else []
    if fallbacks:
        notes.append(f"No initializer of their own for {', '.join(fallbacks[:4])}"
                     f"{' …' if len(fallbacks) > 4 else ''}: drawn from Glorot uniform "
                     "(1-D ones zero).")
    return SanityResult(
        loaded.name, image.name, image.rgb, image.size, size, original, tuple(steps),
        len(layers), len(plan) < len(layers), decisive, passed,
        verdict_sentence(original.method, steps[decisive], len(layers), passed),
        time.perf_counter() - started, tuple(notes))


def verdict_sentence(method: str, step: SanityStep, total: int, passed: bool) -> str:
    """One sentence: passed or failed, the threshold, and the correlation it is read from."""
    when = (f"with the top {step.randomized} of {total} weighted layers randomized (at least a "
            f"third, down to {step.layer}), its map's Spearman correlation with the original")
    if passed:
        return (f"{method} passed: {when} fell to {step.spearman:.2f}, below the threshold "
                f"{SPEARMAN_THRESHOLD}: the map depends on what the model learned.")
    return (f"{method} failed: {when} is still {step.spearman:.2f}, not below the threshold "
            f"{SPEARMAN_THRESHOLD}: the map changes too little to show that it depends on what "
            "the model learned.")


# ----- JSON -------------------------------------------------------------------------------------
@to_json.register(SanityResult)
def _sanity_json(result: SanityResult) -> dict[str, Any]:
    """``{"model", "image", "method", "class", "steps": [{"layer", "spearman", "ssim"}],
    "passed", "verdict", "seconds", ...}``."""
    original = result.original
    return {
        "model": result.model_name, "image": result.image_name, "method": original.method,
        "class": original.label, "class_index": original.class_index, "layer": original.where,
        "steps": [{"layer": step.layer, "randomized": step.randomized,
                   "spearman": round(step.spearman, 4), "ssim": round(step.ssim, 4)}
                  for step in result.steps],
        "weighted_layers": result.weighted_layers, "grouped": result.grouped,
        "verdict_step": result.verdict_step, "threshold": SPEARMAN_THRESHOLD,
        "passed": result.passed, "verdict": result.verdict,
        "seconds": round(result.seconds, 3), "notes": list(result.notes),
    }
