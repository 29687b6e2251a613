"""The precision the model's passes run in: float32, or bfloat16/float16 where the hardware
has it, with the same answers.

``--precision`` / Edit > Preferences choose ``auto``, ``float32``, ``bfloat16`` or ``float16``.
``auto`` picks bfloat16 on CPUs with AVX512-BF16 or AMX-BF16 (``/proc/cpuinfo`` on Linux,
``sysctl`` on macOS) and on GPUs of compute capability 8.0+, float16 on GPUs of 7.x, and
float32 elsewhere; a bfloat16 CPU is kept only when a few-millisecond matmul check shows
bfloat16 really is faster here.

How the reduced type is used (the mechanism, chosen after trying three):

- **Chosen: the model's layers traced under a Keras ``mixed_bfloat16``/``mixed_float16``
  policy.** Every compiled function ConvViz runs on a model is built by
  ``model_cache.cached``; while it is built (and traced), ``reduced_policy`` gives every
  layer of the model the mixed policy and restores the layers' own policies after, so the
  traced graph computes convolutions, matmuls and their gradients in the reduced type
  while the variables stay float32 (cast on read). The cache key carries the precision, so
  a switch builds new functions and switching back is instant. ``taps`` casts every tapped
  feature map and every model output back to float32 inside the graph, and the layer that
  produces the output (the softmax/sigmoid head) keeps float32: scores, softmaxes,
  gradient normalizations, CAM weights, accumulators (Integrated Gradients, Score-CAM,
  metric curves) and everything shown are float32. Works on any device and TF build,
  costs no memory (the weights are not copied), and the user's model file is never
  touched (the policies are restored when the trace ends).
- (a) A clone of the model with the mixed policy and the same weights: the same graph,
  but a second copy of the weights (528 MB more for VGG16), and every custom or
  translated layer must survive ``from_config``. Rejected for the memory.
- (b) TensorFlow's grappler ``auto_mixed_precision_onednn_bfloat16``: process-global, and
  it only acts when oneDNN is on. TensorFlow turns oneDNN on by default only on CPUs with
  AVX512-VNNI/BF16 or AMX; elsewhere (this AVX2 machine) the option is silently ignored
  (measured: the same float32 numbers), so ``bfloat16`` would claim a precision it does
  not run; it has no GPU bfloat16 either. Rejected.

Methods whose maps do not survive the reduced type declare ``reduced_precision_ok =
False`` (``cam.base.Explainer``): under ``auto`` they run in float32 (``for_method``).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from convviz_gui.engine.errors import ConvVizError

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
POLICIES = {"bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
CPU_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo names
MACOS_BFLOAT16_KEYS = ("hw.optional.arm.FEAT_BF16", "hw.optional.avx512bf16")
MATMUL_SIZE = 512  # the speed check: a 512x512 matmul, a few milliseconds
FASTER_BY = 1.2  # bfloat16 must beat float32 by this factor to be chosen by ``auto``

Value = TypeVar("Value")


@dataclass(frozen=True)
class Hardware:
    """What this machine offers for reduced precision."""

    cpu: str  # the processor's name
    cpu_bfloat16: bool  # AVX512-BF16 or AMX-BF16 (or Arm BF16)
    cpu_features: str  # the vector extensions found, in words ("AVX2/FMA", "AMX-BF16")
    onednn: bool  # TensorFlow's oneDNN is on (it turns it on for AI-capable CPUs)
    gpus: tuple[str, ...] = ()  # "name (compute capability 8.6)"
    gpu_bfloat16: bool = False
    gpu_float16: bool = False
    speedup: float | None = None  # bfloat16 over float32 on the matmul check (None: not run)


@dataclass(frozen=True)
class Precision:
    """The precision asked for and the one that runs, with why."""

    requested: str = "float32"
    name: str = "float32"
    reason: str = ""

    @property
    def reduced(self) -> bool:
        """True when the passes run in bfloat16 or float16."""
        return self.name != "float32"

    def describe(self) -> str:
        """In words: ``float32 (auto: no bfloat16 hardware, AVX2/FMA only)``, ``bfloat16``."""
        return f"{self.name} ({self.reason})" if self.reason else self.name


FLOAT32 = Precision()
_ACTIVE: contextvars.ContextVar[Precision] = contextvars.ContextVar("precision", default=FLOAT32)


def check_precision(value: str) -> str:
    """The precision name, lower-cased; ``ConvVizError`` for an unknown one."""
    name = (value or "auto").strip().lower()
    if name not in PRECISIONS:
        raise ConvVizError(f"Unknown precision '{value}'. Choose one of {', '.join(PRECISIONS)}.")
    return name


def cpu_flags() -> set[str]:
    """The processor's feature flags, lower-case (Linux ``/proc/cpuinfo``, macOS ``sysctl``);
    empty when the system does not say."""
    system = platform.system()
    if system == "Linux":
        try:
            text = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return set()
        line = next((line for line in text.splitlines() if line.startswith(("flags", "Features"))), "")
        return set(line.partition(":")[2].lower().split())
    if system == "Darwin":
        flags = set(_sysctl("machdep.cpu.features", "machdep.cpu.leaf7_features").lower().split())
        for key in MACOS_BFLOAT16_KEYS:
            if _sysctl(key).strip() == "1":
                flags.add("avx512_bf16" if "avx512" in key else "bf16")
        return flags
    return set()


def _sysctl(*keys: str) -> str:
    """``sysctl -n KEYS`` output ("" when it fails)."""
    try:
        return subprocess.run(["sysctl", "-n", *keys], capture_output=True, text=True,  # noqa: S607
                              timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _cpu_name() -> str:
    if platform.system() == "Linux":
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def _features_in_words(flags: set[str]) -> str:
    named = {"amx_bf16": "AMX-BF16", "avx512_bf16": "AVX512-BF16", "bf16": "BF16",
             "avx512f": "AVX512", "avx2": "AVX2", "fma": "FMA", "asimd": "NEON"}
    found = [words for flag, words in named.items() if flag in flags]
    return "/".join(found) or "unknown"


def _onednn_on() -> bool:
    """Whether TensorFlow's oneDNN is on (TensorFlow decides from the processor)."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return False


