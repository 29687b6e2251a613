"""The engine's start: TensorFlow and Keras load without the optional packages they would
import for features ConvViz never uses (``runtime.NOT_FOR_KERAS``), which then still import
normally. In a fresh process, as the engine process starts (pytest has matplotlib loaded)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json
import sys

import numpy as np

from convviz_gui.engine.runtime import NOT_FOR_KERAS, load_keras

keras = load_keras()
loaded_with_keras = [name for name in NOT_FOR_KERAS if name in sys.modules]
import matplotlib.pyplot  # ConvViz's own use afterwards (the figures of an export)

model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones")])
print(json.dumps({"loaded_with_keras": loaded_with_keras,
                  "pyplot_backend": matplotlib.pyplot.get_backend().lower(),
                  "prediction": model.predict(np.array([[1.0, 2.0, 3.0]]), verbose=0).tolist()}))
"""


def test_keras_loads_without_the_optional_packages_convviz_does_not_use(tmp_path):
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MPLBACKEND": "agg"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded_with_keras"] == []
    assert result["pyplot_backend"] == "agg"
    assert result["prediction"] == [[6.0, 6.0]]  # Keras works without them
