"""LRP-epsilon: every layer by the epsilon rule."""

from __future__ import annotations

from convviz_gui.engine.cam.lrp_base import LRPExplainer
from convviz_gui.engine.cam.lrp_rules import Composite, Rule
from convviz_gui.engine.cam.options import Option


class LRPEpsilon(LRPExplainer):
    """LRP-epsilon (Bach et al. 2015, Eq. 58; Montavon et al. 2019, Eq. 5):
    R_j = sum_k a_j w_jk / (z_k + epsilon sign(z_k)) R_k in every layer. A small epsilon gives
    gradient x input on a ReLU network (noisy, conserving); a larger one absorbs weak and
    contradictory relevance (sparser maps, less of the score explained). The same epsilon
    stabilizes the residual additions."""

    name = "LRP-epsilon"
    key = "lrp-epsilon"
    summary = "LRP with the epsilon rule in every layer (Bach 2015)"
    declared_options = (
        Option("epsilon", "ε", "added to each layer's output before dividing: larger "
               "absorbs weak relevance (sparser map; {special}: 1e-6)", 0.01, minimum=0.0,
               maximum=100.0, step=0.01, special="tiny"),)

    def composite(self) -> Composite:
        epsilon = max(float(self.options.epsilon), 1e-6)
        rule = Rule("epsilon", epsilon)
        return Composite(conv=rule, dense=rule, stabilizer=epsilon)
