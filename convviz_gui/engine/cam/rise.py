"""RISE: the score of the image seen through many random masks (no gradients, batched)."""

from __future__ import annotations

from typing import Any

import numpy as np

from convviz_gui.engine.cam.base import Attribution, Explainer, Steps, batch_size_for
from convviz_gui.engine.cam.baselines import black
from convviz_gui.engine.cam.options import Option
from convviz_gui.engine.cam.scoring import input_spec, read_out, score_graph, weights_spec
from convviz_gui.engine.model_cache import cached

SEED = 0  # the masks' random seed: the same image, model and options give the same map
PAPER_MASKS, PAPER_SIDE, PAPER_GRID = 4000, 224, 7  # the paper's N for 224 px and its s


class Rise(Explainer):
    """RISE (Petsiuk et al. 2018, Sec. 3.2 and Eq. 6): N random binary grids (each cell kept
    with probability p) are upsampled bilinearly to (cells + 1) x cell pixels and cropped to
    the input at a random shift in [0, cell); the image is scored through each mask M_i
    (hidden pixels black, as I o M in pixel values), and the map is
    S = 1 / (N p) sum_i f(I o M_i) M_i.

    Differs from the paper: the mean score over the masks is subtracted from each score
    first, so that S = E[f | pixel kept] - E[f] instead of E[f | pixel kept]. The constant
    removed is the one the paper's figures remove by drawing the map from its minimum to
    its maximum; with a logit (not positive, unlike the paper's probabilities) it would
    otherwise shift the whole map. The map is signed (below zero where keeping a pixel
    lowers the score). The masks are drawn from a fixed seed (``SEED``), batch by batch
    (never all N at full size at once): the map does not depend on the batch size.
    """

    name = "RISE"
    key = "rise"
    uses_layer = False
    resolution = "input"
    long = True
    summary = "the score of the image seen through random masks, summed (Petsiuk 2018)"
    sign_default = "positive"  # as the paper draws it; "signed": pixels that lower the score
    declared_options = (
        Option("masks", "Masks", "random masks scored ({special}: 4000 for a 224 px input, "
               "fewer for a smaller one, at least 500)", 0, minimum=0, maximum=100_000,
               special="auto"),
        Option("cell", "Cell", "side of a mask's grid cell in input pixels ({special}: a "
               "seventh of the input, the paper's 7x7 grid)", 0, minimum=0, maximum=1024,
               special="auto"),
        Option("p", "Keep", "probability that a grid cell is kept (shown)", 0.5,
               minimum=0.05, maximum=0.95, step=0.05),
    )

    def mask_count(self, height: int, width: int) -> int:
        """N: the option, else 4000 for a 224 px input, scaled by the side for a smaller
        one (to the hundred, at least 500)."""
        if self.options.masks:
            return int(self.options.masks)
        side = float(np.sqrt(height * width))
        return max(500, int(round(PAPER_MASKS * min(1.0, side / PAPER_SIDE), -2)))

    def cell_size(self, height: int, width: int) -> tuple[int, int]:
        """(cell height, cell width) in input pixels: the option, else a seventh of each side."""
        if self.options.cell:
            return min(self.options.cell, height), min(self.options.cell, width)
        return -(-height // PAPER_GRID), -(-width // PAPER_GRID)

    def _masked_scores(self) -> Any:
        """Compiled (image, baseline, grids, row and column interpolations, weights) ->
        (scores, sum of score x mask, sum of masks) of one batch of masks."""

        def build() -> Any:
            import tensorflow as tf

            graph, _ = score_graph(self.loaded, (), self.score)
            matrices = tf.TensorSpec((None, None, None))

            @tf.function(input_signature=[input_spec(self.loaded), input_spec(self.loaded),
                                          matrices, matrices, matrices, weights_spec(self.loaded)])
            def function(image: Any, baseline: Any, grids: Any, rows: Any, cols: Any,
                         weights: Any) -> Any:
                masks = tf.einsum("bhi,bij,bwj->bhw", rows, grids, cols)  # upsampled, cropped
                explained = graph(baseline + masks[..., None] * (image - baseline), training=False)
                explained = explained[0] if isinstance(explained, (list, tuple)) else explained
                scores = read_out(explained, weights)
                return scores, tf.einsum("b,bhw->hw", scores, masks), tf.reduce_sum(masks, 0)

            return function.get_concrete_function()

        return cached(self.loaded, ("rise", self.score), build)

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        import tensorflow as tf

        height, width = batch.shape[1:3]
        count, keep = self.mask_count(height, width), float(self.options.p)
        (cell_y, cell_x) = self.cell_size(height, width)
        grid = (-(-height // cell_y), -(-width // cell_x))
        # Bilinear upsampling is separable: a grid G upsampled is Ry G Rx^T, each R being
        # the identity upsampled along one axis; a random shift crops rows of Ry and Rx.
        along_y = _upsampling(grid[0], (grid[0] + 1) * cell_y)
        along_x = _upsampling(grid[1], (grid[1] + 1) * cell_x)
        grid_rng, shift_rng = (np.random.default_rng(seed)
                               for seed in np.random.SeedSequence(SEED).spawn(2))
        function = self._masked_scores()
        image = tf.constant(batch)
        baseline = tf.constant(black(self.loaded, batch, self.preset))
        read = tf.constant(weights)
        scores, weighted, covered = [], np.zeros((height, width)), np.zeros((height, width))
        for part in steps.batches(count, batch_size_for(self.loaded, self.options),
                                  f"{self.name}: masked images"):
            size = part.stop - part.start
            grids = (grid_rng.random((size, *grid)) < keep).astype(np.float32)
            # Uniform draws only: the streams are the same whatever the batch size.
            shifts = (shift_rng.random((size, 2)) * (cell_y, cell_x)).astype(int)
            shift_y = shifts[:, :1] + np.arange(height)
            shift_x = shifts[:, 1:] + np.arange(width)
            found, score_sum, mask_sum = function(image, baseline, tf.constant(grids),
                                                  tf.constant(along_y[shift_y]),
                                                  tf.constant(along_x[shift_x]), read)
            scores.append(found.numpy())
            weighted += score_sum.numpy()
            covered += mask_sum.numpy()
        mean = float(np.concatenate(scores).mean())
        return Attribution((weighted - mean * covered) / (count * keep))


def _upsampling(cells: int, pixels: int) -> np.ndarray:
    """(pixels, cells): the bilinear upsampling (TensorFlow's, half-pixel centres) of
    ``cells`` values to ``pixels`` as a matrix."""
    import tensorflow as tf

    identity = np.eye(cells, dtype=np.float32)[:, :, None]  # column j: the j-th unit vector
    return tf.image.resize(identity, (pixels, cells), method="bilinear").numpy()[:, :, 0]
