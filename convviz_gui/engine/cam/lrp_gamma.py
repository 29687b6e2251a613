"""LRP-gamma: positive contributions favoured by gamma."""

from __future__ import annotations

from convviz_gui.engine.cam.lrp_base import LRPExplainer
from convviz_gui.engine.cam.lrp_rules import Composite, Rule
from convviz_gui.engine.cam.options import Option


class LRPGamma(LRPExplainer):
    """LRP-gamma (Montavon et al. 2019, Eq. 6) in every layer: R_j = sum_k a_j (w_jk + gamma
    w_jk^+) / sum_j a_j (w_jk + gamma w_jk^+) R_k. As zennit's ``Gamma``, the positive
    contributions (a_j w_jk)^+ are favoured where z_k > 0 and the negative ones where z_k < 0
    (signed inputs too), so that the denominator never comes near zero. gamma 0 is LRP-0
    (gradient x input); large gamma tends to z+. Montavon recommends it for the lower and middle layers."""

    name = "LRP-gamma"
    key = "lrp-gamma"
    summary = "LRP favouring positive contributions by gamma (Montavon 2019)"
    declared_options = (
        Option("gamma", "γ", "how much more positive contributions count", 0.25,
               minimum=0.0, maximum=100.0, step=0.05),)

    def composite(self) -> Composite:
        rule = Rule("gamma", gamma=float(self.options.gamma))
        return Composite(conv=rule, dense=rule)
