"""LRP rules as gradient x input of a modified forward pass (TensorFlow ops, no Keras).

Notation (Montavon et al. 2019, "Layer-Wise Relevance Propagation: An Overview"): a linear
layer z_k = sum_j a_j w_jk + b_k, relevance R_k of its output, R_j of its input,

    R_j = a_j sum_k rho(w_jk) R_k / stab(z'_k),   z'_k = sum_j a_j rho(w_jk) + rho(b_k).

The backward signal g of the walk is relevance per unit of activation (R = a * g), so a
layer whose output keeps its true value z but whose gradient runs through the modified
z' scaled by z / stab(z') (``relayed``) implements the rule; one ``tf.GradientTape``
pass then computes a whole map. Gradients are only ever taken with respect to
activations: the modified kernels are constants of the pass.

With signed inputs, "positive weights" means positive contributions (zennit's ZPlus and
AlphaBeta): z+ = sum_j (a_j w_jk)^+ = W+ a+ + W- a-, two linear maps; a layer whose input
is known non-negative (after a ReLU) needs only W+ a.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

STABILIZER = 1e-6  # zennit's default: keeps divisions finite, changes nothing else

# Linear = (apply(x, kernel), kernel, bias or None)
Apply = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Rule:
    """One LRP rule and its parameters.

    ``kind``: ``epsilon`` (LRP-epsilon), ``zplus`` (z+, i.e. alpha 1 beta 0), ``alphabeta``,
    ``gamma`` (LRP-gamma) or ``flat`` (every input of the receptive field alike).
    """

    kind: str
    epsilon: float = STABILIZER
    alpha: float = 1.0
    beta: float = 0.0
    gamma: float = 0.0


@dataclass(frozen=True)
class Composite:
    """Which rule each layer gets: convolutions, dense layers, a BatchNormalization that
    could not be folded (``affine``), and the first layer(s) (those reading the input).

    ``stabilizer`` is the epsilon of residual additions (and of unfolded BatchNorms)."""

    conv: Rule
    dense: Rule
    first: Rule | None = None  # None: the layer's own rule
    stabilizer: float = STABILIZER

    def rule_for(self, kind: str, first: bool) -> Rule:
        """The rule of a layer of ``kind`` (``conv``, ``dense``, ``affine``)."""
        if first and self.first is not None:
            return self.first
        if kind == "affine":
            return Rule("epsilon", self.stabilizer)
        return self.conv if kind == "conv" else self.dense


def stabilized(values: Any, epsilon: float) -> Any:
    """``values + epsilon * sign(values)`` (sign(0) = 1): never zero."""
    import tensorflow as tf

    return values + tf.where(values >= 0, epsilon, -epsilon)


def relay(source: Any, value: Any, backward: Callable[[Any], Any]) -> Any:
    """A tensor equal to ``value`` whose gradient reaches ``source`` as ``backward(g)``
    (and nothing through ``value``'s own graph)."""
    import tensorflow as tf

    @tf.custom_gradient
    def relayed_value(_source: Any, shown: Any) -> Any:
        return tf.identity(shown), lambda upstream: (backward(upstream), tf.zeros_like(shown))

    return relayed_value(source, tf.stop_gradient(value))  # no zeros sent back through value


def as_relevance(values: Any) -> Any:
    """``values`` whose incoming signal g leaves as relevance ``values * g``: where the
    walk meets the input, the backward signal becomes the relevance itself."""
    return relay(values, values, lambda upstream: upstream * values)


def as_unit(values: Any) -> Any:
    """Ones shaped like ``values``, whose signal leaves unchanged (the flat rule's input)."""
    import tensorflow as tf

    return relay(values, tf.ones_like(values), lambda upstream: upstream)


def passes_through(inputs: Any, outputs: Any, relevance_zone: bool) -> Any:
    """``outputs`` of an element-wise layer (activation, rescaling) that hands its relevance
    on unchanged: as the signal itself near the input, else scaled by outputs / inputs."""
    import tensorflow as tf

    if relevance_zone:
        return relay(inputs, outputs, lambda upstream: upstream)
    ratio = outputs / tf.where(inputs == 0, tf.ones_like(inputs), inputs)
    return relay(inputs, outputs, lambda upstream: upstream * ratio)


def relayed(output: Any, terms: list[tuple[float, Any]], epsilon: float) -> Any:
    """The true ``output`` z, with the gradient sum_i c_i dz'_i * z / stab(z'_i) of the
    modified outputs ``terms`` [(c_i, z'_i)]."""
    import tensorflow as tf

    carried = 0.0
    for coefficient, modified in terms:
        carried += coefficient * modified * tf.stop_gradient(output / stabilized(modified, epsilon))
    return carried + tf.stop_gradient(output - carried)


def _positive(values: Any) -> Any:
    import tensorflow as tf

    return tf.nn.relu(values)


def _negative(values: Any) -> Any:
    import tensorflow as tf

    return -tf.nn.relu(-values)


def modified_terms(rule: Rule, apply: Apply, inputs: Any, kernel: Any, bias: Any,
                   plain: Any, non_negative: bool) -> list[tuple[float, Any]]:
    """The rule's modified outputs [(coefficient, z')] of a linear map.

    Args:
        apply: ``apply(x, kernel)``, the layer's bias-free linear map.
        inputs: its input, on the tape.
        plain: ``apply(inputs, kernel)`` (the epsilon rule's z, bias added here).
        non_negative: the input is known to be >= 0 (a ReLU's output): one linear map per
            sign of contribution instead of two.
    """
    import tensorflow as tf

    def with_bias(values: Any, part: Callable[[Any], Any]) -> Any:
        return values if bias is None else values + part(bias)

    def contributions(sign: int) -> Any:
        """z+ (sign 1) or z- (sign -1) with their bias part, each contribution a_j w_jk
        taken exactly (a difference of two large sums would not cancel to zero)."""
        same, other = (_positive, _negative) if sign > 0 else (_negative, _positive)
        if non_negative:
            values = apply(inputs, same(kernel))
        else:
            values = apply(_positive(inputs), same(kernel)) + apply(_negative(inputs), other(kernel))
        return with_bias(values, same)

    if rule.kind == "epsilon":
        return [(1.0, with_bias(plain, lambda b: b))]
    if rule.kind == "flat":
        return [(1.0, apply(inputs, tf.ones_like(kernel)))]
    if rule.kind == "zplus":
        return [(1.0, contributions(1))]
    if rule.kind == "gamma":  # z + gamma z+ where z > 0, z + gamma z- where z < 0 (zennit)
        output = with_bias(plain, lambda b: b)
        rising = tf.stop_gradient(tf.cast(output > 0, output.dtype))
        # z+/- = (W a +/- |W| |a|) / 2: one extra map for both. The sums do not have to cancel
        # exactly here: z + gamma z+/- is never smaller than z, so no huge ratio meets them.
        magnitude = apply(tf.abs(inputs), tf.abs(kernel))
        favoured = (plain + (2 * rising - 1) * magnitude) / 2
        if bias is not None:
            favoured += rising * _positive(bias) + (1 - rising) * _negative(bias)
        return [(1.0, output + rule.gamma * favoured)]
    if rule.kind == "alphabeta":
        terms = [(rule.alpha, contributions(1))]
        if rule.beta:
            terms.append((-rule.beta, contributions(-1)))
        return terms
    raise ValueError(f"Unknown LRP rule {rule.kind!r}.")
