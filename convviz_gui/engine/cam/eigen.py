"""Eigen-CAM: the principal component of the feature maps (class-agnostic, no gradient)."""

from __future__ import annotations

import numpy as np

from convviz_gui.engine.cam.base import Attribution, Explainer, Steps
from convviz_gui.engine.cam.perturbation import clean_layer_pass


class EigenCAM(Explainer):
    """Eigen-CAM (Muhammad and Yeasin 2020, Eqs. 4-5): the feature maps as a (h*w, K) matrix
    O = U S V^T; map = O v_1, the projection on the first right singular vector. The same
    map for every class (it does not read the target). The sign of v_1 is arbitrary: it is
    chosen so that the map correlates positively with the summed activation; its negative
    part says nothing about the target, so it is drawn positive only (no ``sign_default``)."""

    name = "Eigen-CAM"
    key = "eigencam"
    summary = "first principal component of the feature maps; class-agnostic (Muhammad 2020)"

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        features, _, clean = clean_layer_pass(self, batch, weights)
        height, width, channels = features.shape
        matrix = features.reshape(-1, channels).astype(np.float64)
        _, _, vt = np.linalg.svd(matrix, full_matrices=False)
        projection = matrix @ vt[0]
        total = matrix.sum(axis=1)
        if np.dot(projection - projection.mean(), total - total.mean()) < 0 or \
                (np.allclose(total, total.mean()) and projection.sum() < 0):
            projection = -projection
        return Attribution(projection.reshape(height, width).astype(np.float32), clean)
