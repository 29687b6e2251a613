"""Occlusion: the score drop when a patch of the image is hidden (no gradients, batched)."""

from __future__ import annotations

import numpy as np

from convviz_gui.engine.cam.base import Attribution, Explainer, Steps, batch_size_for
from convviz_gui.engine.cam.baselines import black
from convviz_gui.engine.cam.options import Option
from convviz_gui.engine.cam.perturbation import clean_pass
from convviz_gui.engine.cam.scoring import scores_of


class Occlusion(Explainer):
    """Occlusion (Zeiler and Fergus 2014, Sec. 4.2): a square patch, replaced by the black
    baseline, slides over the image; each pixel gets the mean score drop of the patches that
    cover it (input resolution). Patch: an eighth of the input, stride half the patch."""

    name = "Occlusion"
    key = "occlusion"
    uses_layer = False
    resolution = "input"
    long = True
    summary = "a black patch slides over the image; the score drop it causes (Zeiler 2014)"
    sign_default = "positive"  # as the paper draws it; "signed": where hiding raises the score
    declared_options = (
        Option("patch", "Patch", "side of the square patch in input pixels ({special}: an "
               "eighth of the input)", 0, minimum=0, maximum=1024, special="auto"),
        Option("stride", "Stride", "pixels between two patch positions ({special}: half the "
               "patch)", 0, minimum=0, maximum=1024, special="auto"),
    )

    def patch_and_stride(self, height: int, width: int) -> tuple[int, int]:
        """Patch side and stride in input pixels (options, else from the input size)."""
        patch = self.options.patch or max(1, round(min(height, width) / 8))
        patch = min(patch, height, width)
        return patch, self.options.stride or max(1, patch // 2)

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        height, width = batch.shape[1:3]
        patch, stride = self.patch_and_stride(height, width)
        ys = sorted({*range(0, height - patch + 1, stride), height - patch})
        xs = sorted({*range(0, width - patch + 1, stride), width - patch})
        corners = [(y, x) for y in ys for x in xs]
        background = black(self.loaded, batch, self.preset)[0]
        size = batch_size_for(self.loaded, self.options)
        _, clean_score, clean = clean_pass(self, batch, weights)
        drop = np.zeros((height, width), np.float32)
        count = np.zeros((height, width), np.float32)
        for part in steps.batches(len(corners), size, f"{self.name}: occluded images"):
            images = np.repeat(batch, part.stop - part.start, axis=0)
            for image, (y, x) in zip(images, corners[part]):
                image[y:y + patch, x:x + patch] = background[y:y + patch, x:x + patch]
            scores, _ = scores_of(self.loaded, self.score, images, weights, len(images), Steps(), "")
            for score, (y, x) in zip(scores, corners[part]):
                drop[y:y + patch, x:x + patch] += clean_score - score
                count[y:y + patch, x:x + patch] += 1
        return Attribution(drop / np.maximum(count, 1), clean)