def _gpus() -> tuple[tuple[str, ...], bool, bool]:
    """(GPU descriptions, any with bfloat16 (CC 8.0+), any with float16 tensor cores (7.0+))."""
    import tensorflow as tf

    found, bfloat16, float16 = [], False, False
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        capability = details.get("compute_capability") or (0, 0)
        found.append(f"{details.get('device_name', device.name)} (compute capability "
                     f"{capability[0]}.{capability[1]})")
        bfloat16 = bfloat16 or tuple(capability) >= (8, 0)
        float16 = float16 or tuple(capability) >= (7, 0)
    return tuple(found), bfloat16, float16


def matmul_speedup(size: int = MATMUL_SIZE, repeats: int = 5) -> float:
    """How many times faster a ``size`` x ``size`` matmul runs in bfloat16 than in float32
    on the CPU (best of ``repeats``; a few milliseconds)."""
    import tensorflow as tf

    def best(dtype: Any) -> float:
        with tf.device("/CPU:0"):
            matrix = tf.cast(tf.random.stateless_normal((size, size), (1, 2)), dtype)
            tf.matmul(matrix, matrix).numpy()  # the kernel is chosen on the first call
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                tf.matmul(matrix, matrix).numpy()
                times.append(time.perf_counter() - start)
        return min(times)

    return best(tf.float32) / max(best(tf.bfloat16), 1e-9)


@functools.cache
def detect() -> Hardware:
    """This machine's reduced-precision hardware (once per process; loads TensorFlow)."""
    from convviz_gui.engine.runtime import load_keras

    load_keras()
    flags = cpu_flags()
    cpu_bfloat16 = any(flag in flags for flag in (*CPU_BFLOAT16_FLAGS, "bf16"))
    gpus, gpu_bfloat16, gpu_float16 = _gpus()
    return Hardware(cpu=_cpu_name(), cpu_bfloat16=cpu_bfloat16, cpu_features=_features_in_words(flags),
                    onednn=_onednn_on(), gpus=gpus, gpu_bfloat16=gpu_bfloat16,
                    gpu_float16=gpu_float16,
                    speedup=matmul_speedup() if cpu_bfloat16 and not gpus else None)


def auto_choice(hardware: Hardware) -> tuple[str, str]:
    """(precision, reason) ``auto`` picks on ``hardware``."""
    if hardware.gpus:
        if hardware.gpu_bfloat16:
            return "bfloat16", "auto: GPU with bfloat16"
        if hardware.gpu_float16:
            return "float16", "auto: GPU with float16 tensor cores"
        return "float32", "auto: GPU without reduced-precision units"
    if not hardware.cpu_bfloat16:
        return "float32", f"auto: no bfloat16 hardware, {hardware.cpu_features} only"
    if hardware.speedup is not None and hardware.speedup < FASTER_BY:
        return "float32", (f"auto: bfloat16 measured only {hardware.speedup:.1f}x faster "
                           "than float32 here")
    speed = f", {hardware.speedup:.1f}x on a matmul" if hardware.speedup else ""
    return "bfloat16", f"auto: {hardware.cpu_features}{speed}"


def resolve(requested: str) -> Precision:
    """The ``Precision`` that runs for a choice (``auto`` looks at the hardware)."""
    name = check_precision(requested)
    if name != "auto":
        return Precision(name, name)
    chosen, reason = auto_choice(detect())
    return Precision("auto", chosen, reason)


def fast_types(hardware: Hardware) -> tuple[str, ...]:
    """The reduced types this machine has units for (the others are emulated, slowly)."""
    return tuple(name for name, has in (("bfloat16", hardware.cpu_bfloat16 or hardware.gpu_bfloat16),
                                        ("float16", hardware.gpu_float16)) if has)


def emulation_note(precision: Precision) -> str:
    """One sentence when ``precision`` runs a reduced type this machine has no units for."""
    if not precision.reduced or precision.name in fast_types(detect()):
        return ""
    return (f"this machine has no {precision.name} units: {precision.name} is emulated and "
            "slower than float32 here (the answers are the same).")


