"""Loading TensorFlow/Keras once, quietly, off the start-up path."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

_lock = threading.Lock()

# Optional packages TensorFlow and Keras import with themselves when they are installed, for
# features ConvViz never uses: matplotlib.pyplot (keras.visualization), pandas and its pyarrow
# (DataFrames as model inputs), scikit-learn (keras.wrappers), scipy.sparse (TF 1 training).
# With all of them installed they were a third of the engine's start: load_keras 5.4-6.0 s of
# CPU, 3.7 s without them (matplotlib alone 0.4-0.9 s). Hidden while TensorFlow and Keras load
# (each import is guarded: they carry on without it); ConvViz's own uses, such as the figures
# of an export, import them normally afterwards.
NOT_FOR_KERAS = ("matplotlib", "pandas", "sklearn", "scipy")


@contextmanager
def hidden(packages: tuple[str, ...]) -> Iterator[None]:
    """``import`` of these packages (not yet imported) fails inside the block (a ``None``
    entry in ``sys.modules`` means "not importable"); they import normally after it."""
    names = [name for name in packages if name not in sys.modules]
    for name in names:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in names:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


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
                with hidden(NOT_FOR_KERAS):
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
