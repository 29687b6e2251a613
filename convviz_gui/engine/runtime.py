"""Loading TensorFlow/Keras once, quietly, off the start-up path."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from types import ModuleType

_lock = threading.Lock()


def load_keras() -> ModuleType:
    """Import TensorFlow and Keras, hiding the C++ start-up chatter on stderr.

    TensorFlow's native logger writes CUDA probing messages straight to file
    descriptor 2, so the descriptor itself is pointed at /dev/null while it loads.
    """
    with _lock:
        if "keras" in sys.modules and "tensorflow" in sys.modules:
            return sys.modules["keras"]
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with Path(os.devnull).open("w") as devnull:
                os.dup2(devnull.fileno(), 2)
                import keras
                import tensorflow

                tensorflow.config.list_physical_devices()  # device probing logs, too
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        return keras


def versions() -> dict[str, str]:
    """Versions of the numeric stack (loads TensorFlow)."""
    keras = load_keras()
    import numpy
    import tensorflow

    return {"tensorflow": tensorflow.__version__, "keras": keras.__version__,
            "numpy": numpy.__version__}


def engine_versions() -> dict[str, str]:
    """``versions`` and, under ``precision``, what ``auto`` runs in here; under
    ``fast_types`` the reduced types with hardware units, comma-separated (loads TensorFlow)."""
    from convviz_gui.engine.precision import detect, fast_types, resolve

    return {**versions(), "precision": resolve("auto").describe(),
            "fast_types": ",".join(fast_types(detect()))}
