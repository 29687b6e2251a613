"""Keras 2 (tf-keras) model files open in ConvViz (Keras 3) and predict what tf-keras predicts.

How the files are made: once per test session, ``tests/tf_keras_maker.py`` runs in a
subprocess with tf-keras (so tf-keras never shares a process with Keras 3). It builds small
models (32-96 px inputs, weights=None, BatchNormalization statistics set to fixed random
values), saves each as tf-keras does (.h5, .keras zip, SavedModel folder), writes a fixed
test image per input size and records tf-keras' outputs for those raw pixels in
expected.json. The tests open the files through the CLI and compare.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from convviz_gui.cli import main

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tf_keras") is None,
                                reason="tf-keras (the test extra) is not installed")

MAKER = Path(__file__).parents[1] / "tf_keras_maker.py"
OPENING = ("sequential_bn", "tutorial_mobilenet_v2", "mobilenet_v1", "resnet50_caffe",
           "arithmetic_slice", "functional_zip", "sequential_zip")
CASES = (*OPENING, "unknown_op", "saved_model")
# Cases whose graph starts with preprocessing (Rescaling or translated tf ops): fed raw pixels.
RAW_PIXELS = {"sequential_bn", "tutorial_mobilenet_v2", "resnet50_caffe", "arithmetic_slice",
              "functional_zip", "sequential_zip"}


@pytest.fixture(scope="session")
def tf_keras_files(tmp_path_factory) -> tuple[Path, dict]:
    """The folder of tf-keras files and their expected.json entries (made once)."""
    folder = tmp_path_factory.mktemp("tf_keras_files")
    made = subprocess.run([sys.executable, str(MAKER), str(folder), *CASES],
                          capture_output=True, text=True, timeout=600)
    expected = json.loads((folder / "expected.json").read_text())
    assert set(expected) == set(CASES), made.stderr[-2000:]
    return folder, expected


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``convviz ARGV``: exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def predicted(capsys, model: Path, image: Path, outputs: int) -> np.ndarray:
    """Every output of ``convviz predict`` on raw pixels, in class order."""
    code, out, err = run_cli(capsys, "predict", str(model), str(image), "--preprocess", "none",
                             "--top", str(outputs), "--json")
    assert code == 0, err
    values = np.full(outputs, np.nan)
    for prediction in json.loads(out)["predictions"]:
        values[prediction["index"]] = prediction["score"]
    return values


@pytest.mark.parametrize("case", OPENING)
def test_tf_keras_file_opens_and_predicts_as_tf_keras(case, tf_keras_files, capsys):
    folder, expected = tf_keras_files
    entry = expected[case]
    model = folder / entry["file"]

    code, out, err = run_cli(capsys, "inspect", str(model), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["saved_by"] == f"Keras {entry['keras_version']} (tf-keras)"
    assert summary["preprocess"] == ("none" if case in RAW_PIXELS else "unit")
    outputs = np.asarray(entry["outputs"])
    got = predicted(capsys, model, folder / entry["image"], len(outputs))
    np.testing.assert_allclose(got, outputs, rtol=0, atol=1e-4)
    assert np.abs(outputs).max() > 1e-2  # far from 0: the comparison means something


@pytest.mark.parametrize("case, ops", [
    ("tutorial_mobilenet_v2", ["tf.math.truediv", "tf.math.subtract"]),
    ("resnet50_caffe", ["tf.__operators__.getitem", "tf.nn.bias_add"]),
])
def test_preprocess_input_shows_as_tf_op_layers(case, ops, tf_keras_files, capsys):
    folder, expected = tf_keras_files
    code, out, err = run_cli(capsys, "inspect", str(folder / expected[case]["file"]), "--json")
    assert code == 0, err
    layers = json.loads(out)["layers"]
    tf_ops = [layer for layer in layers if layer["class"] == "TFOp"]
    assert [layer["name"] for layer in tf_ops] == ops
    assert all(layer["spatial"] and layer["path"] == [layer["name"]] for layer in tf_ops)


def assert_one_error_line(code: int, err: str, *phrases: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convviz: error: "), err
    for phrase in phrases:
        assert phrase in lines[0]


def test_saved_model_folder_is_one_line_saying_how_to_get_a_keras_file(tf_keras_files, capsys):
    folder, _ = tf_keras_files
    code, _, err = run_cli(capsys, "inspect", str(folder / "saved_model"), "--json")
    assert_one_error_line(code, err, "SavedModel", "no Keras layers", 'model.save(\'model.keras\')',
                          "load_weights")


def test_unknown_tf_op_is_one_line_naming_it(tf_keras_files, capsys):
    folder, expected = tf_keras_files
    code, _, err = run_cli(capsys, "predict", str(folder / expected["unknown_op"]["file"]),
                           str(folder / expected["unknown_op"]["image"]))
    assert_one_error_line(code, err, "tf.math.cumsum", "cannot translate")


def test_keras3_mobilenet_v3_h5_opens_with_its_own_predictions(keras, tmp_path, capsys):
    """Keras 3 saves ``x + 3.0`` of hard-swish as an op without its module in .h5."""
    from PIL import Image

    model = keras.applications.MobileNetV3Small(input_shape=(64, 64, 3), weights=None,
                                                classes=5, classifier_activation=None)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.05, layer.moving_mean.shape))
    model.save(tmp_path / "mobilenet_v3.h5")
    pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "image.png")
    expected = model.predict(pixels[None].astype(np.float32), verbose=0)[0]

    code, out, err = run_cli(capsys, "inspect", str(tmp_path / "mobilenet_v3.h5"), "--json")
    assert code == 0, err
    assert json.loads(out)["saved_by"] == f"Keras {keras.__version__}"
    got = predicted(capsys, tmp_path / "mobilenet_v3.h5", tmp_path / "image.png", 5)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
