"""Activations on the reference cats-vs-dogs convnet and others."""

import numpy as np
import pytest

from convviz_gui.engine.activations import compute_activations, overview_tiles
from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.layers import find_layer, spatial_layers
from convviz_gui.figures.activations import activation_grid_figure


def test_reference_first_conv_shape(cats_dogs, photo):
    batch = cats_dogs.prepare(photo)
    assert batch.shape == (1, 180, 180, 3) and batch.max() > 1  # the model rescales itself
    first_conv = [n for n in spatial_layers(cats_dogs.layer_tree) if n.class_name == "Conv2D"][0]
    conv = first_conv.path
    acts = compute_activations(cats_dogs, batch, [conv])[conv]
    assert (1, *acts.values.shape) == (1, 178, 178, 32)
    assert np.isfinite(acts.values).all() and acts.values.min() >= 0  # relu


def test_all_reference_layers_in_one_pass_including_nested(cats_dogs, photo):
    tree = cats_dogs.layer_tree
    nested = find_layer(tree, "data_augmentation")
    assert nested.is_container and [c.name for c in nested.children][0].startswith("random_flip")
    paths = [n.path for n in spatial_layers(tree)]
    assert nested.children[0].path in paths
    batch = cats_dogs.prepare(photo)
    acts = compute_activations(cats_dogs, batch, paths)
    shapes = {"/".join(p): a.values.shape for p, a in acts.items()}
    assert shapes["/".join(nested.children[0].path)] == (180, 180, 3)
    conv_shapes = [a.values.shape for p, a in acts.items()
                   if find_layer(tree, "/".join(p)).class_name == "Conv2D"]
    assert conv_shapes == [(178, 178, 32), (87, 87, 64), (41, 41, 128), (18, 18, 256), (7, 7, 256)]
    # A second request is served from the cache (same objects).
    assert compute_activations(cats_dogs, batch, paths) is acts


def test_grid_normalization_and_blank_channels(cats_dogs, photo):
    path = [n.path for n in spatial_layers(cats_dogs.layer_tree) if n.class_name == "Conv2D"][-1]
    acts = compute_activations(cats_dogs, cats_dogs.prepare(photo), [path])[path]
    grid = acts.grid()
    rows = -(-acts.channel_count // 16)
    assert grid.shape == (8 * rows - 1, 8 * 16 - 1)
    cells = grid[np.isfinite(grid)]
    assert cells.min() >= 0 and cells.max() <= 255
    for index in acts.blank_channels():
        assert not acts.channel_image(index).any()  # blank stays zero, no NaN
    nonblank = next(s.index for s in acts.stats() if not s.blank)
    image = acts.channel_image(nonblank).astype(float)
    assert abs(image.mean() - 128) < 40  # (x - mean) / std * 64 + 128
    figure = activation_grid_figure(acts)
    assert figure.axes[0].get_title().startswith(acts.name)


def test_all_zero_channels_are_blank(keras):
    from ..conftest import random_image, wrap

    inputs = keras.Input((32, 32, 3))
    conv = keras.layers.Conv2D(4, 3, kernel_initializer="zeros", name="dead")(inputs)
    model = wrap(keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(conv)))
    acts = compute_activations(model, model.prepare(random_image()), [("dead",)])[("dead",)]
    assert acts.blank_channels() == [0, 1, 2, 3]
    assert not np.isnan(acts.grid()[np.isfinite(acts.grid())]).any()


def test_overview_keeps_only_small_tiles(cats_dogs, photo):
    paths = [n.path for n in spatial_layers(cats_dogs.layer_tree)]
    tiles = overview_tiles(cats_dogs, cats_dogs.prepare(photo), paths, channels=8)
    assert len(tiles) == len(paths)
    assert all(grid.shape[1] <= 8 * 181 for _, grid in tiles)


def test_non_spatial_layer_is_rejected(cats_dogs, photo):
    with pytest.raises(ConvVizError):
        compute_activations(cats_dogs, cats_dogs.prepare(photo), [("flatten",)])
