"""ConvViz engine: pure computation on Keras models, with no Qt in it.

TensorFlow is imported lazily by the functions that need it, so importing this
package is cheap.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from convviz_gui.engine.errors import ConvVizError, OfflineWeightsError  # noqa: E402

__all__ = ["ConvVizError", "OfflineWeightsError"]
