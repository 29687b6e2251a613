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


def rates(flop: float, function: Any, runs: int = 3) -> dict[str, float]:
    """GFLOP/s of ``function`` doing ``flop`` FLOPs, best of ``runs`` calls after a warm-up:
    ``gflops`` per wall second and ``per_cpu`` per CPU second of this process (on a shared
    machine the CPU seconds are the ones this process got; wall seconds include waiting)."""
    function()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"gflops": flop / min(walls) / 1e9, "per_cpu": flop / min(cpus) / 1e9}


def matmul_rates(dtype: str, size: int = MATMUL_SIZE) -> dict[str, float]:
    """``rates`` of a ``size`` x ``size`` matmul in ``dtype`` (TensorFlow, compiled)."""
    import tensorflow as tf

    a = tf.cast(tf.random.uniform((size, size), dtype=tf.float32), dtype)
    matmul = tf.function(lambda x: tf.reduce_sum(tf.cast(tf.linalg.matmul(x, x), tf.float32)))
    return rates(2.0 * size**3, lambda: matmul(a).numpy())


def memory_gbps(mib: int = 256) -> float:
    """GB/s of a large float32 copy (read + write, one thread: per CPU second), the
    bandwidth memory-bound layers meet."""
    source = np.ones(mib * 2**20 // 4, np.float32)
    target = np.empty_like(source)
    return rates(2.0 * source.nbytes, lambda: np.copyto(target, source))["per_cpu"]


def conv_rates(depthwise: bool, batch: int = 8, size: int = 97, channels: int = 128) -> dict:
    """``rates`` and arithmetic intensity (``flop_per_byte`` of activations moved, float32)
    of one 3x3 depthwise or one 1x1 pointwise convolution at Xception's block2 shape,
    forward + input gradient as an ascent step runs it."""
    import tensorflow as tf

    images = tf.random.uniform((batch, size, size, channels))
    if depthwise:
        kernel = tf.random.uniform((3, 3, channels, 1))
        forward = lambda x: tf.nn.depthwise_conv2d(x, kernel, (1, 1, 1, 1), "SAME")  # noqa: E731
        flop = 2.0 * 9 * channels * size * size * batch
    else:
        kernel = tf.random.uniform((1, 1, channels, channels))
        forward = lambda x: tf.nn.conv2d(x, kernel, 1, "SAME")  # noqa: E731
        flop = 2.0 * channels * channels * size * size * batch

    @tf.function
    def step(x: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(forward(x))
        return tape.gradient(total, x)

    moved = 4.0 * batch * size * size * channels * 4  # forward in + out, gradient in + out
    return {**rates(STEP_FACTOR * flop, lambda: step(images).numpy()),
            "flop_per_byte": STEP_FACTOR * flop / moved}


def machine_limits() -> dict:
    """The limits measured now: float32 and bfloat16 matmul ``rates``, memory GB/s, and a
    depthwise and a pointwise convolution's ``rates`` and arithmetic intensity."""
    limits = {"matmul_float32": matmul_rates("float32"), "matmul_bfloat16": matmul_rates("bfloat16"),
              "memory_gbps": memory_gbps(), "depthwise": conv_rates(True),
              "pointwise": conv_rates(False)}
    limits["ridge_flop_per_byte"] = limits["matmul_float32"]["per_cpu"] / limits["memory_gbps"]
    return limits


def share(measured: dict[str, float], limits: dict, precision: str = "float32") -> str:
    """``measured`` (``rates``) as a share of the matmul's in the same ``precision`` (float32
    or bfloat16; float16 against float32's: no float16 matmul is measured), per CPU second
    (load-proof) and per wall second."""
    peak = limits["matmul_bfloat16" if precision == "bfloat16" else "matmul_float32"]
    name = "bfloat16 " if precision == "bfloat16" else ""
    return (f"{measured['per_cpu'] / peak['per_cpu']:.0%} of {name}peak per CPU-s "
            f"({measured['gflops'] / peak['gflops']:.0%} wall)")


def other_precisions(requested: list[str]) -> dict[str, object]:
    """The reduced ``Precision`` each of ``requested`` (e.g. ``["auto"]``) runs, by name,
    skipping those that resolve to float32 (the float32 rows already show them), with a
    note per skipped one."""
    from convviz_gui.engine.precision import resolve

    chosen: dict[str, object] = {}
    for name in requested:
        precision = resolve(name)
        if precision.reduced:
            chosen.setdefault(precision.describe(), precision)
        else:
            print(f"--precision {name}: {precision.describe()}, the float32 rows")
    return chosen


def cpu_has_bf16() -> bool:
    """Whether this processor has native bfloat16 arithmetic (AVX512-BF16 or AMX-BF16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def nominal_gflops_per_core() -> float | None:
    """A core's nominal float32 peak: its clock (``/proc/cpuinfo``) x 32 FLOPs per cycle
    (two 8-wide AVX2 FMA units); None when the clock is not known."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    clocks = [float(line.split(":")[1]) for line in lines if line.startswith("cpu MHz")]
    return clocks[0] * 32 / 1000 if clocks else None


def limit_rows(limits: dict) -> list[tuple[str, str, str]]:
    """Table rows of ``machine_limits`` (GFLOP per CPU second / per wall second): the peaks,
    and where depthwise convolutions sit."""
    bf16_note = ("native bf16" if cpu_has_bf16() else
                 "no native bf16 on this processor (emulated; measured as is)")

    def value(measured: dict) -> str:
        return f"{measured['per_cpu']:.1f} / {measured['gflops']:.1f}"

    depthwise, pointwise = limits["depthwise"], limits["pointwise"]
    nominal = nominal_gflops_per_core()
    return [
        (f"peak: float32 matmul {MATMUL_SIZE}^2 (GFLOP/CPU-s / GFLOP/s)",
         value(limits["matmul_float32"]),
         "100 % of peak" + (f"; nominal {nominal:.0f} GFLOP/CPU-s (clock x 32)" if nominal else "")),
        (f"bfloat16 matmul {MATMUL_SIZE}^2", value(limits["matmul_bfloat16"]), bf16_note),
        ("memory copy (GB/CPU-s)", f"{limits['memory_gbps']:.1f}",
         f"ridge {limits['ridge_flop_per_byte']:.1f} FLOP/byte"),
        ("3x3 depthwise conv, Xception block2 shape", value(depthwise),
         f"{share(depthwise, limits)}; {depthwise['flop_per_byte']:.1f} FLOP/byte: memory-bound"),
        ("1x1 pointwise conv, same shape", value(pointwise),
         f"{share(pointwise, limits)}; {pointwise['flop_per_byte']:.1f} FLOP/byte"),
    ]
