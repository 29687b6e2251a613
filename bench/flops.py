"""How close a benchmark comes to the machine's limit: the limits measured in the same run
(a large matmul's GFLOP/s in float32 and bfloat16, the memory bandwidth, one depthwise and
one pointwise convolution as Xception runs them). FLOPs are counted per layer by
``flopcount.py`` (forward + input gradient for an ascent step). Not product code.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from flopcount import STEP_FACTOR, layer_flops, model_flops, target_flops

__all__ = ["STEP_FACTOR", "layer_flops", "machine_limits", "model_flops", "target_flops"]
MATMUL_SIZE = 4096


def _seconds(function: Any, runs: int = 3) -> float:
    """Best wall time of ``function`` over ``runs`` calls after one warm-up (best: the
    machine is shared, the fastest run is the one least disturbed)."""
    function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def matmul_gflops(dtype: str, size: int = MATMUL_SIZE) -> float:
    """GFLOP/s of a ``size`` x ``size`` matmul in ``dtype`` (TensorFlow, compiled)."""
    import tensorflow as tf

    a = tf.random.uniform((size, size), dtype=tf.float32)
    a = tf.cast(a, dtype)
    matmul = tf.function(lambda x: tf.reduce_sum(tf.cast(tf.linalg.matmul(x, x), tf.float32)))
    return 2.0 * size**3 / _seconds(lambda: matmul(a).numpy()) / 1e9


def memory_gbps(mib: int = 256) -> float:
    """GB/s of a large float32 copy (read + write), the bandwidth memory-bound layers meet."""
    source = np.ones(mib * 2**20 // 4, np.float32)
    target = np.empty_like(source)
    return 2.0 * source.nbytes / _seconds(lambda: np.copyto(target, source)) / 1e9


def conv_gflops(depthwise: bool, batch: int = 8, size: int = 97, channels: int = 128) -> dict:
    """GFLOP/s and arithmetic intensity (FLOPs per byte of activations moved, float32) of
    one 3x3 depthwise or one 1x1 pointwise convolution at Xception's block2 shape, forward
    + input gradient as an ascent step runs it."""
    import tensorflow as tf

    images = tf.random.uniform((batch, size, size, channels))
    if depthwise:
        kernel = tf.random.uniform((3, 3, channels, 1))
        forward = lambda x: tf.nn.depthwise_conv2d(x, kernel, (1, 1, 1, 1), "SAME")  # noqa: E731
        flops = 2.0 * 9 * channels * size * size * batch
    else:
        kernel = tf.random.uniform((1, 1, channels, channels))
        forward = lambda x: tf.nn.conv2d(x, kernel, 1, "SAME")  # noqa: E731
        flops = 2.0 * channels * channels * size * size * batch

    @tf.function
    def step(x: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(forward(x))
        return tape.gradient(total, x)

    seconds = _seconds(lambda: step(images).numpy())
    moved = 4.0 * batch * size * size * channels * 4  # forward in + out, gradient in + out
    return {"gflops": STEP_FACTOR * flops / seconds / 1e9,
            "flop_per_byte": STEP_FACTOR * flops / moved}


def machine_limits() -> dict:
    """The limits measured now: float32 and bfloat16 matmul GFLOP/s, memory GB/s, and a
    depthwise and a pointwise convolution's GFLOP/s and arithmetic intensity."""
    limits = {"matmul_float32_gflops": matmul_gflops("float32"),
              "matmul_bfloat16_gflops": matmul_gflops("bfloat16"),
              "memory_gbps": memory_gbps(),
              "depthwise": conv_gflops(True), "pointwise": conv_gflops(False)}
    limits["ridge_flop_per_byte"] = limits["matmul_float32_gflops"] / limits["memory_gbps"]
    return limits


def cpu_has_bf16() -> bool:
    """Whether this processor has native bfloat16 arithmetic (AVX512-BF16 or AMX-BF16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def limit_rows(limits: dict) -> list[tuple[str, str, str]]:
    """Table rows of ``machine_limits``: the peaks, and where depthwise convolutions sit."""
    peak = limits["matmul_float32_gflops"]
    bf16_note = ("native bf16" if cpu_has_bf16() else
                 "no native bf16 on this processor (emulated; measured as is)")
    depthwise, pointwise = limits["depthwise"], limits["pointwise"]
    return [
        (f"peak: float32 matmul {MATMUL_SIZE}^2 (GFLOP/s)", f"{peak:.1f}", "100 % of peak"),
        (f"bfloat16 matmul {MATMUL_SIZE}^2 (GFLOP/s)", f"{limits['matmul_bfloat16_gflops']:.1f}",
         bf16_note),
        ("memory copy (GB/s)", f"{limits['memory_gbps']:.1f}",
         f"ridge {limits['ridge_flop_per_byte']:.1f} FLOP/byte"),
        ("3x3 depthwise conv, Xception block2 shape (GFLOP/s)", f"{depthwise['gflops']:.1f}",
         f"{depthwise['gflops'] / peak:.0%} of peak; {depthwise['flop_per_byte']:.1f} FLOP/byte: "
         "memory-bound"),
        ("1x1 pointwise conv, same shape (GFLOP/s)", f"{pointwise['gflops']:.1f}",
         f"{pointwise['gflops'] / peak:.0%} of peak; {pointwise['flop_per_byte']:.1f} FLOP/byte"),
    ]
