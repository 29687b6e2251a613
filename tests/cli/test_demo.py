"""The bundled demo: a real trained model on a real photo."""

import numpy as np

from convviz_gui.engine.cam import make_cam, predict
from convviz_gui.engine.models import DEMO_CROP_OFFSET_XY

from ..conftest import FACE_BOX


def test_demo_model_metadata(demo_model):
    assert demo_model.input_shape == (64, 64, 1)
    assert demo_model.preset == "symmetric"
    assert demo_model.labels[3] == "happy" and len(demo_model.labels) == 7
    assert demo_model.default_cam_layer().name == "conv2d_7"


def test_demo_predicts_happy(demo_model, demo_image):
    batch = demo_model.prepare(demo_image)
    assert batch.shape == (1, 64, 64, 1) and batch.min() >= -1.0 and batch.max() <= 1.0
    top = predict(demo_model, batch, 3)
    assert top[0].label == "happy"
    assert top[0].score > 0.9


def test_demo_gradcam_peaks_on_face(demo_model, demo_image):
    cam = make_cam(demo_model)(demo_model.prepare(demo_image), 3)
    assert cam.heatmap.shape == (4, 4)
    assert np.isfinite(cam.heatmap).all() and cam.heatmap.max() == 1.0
    x, y = cam.peak_xy(*demo_image.size)
    # Map back to the full astronaut photo the demo image was cropped from.
    full_x, full_y = x + DEMO_CROP_OFFSET_XY[0], y + DEMO_CROP_OFFSET_XY[1]
    x0, y0, x1, y1 = FACE_BOX
    assert x0 + 20 <= full_x <= x1 - 20 and y0 + 20 <= full_y <= y1 - 20
