"""ConvViz engine: pure computation on Keras models, with no Qt in it.

TensorFlow is imported lazily by the functions that need it, so importing this
package is cheap.
"""

import os

# TensorFlow 2.21's oneDNN kernels corrupt the heap ("double free or corruption",
# "malloc(): unaligned tcache chunk") when differentiating the demo model's 1x1 strided
# convolutions with respect to their input, which Grad-CAM and filter ascent both do.
# It is intermittent (seen again in bench/gradcam.py), so oneDNN stays off: the plain
# Eigen kernels are about half as fast on a CPU but correct.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from convviz_gui.engine.errors import ConvVizError, OfflineWeightsError  # noqa: E402

__all__ = ["ConvVizError", "OfflineWeightsError"]
