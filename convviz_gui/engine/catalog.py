"""The Keras Applications ConvViz can build, and plain names for model specs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CatalogEntry:
    """A Keras Application ConvViz can build, and its ImageNet weights file."""

    name: str
    module: str
    input_size: int
    weights_file: str  # as Keras names it in its cache (~/.keras/models)
    download_mb: int

    def cached_weights(self) -> Path | None:
        """The ImageNet weights file if Keras has already downloaded it, else None."""
        folder = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
        path = folder / self.weights_file
        return path if path.is_file() else None


CATALOG: dict[str, CatalogEntry] = {
    entry.name: entry
    for entry in (
        CatalogEntry("Xception", "xception", 299,
                     "xception_weights_tf_dim_ordering_tf_kernels.h5", 88),
        CatalogEntry("ResNet50V2", "resnet_v2", 224,
                     "resnet50v2_weights_tf_dim_ordering_tf_kernels.h5", 98),
        CatalogEntry("ResNet50", "resnet50", 224,
                     "resnet50_weights_tf_dim_ordering_tf_kernels.h5", 98),
        CatalogEntry("VGG16", "vgg16", 224, "vgg16_weights_tf_dim_ordering_tf_kernels.h5", 528),
        CatalogEntry("MobileNetV2", "mobilenet_v2", 224,
                     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5", 14),
        CatalogEntry("EfficientNetB0", "efficientnet", 224, "efficientnetb0.h5", 29),
        CatalogEntry("InceptionV3", "inception_v3", 299,
                     "inception_v3_weights_tf_dim_ordering_tf_kernels.h5", 92),
        CatalogEntry("DenseNet121", "densenet", 224,
                     "densenet121_weights_tf_dim_ordering_tf_kernels.h5", 33),
    )
}


def friendly_model_name(spec: str) -> str:
    """Plain words for a model spec: 'the demo model', 'Xception (random weights)', a file name."""
    if spec == "demo":
        return "the demo model"
    if spec.startswith("app:"):
        parts = spec.split(":")
        weights = parts[2] if len(parts) > 2 and parts[2] else "imagenet"
        return f"{parts[1]} ({'random weights' if weights.lower() in ('none', 'random') else 'ImageNet'})"
    return Path(spec).name