def active() -> Precision:
    """The precision of the computation in progress (float32 outside ``using``)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def using(precision: Precision) -> Iterator[Precision]:
    """Run the enclosed computation (its compiled functions) at ``precision``."""
    token = _ACTIVE.set(precision)
    try:
        yield precision
    finally:
        _ACTIVE.reset(token)


def for_method(reduced_ok: bool, float32_only: str = "") -> contextlib.AbstractContextManager[Precision]:
    """``using`` float32 when ``auto`` chose a reduced type that this method does not keep
    its answers in (``reduced_ok`` False), or for any reduced type when the method computes
    in float32 whatever is asked (``float32_only``: why, in words); the active precision
    otherwise."""
    current = active()
    if float32_only and current.reduced:
        return using(Precision(current.requested, "float32", float32_only))
    if reduced_ok or not current.reduced or current.requested != "auto":
        return contextlib.nullcontext(current)
    return using(Precision("auto", "float32", f"auto: this method keeps float32, not {current.name}"))


def _leaf_layers(model: Any) -> Iterator[Any]:
    """Every layer of ``model`` that computes, nested models expanded."""
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "layers") and getattr(layer, "layers", None):
            yield from _leaf_layers(layer)
        elif type(layer).__name__ != "InputLayer":
            yield layer


def _output_layers(loaded: Any) -> set[int]:
    """ids of the layers that produce the model's outputs (and its softmax/sigmoid head):
    they keep float32."""
    from convviz_gui.engine.cam.scoring import output_head
    from convviz_gui.engine.layers import resolve_layer

    model = loaded.keras_model
    kept = {id(history.operation) for output in model.outputs
            if (history := getattr(output, "_keras_history", None)) is not None}
    head = output_head(loaded)
    if head is not None:
        kept.add(id(resolve_layer(model, head.path)))
    return kept


@contextlib.contextmanager
def reduced_policy(loaded: Any, name: str) -> Iterator[None]:
    """Every layer of ``loaded.keras_model`` but the output layers under the mixed policy
    of ``name`` while the block runs (graphs traced then compute in it); restored after."""
    if name not in POLICIES:
        yield
        return
    kept = _output_layers(loaded)
    layers = [layer for layer in _leaf_layers(loaded.keras_model) if id(layer) not in kept]
    saved = [layer.dtype_policy for layer in layers]
    try:
        for layer in layers:
            layer.dtype_policy = POLICIES[name]
        yield
    finally:
        for layer, policy in zip(layers, saved):
            layer.dtype_policy = policy


def traced(loaded: Any, build: Callable[[], Value]) -> tuple[Value, str]:
    """``build()`` under the active precision's policy, and the precision it ran in: a model
    that cannot run in the reduced type (a custom layer with float32 constants) gets its
    float32 build, and a note in ``loaded.notes`` saying so."""
    precision = active()
    if not precision.reduced or getattr(loaded, "keras_model", None) is None:
        return build(), "float32"
    try:
        with reduced_policy(loaded, precision.name):
            return build(), precision.name
    except ConvVizError:
        raise  # the user's slip (a size, a layer): the same in any precision
    except (TypeError, ValueError) as exc:
        note = (f"This model cannot run in {precision.name} ({str(exc).splitlines()[0][:120]}); "
                "it runs in float32.")
        if note not in loaded.notes:
            loaded.notes.append(note)
        return build(), "float32"


def as_float32(tensor: Any) -> Any:
    """``tensor`` cast to float32 when it is a reduced floating type (Keras ops: symbolic
    tensors of a functional graph too)."""
    import keras

    if keras.backend.standardize_dtype(tensor.dtype) in POLICIES:
        return keras.ops.cast(tensor, "float32")
    return tensor


def agreement(reference: Any, reduced: Any, cells: int = 8) -> tuple[float, bool]:
    """How a reduced-precision map matches the float32 one: (Pearson r, same peak cell).

    The peak cell is the argmax of the map averaged on a ``cells`` x ``cells`` grid (the
    map's own grid when it is coarser), so a one-pixel shift of a pixel map's maximum inside
    the same region still counts as the same peak. Maps constant everywhere have r = 1 when
    both are, 0 otherwise.
    """
    import numpy as np

    first, second = np.asarray(reference, np.float64), np.asarray(reduced, np.float64)
    if np.ptp(first) == 0 or np.ptp(second) == 0:
        same = bool(np.ptp(first) == np.ptp(second) == 0)
        return float(same), same
    pearson = float(np.corrcoef(first.ravel(), second.ravel())[0, 1])

    def peak(values: Any) -> tuple[int, int]:
        rows, cols = (min(cells, side) for side in values.shape)
        grid = np.add.reduceat(np.add.reduceat(
            values, np.linspace(0, values.shape[0], rows, endpoint=False).astype(int), axis=0),
            np.linspace(0, values.shape[1], cols, endpoint=False).astype(int), axis=1)
        return tuple(int(i) for i in np.unravel_index(int(np.argmax(grid)), grid.shape))  # type: ignore[return-value]

    return pearson, peak(first) == peak(second)
