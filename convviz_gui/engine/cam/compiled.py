"""Methods whose map is one compiled pass: the whole batch goes through it at once."""

from __future__ import annotations

from typing import Any

import numpy as np

from convviz_gui.engine.cam.base import Attribution, Explainer, Steps, batch_size_for


class CompiledExplainer(Explainer):
    """A method built as one compiled function ``(images, read-out weights) -> (raw maps,
    explained scores, probabilities)``; subclasses only build it (``_compiled``)."""

    def _compiled(self) -> Any:
        """The compiled pass (cached per model, layer and score); override me."""
        raise NotImplementedError

    def attribute(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> Attribution:
        import tensorflow as tf

        raw, explained, probabilities = self._compiled()(tf.constant(batch),
                                                         tf.constant(weights[None]))
        return Attribution(raw.numpy()[0], (explained.numpy(), probabilities.numpy()))

    def attribute_many(self, batch: np.ndarray, weights: np.ndarray, steps: Steps) -> list[Any]:
        """One pass per batch of images, each with its own read-out."""
        import tensorflow as tf

        raws: list[Any] = []
        for part in steps.batches(len(batch), batch_size_for(self.loaded, self.options),
                                  self.name):
            raws.extend(self._compiled()(tf.constant(batch[part]), tf.constant(weights[part]))[0]
                        .numpy())
        return raws
