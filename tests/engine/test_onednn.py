"""oneDNN stays on: no ConvViz gradient reaches the oneDNN bug (upstream oneDNN issue 6035).

TensorFlow 2.16-2.21's oneDNN kernel gradient of a 1x1 strided convolution with fewer than
16 input channels writes past its buffer; on this machine one eager ``Conv2DBackpropFilter``
of a (1, 60, 60, 8) input, 1x1x8x16 filter, stride 2 kills the process (SIGSEGV/SIGABRT) on
its first call, every time. ConvViz is safe because its tapes run compiled: the kernel
gradients the tape builds feed no output and are pruned (run eagerly, Conv2D's gradient
computes both, watched or not). The check runs in a subprocess with oneDNN forced on, so a
regression fails this test instead of aborting pytest; the same script with its functions
run eagerly dies 3 times out of 3. MALLOC_CHECK_ is not set: glibc 2.34+ ignores it without
libc_malloc_debug.so, and the corruption is caught at once anyway.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from convviz_gui.engine.cam import CAM_METHODS

ROOT = Path(__file__).resolve().parents[2]
REPEATS = 4  # one kernel gradient crashes at once; the first repeat compiles (~20 s), the rest ~3 s each

SCRIPT = f"""
import time

import numpy as np

import convviz_gui.engine  # noqa: F401
from convviz_gui.engine.cam import CAM_METHODS, MethodOptions, make_cam
from convviz_gui.engine.featurevis import visualize_filters
from convviz_gui.engine.featurevis.settings import FilterSettings
from convviz_gui.engine.labels import resolve_labels
from convviz_gui.engine.models import LoadedModel
from convviz_gui.engine.runtime import load_keras

keras = load_keras()
from tensorflow.python.util import _pywrap_util_port  # noqa: E402

assert _pywrap_util_port.IsMklEnabled(), "oneDNN is off"
layers = keras.layers
keras.utils.set_random_seed(0)
# A mini-Xception module: the residual shortcut is the 1x1 stride-2 conv on 8 channels.
inputs = keras.Input((60, 60, 3))
x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inputs)
shortcut = layers.Conv2D(16, 1, strides=2, padding="same", name="shortcut")(x)
y = layers.SeparableConv2D(16, 3, padding="same", activation="relu", name="sep1")(x)
y = layers.SeparableConv2D(16, 3, padding="same", name="sep2")(y)
y = layers.MaxPooling2D(3, strides=2, padding="same", name="pool")(y)
x = layers.Add(name="add")([y, shortcut])
x = layers.Conv2D(4, 3, padding="same", name="last_conv")(x)
x = layers.GlobalAveragePooling2D(name="gap")(x)
outputs = layers.Activation("softmax", name="predictions")(x)
model = keras.Model(inputs, outputs, name="onednn_trigger")
loaded = LoadedModel(keras_model=model, name=model.name, source="test", auto_preset="unit", labels=())
loaded.labels = resolve_labels(None, loaded.class_count)

started = time.perf_counter()
rng = np.random.default_rng(0)
cams = ascents = 0
options = MethodOptions(top_n=8, samples=4, steps=4, patch=20)  # small: every method, often
for repeat in range({REPEATS}):
    for layer in (("shortcut",), ("add",), ("last_conv",)):
        for method in CAM_METHODS:  # every method, pixel attributions (on the input) included
            for score in ("logit", "probability"):
                for class_index in range(loaded.class_count):
                    batch = rng.uniform(0, 1, (1, 60, 60, 3)).astype(np.float32)
                    result = make_cam(loaded, layer, method, score, options)(batch, class_index)
                    assert np.isfinite(result.heatmap).all()
                    cams += 1
    for layer in ("shortcut", "sep2"):
        found = visualize_filters(loaded, (layer,), [0, 5, 15],
                                  FilterSettings(steps=5, size=60, seed=repeat))
        assert len(found.patterns) == 3
        ascents += 1
print(f"RAN onednn=True cams={{cams}} ascents={{ascents}} in {{time.perf_counter() - started:.1f}} s")
"""


def test_gradients_with_onednn_on_do_not_corrupt_the_heap():
    """Every explanation method (logit and probability scores) and filter ascent through a
    1x1 stride-2 conv on 8 channels, oneDNN on."""
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="1", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stderr[-3000:]}"
    cams = REPEATS * 3 * len(CAM_METHODS) * 2 * 4
    assert f"RAN onednn=True cams={cams} ascents={REPEATS * 2}" in result.stdout
