"""LRP-alpha-beta: positive and negative contributions weighed apart."""

from __future__ import annotations

from convviz_gui.engine.cam.lrp_base import LRPExplainer
from convviz_gui.engine.cam.lrp_rules import Composite, Rule
from convviz_gui.engine.cam.options import Option
from convviz_gui.engine.errors import ConvVizError


class LRPAlphaBeta(LRPExplainer):
    """LRP-alpha-beta (Bach et al. 2015, Eq. 60; Montavon et al. 2019, Sec. 10.2.3) in every
    layer: R_j = sum_k (alpha (a_j w_jk)^+ / z_k^+ - beta (a_j w_jk)^- / z_k^-) R_k. alpha - beta
    must be 1 for the relevance to be conserved (options ``lrp_alpha``, ``lrp_beta``: ``--alpha``
    is the overlay's opacity); alpha 2 beta 1 shows counter-evidence too,
    alpha 1 beta 0 is z+."""

    name = "LRP-alpha-beta"
    key = "lrp-alphabeta"
    summary = "LRP weighing positive (alpha) and negative (beta) contributions (Bach 2015)"
    declared_options = (
        Option("lrp_alpha", "α", "weight of the positive contributions (alpha - beta = 1)",
               2.0, minimum=1.0, maximum=10.0, step=0.5),
        Option("lrp_beta", "β", "weight of the negative contributions (alpha - beta = 1)", 1.0,
               minimum=0.0, maximum=9.0, step=0.5),
    )

    def composite(self) -> Composite:
        alpha, beta = float(self.options.lrp_alpha), float(self.options.lrp_beta)
        if abs(alpha - beta - 1.0) > 1e-6:
            raise ConvVizError(f"LRP-alpha-beta needs alpha - beta = 1 to conserve relevance, "
                               f"but alpha {alpha:g} - beta {beta:g} = {alpha - beta:g}.")
        rule = Rule("alphabeta", alpha=alpha, beta=beta)
        return Composite(conv=rule, dense=rule)
