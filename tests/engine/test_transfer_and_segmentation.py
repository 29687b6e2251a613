"""Nested base models (transfer learning) and per-pixel segmentation outputs."""

import numpy as np

from convviz_gui.engine.activations import compute_activations
from convviz_gui.engine.cam import make_cam, predict, predicted_mask
from convviz_gui.engine.featurevis import visualize_filters
from convviz_gui.engine.featurevis.settings import FilterSettings
from convviz_gui.engine.layers import find_layer, spatial_layers
from convviz_gui.figures.cam import gradcam_figure

INNER = "mobilenetv2_1.00_96/block_6_expand_relu"


def test_layer_tree_shows_nested_base(transfer_model):
    base = transfer_model.layer_tree[0]
    assert base.class_name == "Functional" and base.is_container
    assert len(base.children) > 100
    inner = find_layer(transfer_model.layer_tree, INNER)
    assert inner.path == tuple(INNER.split("/")) and inner.output_shape == (None, 12, 12, 192)
    assert transfer_model.default_cam_layer().path[-1] == "out_relu"


def test_gradcam_on_layer_inside_base(transfer_model, photo):
    batch = transfer_model.prepare(photo)
    top = predict(transfer_model, batch, 3)
    assert abs(sum(p.score for p in predict(transfer_model, batch, 3)) - 1) < 1e-4
    cam = make_cam(transfer_model, tuple(INNER.split("/")))(batch, top[0].index)
    assert cam.heatmap.shape == (12, 12)
    assert np.isfinite(cam.heatmap).all() and cam.heatmap.min() >= 0 and cam.heatmap.max() <= 1
    gradcam_figure(photo.rgb, cam, predictions=top)


def test_filter_ascent_on_layer_inside_base(transfer_model):
    path = ("mobilenetv2_1.00_96", "block_3_expand")
    result = visualize_filters(transfer_model, path, [0, 1, 2],
                               FilterSettings(steps=5, start="centered", size=96))
    assert sorted(result.patterns) == [0, 1, 2] and result.size_used == (96, 96)
    assert result.patterns[0].shape == (72, 72, 3)  # 96 px, 12 px cut per side
    assert all(result.losses[i] > result.start_losses[i] for i in range(3))


def test_segmentation_transpose_activations_and_class_cam(segmentation_model, photo):
    tree = segmentation_model.layer_tree
    transposes = [n.path for n in spatial_layers(tree) if n.class_name == "Conv2DTranspose"]
    batch = segmentation_model.prepare(photo)
    acts = compute_activations(segmentation_model, batch, transposes)
    assert [a.values.shape for a in acts.values()] == [(32, 32, 32), (64, 64, 16)]
    assert segmentation_model.output_kind == "segmentation"
    ranking = predict(segmentation_model, batch, 3)
    assert abs(sum(p.score for p in ranking) - 1) < 1e-6  # pixel shares
    mask = predicted_mask(segmentation_model, batch)
    assert mask.shape == (64, 64) and set(np.unique(mask)) <= {0, 1, 2}
    layer = transposes[0]
    for class_index in range(3):
        cam = make_cam(segmentation_model, layer)(batch, class_index)
        assert cam.heatmap.shape == (32, 32) and np.isfinite(cam.heatmap).all()
        assert 0 < cam.score <= 1
    figure = gradcam_figure(photo.rgb, cam, mask=mask)
    assert len(figure.axes) == 4
