"""The `convviz` CLI on the demo, a Keras Application and a .keras file."""

import json
import subprocess
import sys

import pytest

from convviz_gui.cli import main
from convviz_gui.engine.models import demo_image_path

from ..conftest import shared

DEMO_IMAGE = str(demo_image_path())


def run_json(capsys, *args):
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_inspect_demo(capsys):
    data = run_json(capsys, "inspect", "demo")
    names = [layer["name"] for layer in data["layers"]]
    assert "conv2d_7" in names and data["default_cam_layer"] == "conv2d_7"
    conv = next(layer for layer in data["layers"] if layer["name"] == "conv2d_1")
    assert conv == {"name": "conv2d_1", "class": "Conv2D", "output_shape": [None, 62, 62, 8],
                    "params": 72, "path": ["conv2d_1"], "spatial": True}


def test_predict_and_gradcam_demo(capsys, tmp_path):
    predictions = run_json(capsys, "predict", "demo", DEMO_IMAGE, "--top", "3")["predictions"]
    assert predictions[0]["label"] == "happy" and len(predictions) == 3
    out = tmp_path / "cam.png"
    npy = tmp_path / "cam.npy"
    data = run_json(capsys, "gradcam", "demo", DEMO_IMAGE, "--class", "happy", "--out", str(out),
                    "--heatmap-npy", str(npy))
    assert data["class_index"] == 3 and data["layer"] == "conv2d_7"
    assert data["heatmap_shape"] == [4, 4] and len(data["peak_xy"]) == 2
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and npy.stat().st_size > 0


def test_activations_and_filters_demo(capsys, tmp_path):
    data = run_json(capsys, "activations", "demo", DEMO_IMAGE, "--layer", "conv2d_1",
                    "--out", str(tmp_path / "a.svg"))
    assert data["shape"] == [1, 62, 62, 8] and len(data["channels"]) == 8
    assert (tmp_path / "a.svg").read_text().lstrip().startswith("<?xml")
    data = run_json(capsys, "filters", "demo", "--layer", "conv2d_7", "--filters", "0-3",
                    "--steps", "3", "--out", str(tmp_path / "f.pdf"))
    assert [f["index"] for f in data["filters"]] == [0, 1, 2, 3] and data["seconds"] > 0
    assert (tmp_path / "f.pdf").read_bytes()[:5] == b"%PDF-"


def test_keras_file_and_application(capsys, tmp_path, keras):
    inputs = keras.Input((48, 48, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="features")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x))
    path = tmp_path / "tiny.keras"
    keras.Model(inputs, outputs).save(path)
    (tmp_path / "tiny.labels.txt").write_text("cat\ndog\n")
    photo = str(shared("images", "chelsea.png"))
    data = run_json(capsys, "gradcam", str(path), photo)
    assert data["label"] in ("cat", "dog") and data["layer"] == "features"
    assert 0 <= data["peak_xy"][0] < 451 and 0 <= data["peak_xy"][1] < 300  # original pixels
    data = run_json(capsys, "gradcam", "app:Xception:none", photo)
    assert data["layer"] == "block14_sepconv2_act" and data["heatmap_shape"] == [10, 10]


@pytest.mark.parametrize("args,message", [
    (["predict", "missing.keras", DEMO_IMAGE], "does not exist"),
    (["gradcam", "demo", DEMO_IMAGE, "--class", "sleepy"], "not a class"),
    (["activations", "demo", DEMO_IMAGE, "--layer", "nope"], "No layer named"),
    (["filters", "demo", "--layer", "conv2d_1", "--filters", "0-99"], "does not exist"),
    (["inspect", "app:NoSuchNet"], "Unknown Keras Application"),
])
def test_errors_exit_2_with_one_line(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("convviz: error:") and message in err and "\n" not in err


def test_module_entry_point_runs_quietly():
    result = subprocess.run([sys.executable, "-m", "convviz_gui", "predict", "demo", "nope.png"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "convviz: error: The image file nope.png does not exist."
