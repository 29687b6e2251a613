"""A method is one file: a toy method module, imported alone, is in the CLI (its --method
name, its option flag, their help) and in the window (method list, options bar, request)."""

from __future__ import annotations

import importlib
import json
import sys

import numpy as np
import pytest
from PySide6.QtCore import Qt

from convviz_gui.cli import main as cli
from convviz_gui.engine.cam import CAM_METHODS
from convviz_gui.engine.cam.registry import unregister
from convviz_gui.engine.models import demo_image_path

from ..conftest import WINDOW_TIMEOUT_MS, wait_idle

TOY_MODULE = "tests.toy_method"


@pytest.fixture
def toy():
    """The toy method, registered by importing its module; forgotten afterwards."""
    assert "Toy-CAM" not in CAM_METHODS
    cls = importlib.import_module(TOY_MODULE).MeanFeatureCAM
    assert CAM_METHODS["Toy-CAM"] is cls
    yield cls
    unregister(cls)
    sys.modules.pop(TOY_MODULE)
    assert "Toy-CAM" not in CAM_METHODS


def _mean_feature_map(demo_model) -> np.ndarray:
    """The demo image's mean feature map at the default CAM layer, computed with Keras."""
    import keras

    from convviz_gui.engine.images import load_image
    from convviz_gui.engine.layers import resolve_layer

    layer = resolve_layer(demo_model.keras_model, demo_model.default_cam_layer().path)
    features = keras.Model(demo_model.keras_model.inputs, layer.output)
    batch = demo_model.prepare(load_image(demo_image_path()))
    return np.asarray(features([batch]))[0].mean(axis=-1)


def test_a_toy_method_file_is_a_cli_method_with_its_option(toy, demo_model, capsys, tmp_path):
    image, npy = str(demo_image_path()), tmp_path / "map.npy"
    expected = _mean_feature_map(demo_model)
    for power in (1, 3):
        assert cli(["gradcam", "demo", image, "--method", "toycam", "--power", str(power),
                    "--unnormalized", "--heatmap-npy", str(npy), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["method"] == "Toy-CAM" and data["heatmap_shape"] == list(expected.shape)
        np.testing.assert_allclose(np.load(npy), expected ** power, rtol=1e-4,
                                   atol=1e-6)
    with pytest.raises(SystemExit):
        cli(["gradcam", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "toycam" in help_text and "--power POWER Toy-CAM: exponent of the mean feature map" \
        in help_text
    with pytest.raises(SystemExit) as exit_:
        cli(["gradcam", "demo", image, "--method", "toycam", "--power", "9"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "convviz: error: argument --power: must be from 1 to 4, not 9"


def test_a_toy_method_file_is_in_the_window_with_its_option(toy, qtbot, qapp, tmp_path):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from convviz_gui.ui.main_window import MainWindow

    window = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    window.show()
    try:
        window.files.open_model("demo")
        window.files.open_image(str(demo_image_path()))
        window.tabs.setCurrentWidget(window.gradcam_tab)
        tab = window.gradcam_tab
        wait_idle(qtbot, window)
        names = [tab.method.itemText(i) for i in range(tab.method.count())]
        assert names[-1] == "Toy-CAM" and "Toy-CAM" in tab.method.toolTip()
        assert tab.method.itemData(len(names) - 1, Qt.ItemDataRole.ToolTipRole) == toy.summary
        assert not tab.options.power.isVisibleTo(tab)
        qtbot.wait(QApplication.keyboardInputInterval() + 50)
        tab.method.setFocus()
        qtbot.keyClicks(tab.method, "Toy")
        assert tab.method.currentText() == "Toy-CAM"
        assert tab.options.power.isVisibleTo(tab) and not tab.options.top_n.isVisibleTo(tab)
        assert tab.options.power.toolTip() == "Toy-CAM: exponent of the mean feature map."
        wait_idle(qtbot, window)
        tab.options.power.setFocus()
        tab.options.power.selectAll()
        qtbot.keyClicks(tab.options.power, "2")
        qtbot.keyClick(tab.options.power, Qt.Key.Key_Return)
        job = window.runner.running("gradcam")
        assert job is not None and job.request.spec.options.power == 2
        # The engine process imports the toy's module from the request's method name.
        qtbot.waitUntil(lambda: tab.result is not None and tab.result.cam.method == "Toy-CAM",
                        timeout=WINDOW_TIMEOUT_MS)
        wait_idle(qtbot, window)
        assert window.errors_shown == [] and tab.result.cam.heatmap.max() == pytest.approx(1.0)
    finally:
        window.close()


def test_options_are_checked_against_the_declarations_and_travel_pickled():
    import pickle

    from convviz_gui.engine.cam import MethodOptions, Option
    from convviz_gui.engine.cam.base import Explainer
    from convviz_gui.engine.errors import ConvVizError

    with pytest.raises(ConvVizError, match="samples must be from 1 to 500, not 0"):
        MethodOptions(samples=0)
    with pytest.raises(ConvVizError, match="baseline must be one of black, blurred"):
        MethodOptions(baseline="white")
    with pytest.raises(TypeError, match="no option 'sample'"):
        MethodOptions(sample=3)
    options = MethodOptions(top_n=8, noise=0.15)
    assert options == MethodOptions(top_n=8) and options != MethodOptions()
    assert (options.top_n, options.noise, options.patch) == (8, 0.15, 0)
    assert pickle.loads(pickle.dumps(options)) == options
    with pytest.raises(ValueError, match="'gradcam' is"):
        type("Taken", (Explainer,), {"name": "Other", "key": "gradcam"})
    with pytest.raises(ValueError, match="declares the option top_n unlike Score-CAM"):
        type("Unlike", (Explainer,), {"name": "Unlike", "key": "unlike", "declared_options": (
            Option("top_n", "Maps", "other", 5),)})
    assert "Other" not in CAM_METHODS and "Unlike" not in CAM_METHODS


def test_a_method_whose_sign_means_something_gets_the_sign_option():
    """``sign_default`` on the class is the whole recipe: the ``sign`` option is offered
    (CLI flag, window box), ``auto`` being that default; a method without it draws positive."""
    from convviz_gui.engine.cam import Explainer, MethodOptions, method_class

    cls = type("SignedToy", (Explainer,), {"name": "Signed toy", "key": "signed-toy",
                                           "sign_default": "signed"})
    try:
        assert method_class("signed-toy") is cls and cls.option_fields == ("sign",)
        assert [cls.drawn_sign(MethodOptions(sign=sign)) for sign in ("auto", "positive",
                                                                      "signed")] == [
            "signed", "positive", "signed"]
        assert method_class("gradcam").drawn_sign(MethodOptions(sign="signed")) == "positive"
        assert "sign" not in method_class("gradcam").option_fields
    finally:
        unregister(cls)
    with pytest.raises(ValueError, match="sign_default must be '', 'positive' or 'signed'"):
        type("Bad", (Explainer,), {"name": "Bad", "key": "bad", "sign_default": "auto"})
