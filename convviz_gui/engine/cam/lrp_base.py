"""What every LRP method shares: one compiled pass from the input to the relevance map.

A method only says which rule each layer gets (``composite``); the walk
(``lrp_walk.RelevanceWalk``) re-runs the model with those rules, and the gradient of the
target's read-out of its (true) output with respect to the input is the relevance, summed
over colour channels. The explained score is the logit, as for every method: the output
layer's softmax/sigmoid is bypassed (``scoring``), and the relevance starts as the
target's read-out of the logits, so the map sums to the explained score when nothing is
absorbed (no biases, a tiny epsilon).
"""

from __future__ import annotations

from typing import Any

from convviz_gui.engine.cam.compiled import CompiledExplainer
from convviz_gui.engine.cam.lrp_rules import Composite
from convviz_gui.engine.cam.scoring import check_score, input_spec, output_head, read_out, weights_spec
from convviz_gui.engine.model_cache import cached


class LRPExplainer(CompiledExplainer):
    """Skeleton of the LRP methods (Bach et al. 2015): subclasses give the composite."""

    uses_layer = False
    resolution = "input"
    reports_relevance = True
    sign_default = "signed"  # negative relevance: what speaks against the target

    def composite(self) -> Composite:
        """The rule of each layer; override me."""
        raise NotImplementedError

    def _compiled(self) -> Any:
        composite = self.composite()

        def build() -> Any:
            import tensorflow as tf

            from convviz_gui.engine.cam.lrp_walk import RelevanceWalk

            model = self.loaded.keras_model
            head = output_head(self.loaded) if check_score(self.score) == "logit" else None
            walk = RelevanceWalk(model, composite, None if head is None else
                                 (head.path, head.separate))
            finish = head.finisher(model) if head is not None else (lambda outputs: outputs)

            @tf.function(autograph=False, input_signature=[input_spec(self.loaded),
                                          weights_spec(self.loaded, per_image=True)])
            def function(batch: Any, weights: Any) -> Any:
                # Only the input is watched: the (modified) kernels are constants of the pass.
                with tf.GradientTape(watch_accessed_variables=False) as tape:
                    tape.watch(batch)
                    explained = walk(batch)
                    scores = read_out(explained, weights)
                relevance = tape.gradient(scores, batch)
                return (tf.reduce_sum(relevance, axis=-1), explained,
                        tf.cast(finish(explained), tf.float32))

            return function.get_concrete_function()

        return cached(self.loaded, ("lrp", composite, self.score), build)
