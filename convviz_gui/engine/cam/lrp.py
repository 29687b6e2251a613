"""LRP with the rules most practitioners use together (zennit's EpsilonPlusFlat)."""

from __future__ import annotations

from convviz_gui.engine.cam.lrp_base import LRPExplainer
from convviz_gui.engine.cam.lrp_rules import Composite, Rule


class LRP(LRPExplainer):
    """Layer-wise Relevance Propagation (Bach et al. 2015) with the composite of Kohlbrenner
    et al. 2020 ("Towards Best Practice in Explaining Neural Network Decisions with LRP"),
    zennit's ``EpsilonPlusFlat``: the flat rule for the first layer (relevance spread evenly
    over each receptive field), z+ (alpha 1, beta 0: positive contributions only) for every
    convolution, epsilon (1e-6) for dense layers. BatchNorm is folded into the convolution
    before it; max pooling is winner-take-all, average pooling proportional."""

    name = "LRP"
    key = "lrp"
    summary = "relevance propagated back layer by layer: flat, z+, epsilon (Bach 2015)"

    def composite(self) -> Composite:
        return Composite(conv=Rule("zplus"), dense=Rule("epsilon"), first=Rule("flat"))
