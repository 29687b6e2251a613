"""ConvViz engine: pure computation on Keras models, with no Qt in it.

TensorFlow is imported lazily by the functions that need it, so importing this
package is cheap.
"""

import os

# oneDNN is on: TensorFlow turns it on by default only on x86 processors with AVX512-VNNI,
# AVX512-BF16 or AMX, so it is asked for here (before TensorFlow loads; a user's
# TF_ENABLE_ONEDNN_OPTS=0 still wins). Filter ascent runs 1.5-2x faster than with the
# Eigen kernels on a 2-core CPU (an AVX2-only AMD EPYC: VGG16 block4_conv1 11.1 CPU-s per
# filter instead of 14.7), forward passes about the same. Its known heap corruption
# in TF 2.16-2.21 ("malloc(): unaligned tcache chunk", upstream oneDNN issue 6035) is in
# the KERNEL gradient of a 1x1 strided convolution with fewer than 16 input channels,
# which ConvViz never computes: every gradient tape is inside a compiled tf.function, uses
# watch_accessed_variables=False, watches only the image (or its parameters) and asks
# only for the gradient w.r.t. that or a tapped layer output, so the Conv2DBackpropFilter
# ops the tape adds to the graph feed no output and are pruned before anything runs. (Run
# eagerly, Conv2D's gradient computes the input AND the kernel gradients, whatever is
# watched.) tests/engine/test_onednn.py guards this.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from convviz_gui.engine.errors import ConvVizError, OfflineWeightsError  # noqa: E402

__all__ = ["ConvVizError", "OfflineWeightsError"]
