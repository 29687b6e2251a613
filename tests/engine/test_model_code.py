"""Models with custom classes (the user gives their code), KerasHub models, subclassed models,
and the CLI's output piped into a reader that goes away."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from convviz_gui.cli import main

from ..conftest import WINDOW_TIMEOUT_MS, shared, wait_idle

ZOO = {
    "__init__.py": "",
    "attention.py": '''
        import keras


        @keras.saving.register_keras_serializable(package="zoo")
        class ChannelAttention(keras.layers.Layer):
            """Squeeze-and-excitation: channels weighted by their global average."""

            def __init__(self, ratio=2, **kwargs):
                super().__init__(**kwargs)
                self.ratio = ratio

            def build(self, input_shape):
                channels = input_shape[-1]
                self.squeeze = keras.layers.Dense(channels // self.ratio, activation="relu")
                self.excite = keras.layers.Dense(channels, activation="sigmoid")

            def call(self, inputs):
                weights = self.excite(self.squeeze(keras.ops.mean(inputs, axis=(1, 2))))
                return inputs * weights[:, None, None, :]

            def get_config(self):
                return {**super().get_config(), "ratio": self.ratio}


        @keras.saving.register_keras_serializable(package="zoo")
        class Net(keras.Model):
            """A subclassed model: no functional graph."""

            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.conv = keras.layers.Conv2D(4, 3)
                self.pool = keras.layers.GlobalAveragePooling2D()
                self.head = keras.layers.Dense(3)

            def call(self, inputs):
                return self.head(self.pool(self.conv(inputs)))
    ''',
}
MODELS = ("attention.keras", "attention.h5")
IMAGE = shared("images", "chelsea.png")


def _forget_zoo() -> None:
    """The test process forgets the zoo classes, as a new ConvViz process would not know them."""
    import keras

    for name in [key for key in keras.saving.get_custom_objects() if key.startswith("zoo>")]:
        keras.saving.get_custom_objects().pop(name)
    for name in [key for key in sys.modules if key.split(".")[0] in ("zoo", "broken", "other", "changed")]:
        sys.modules.pop(name)


@pytest.fixture(scope="module")
def built(tmp_path_factory, keras):
    """The zoo package, a functional model using ChannelAttention (.keras and .h5), a subclassed
    model, and the scores the in-memory model gives the cat photo."""
    from convviz_gui.engine.images import load_image
    from convviz_gui.engine.models import LoadedModel

    folder = tmp_path_factory.mktemp("built")
    for name, text in ZOO.items():
        (folder / "zoo").mkdir(exist_ok=True)
        (folder / "zoo" / name).write_text(textwrap.dedent(text), encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        zoo = importlib.import_module("zoo.attention")
        inputs = keras.Input((32, 32, 3))
        x = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
        x = zoo.ChannelAttention(name="attention")(x)
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
        model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="out")(x),
                            name="attention_net")
        for name in MODELS:
            model.save(folder / name)
        net = zoo.Net()
        net(np.zeros((1, 32, 32, 3), np.float32))
        net.save(folder / "net.keras")
        batch = LoadedModel(model, "reference", "", "unit", ()).prepare(load_image(IMAGE))
        scores = np.asarray(model(batch))[0]
    finally:
        sys.path.remove(str(folder))
        _forget_zoo()
    return folder, scores


@pytest.fixture
def case(built, tmp_path):
    """A fresh copy of the models and the zoo package (no sidecar yet); forgets zoo after."""
    folder, _ = built
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    path_before = list(sys.path)
    yield tmp_path
    sys.path[:] = path_before
    _forget_zoo()


def _cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err.strip()


def _scores(out: str) -> np.ndarray:
    return np.array([p["score"] for p in sorted(json.loads(out)["predictions"],
                                                key=lambda p: p["index"])])


@pytest.mark.parametrize("model", MODELS)
def test_missing_custom_layer_is_named(case, capsys, model):
    code, _, err = _cli(["inspect", case / model], capsys)
    assert code == 2 and "\n" not in err
    assert err.startswith(f"convviz: error: {model} uses the custom layer 'ChannelAttention' "
                          "(package 'zoo'")
    assert "whose code ConvViz does not have" in err and "--model-code FILE.py" in err


@pytest.mark.parametrize("model", MODELS)
def test_model_code_opens_predicts_and_is_remembered(built, case, capsys, model):
    _, expected = built
    code_file = case / "zoo" / "attention.py"
    args = ["predict", case / model, IMAGE, "--top", "3", "--json", "--trust-model-code"]
    code, out, err = _cli([*args, "--model-code", code_file], capsys)
    assert code == 0, err
    np.testing.assert_allclose(_scores(out), expected, atol=2e-6)
    sidecar = json.loads((case / "attention.convviz.json").read_text(encoding="utf-8"))
    assert sidecar["model_code"] == ["zoo/attention.py"]  # relative: the folder can move

    _forget_zoo()  # as the next ConvViz process: only the sidecar names the code
    code, out, err = _cli(args, capsys)
    assert code == 0, err
    np.testing.assert_allclose(_scores(out), expected, atol=2e-6)

    _forget_zoo()
    code, _, err = _cli(["inspect", case / model], capsys)  # remembered code still needs consent
    assert code == 2 and "\n" not in err
    assert "attention.py" in err and err.endswith("Add --trust-model-code to run it.")


def test_module_name_on_sys_path(built, case, capsys, monkeypatch):
    _, expected = built
    monkeypatch.syspath_prepend(str(case))
    code, out, err = _cli(["predict", case / "attention.keras", IMAGE, "--json",
                           "--model-code", "zoo.attention", "--trust-model-code"], capsys)
    assert code == 0, err
    np.testing.assert_allclose(_scores(out), expected, atol=2e-6)


def test_model_code_without_consent_names_the_flag(case, capsys):
    code, _, err = _cli(["inspect", case / "attention.keras", "--model-code",
                         case / "zoo" / "attention.py"], capsys)
    assert code == 2 and "\n" not in err
    assert err == ("convviz: error: attention.keras needs its Python code from attention.py, which "
                   "runs when loaded; open it only if you trust its author. "
                   "Add --trust-model-code to run it.")
    assert not (case / "attention.convviz.json").exists()


@pytest.mark.parametrize("code_file, text, message", [
    ("gone.py", None, "The model code file gone.py does not exist."),
    ("broken.py", "raise RuntimeError('no GPU here')\n",
     "Importing the model code broken.py failed (RuntimeError: no GPU here)."),
    ("other.py", "import keras\n\nclass Attention(keras.layers.Layer):\n    pass\n",
     "other.py does not define the custom layer 'ChannelAttention' (package 'zoo', "
     "module 'zoo.attention')."),
    ("no_such_module", None, "No module named 'no_such_module' can be imported"),
    ("changed.py", "import keras\n\n@keras.saving.register_keras_serializable(package='zoo')\n"
                   "class ChannelAttention(keras.layers.Layer):\n    pass\n",
     "Cannot open attention.keras with the model code changed.py (ValueError: Unrecognized keyword "
     "arguments passed to ChannelAttention: {'ratio': 2})."),
])
def test_bad_model_code_is_one_sentence(case, capsys, code_file, text, message):
    entry = case / code_file if code_file.endswith(".py") else code_file
    if text is not None:
        entry.write_text(text, encoding="utf-8")
    code, _, err = _cli(["inspect", case / "attention.keras", "--model-code", entry,
                         "--trust-model-code"], capsys)
    assert code == 2 and "\n" not in err and err.startswith("convviz: error: ")
    assert message in err


def test_model_code_is_for_model_files(capsys):
    code, _, err = _cli(["inspect", "demo", "--model-code", "zoo.attention"], capsys)
    assert (code, err) == (2, "convviz: error: Model code is for your own model files, not the "
                              "demo model.")


def test_report_takes_model_code(case, capsys):
    out_file = case / "report.html"
    code, out, err = _cli(["report", case / "attention.keras", IMAGE, "--out", out_file, "--json",
                           "--model-code", case / "zoo" / "attention.py", "--trust-model-code"],
                          capsys)
    assert code == 0, err
    assert len(json.loads(out)["images"]) == 1 and out_file.stat().st_size > 1000


@pytest.mark.parametrize("with_code", [False, True])
def test_subclassed_model_asks_for_a_functional_one(case, capsys, with_code):
    extra = ["--model-code", case / "zoo" / "attention.py", "--trust-model-code"] if with_code else []
    code, _, err = _cli(["inspect", case / "net.keras", *extra], capsys)
    assert code == 2 and "\n" not in err
    assert err == ("convviz: error: net.keras is a subclassed Keras model ('Net') with no layer "
                   "graph; ConvViz needs a functional or Sequential model: rebuild it "
                   "functionally (with keras.Input) and save it again.")


def test_window_loads_model_code(qapp, qtbot, case, tmp_path_factory, monkeypatch):
    """Model > Load Model Code…: the file dialog, the consent dialog, then the model's tree."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from convviz_gui.ui.main_window import MainWindow

    settings = QSettings(str(tmp_path_factory.mktemp("settings") / "s.ini"),
                         QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.show()
    try:
        model = case / "attention.keras"
        window.files.open_model(str(model))
        qtbot.waitUntil(lambda: bool(window.errors_shown), timeout=WINDOW_TIMEOUT_MS)
        assert "uses the custom layer 'ChannelAttention'" in window.errors_shown[-1]
        assert "Model > Load Model Code…" in window.errors_shown[-1]
        window.last_error_dialog.close()

        code_file = case / "zoo" / "attention.py"
        asked = []
        monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                            lambda *args, **kwargs: asked.append(args) or ([str(code_file)], ""))
        monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *args:
                            asked.append(text) or QMessageBox.StandardButton.Yes)
        load_code = next(found for found in window.findChildren(type(window.menuBar().actions()[0]))
                         if found.text() == "Load Model &Code…")
        load_code.trigger()
        qtbot.waitUntil(lambda: window.session.model is not None, timeout=WINDOW_TIMEOUT_MS)
        wait_idle(qtbot, window)
        assert "Importing attention.py runs its code" in asked[-1]
        source = window.tree.source
        rows = [(source.item(row, 0).text(), source.item(row, 1).text())
                for row in range(source.rowCount())]
        assert ("attention", "ChannelAttention") in rows and rows[-1] == ("out", "Dense")
        assert window.session.model.ref.code == (str(code_file),)
        assert json.loads((case / "attention.convviz.json").read_text())["model_code"] == [
            "zoo/attention.py"]
        assert len(window.errors_shown) == 1

        opened = window.session.model
        window.files.open_model(str(model))  # as from Recent Models: the sidecar names the code
        qtbot.waitUntil(lambda: window.session.model is not opened, timeout=WINDOW_TIMEOUT_MS)
        assert "needs its Python code from attention.py" in asked[-1]
        assert window.session.model.ref.trust_code and len(window.errors_shown) == 1
    finally:
        window.close()


# ----- KerasHub -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hub_model(tmp_path_factory, keras):
    """A KerasHub ResNet image classifier built from its config (random weights, 32 px)."""
    keras_hub = pytest.importorskip("keras_hub")
    from convviz_gui.engine.images import load_image
    from convviz_gui.engine.models import LoadedModel

    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64, 32],
        stackwise_num_blocks=[1, 1], stackwise_num_strides=[1, 2], block_type="basic_block",
        use_pre_activation=False, image_shape=(32, 32, 3))
    classifier = keras_hub.models.ImageClassifier(backbone=backbone, num_classes=4,
                                                  activation="softmax")
    path = tmp_path_factory.mktemp("hub") / "hub_resnet.keras"
    classifier.save(path)
    batch = LoadedModel(classifier, "reference", "", "unit", ()).prepare(load_image(IMAGE))
    return path, np.asarray(classifier(batch))[0]


def test_keras_hub_classifier_opens_and_predicts(hub_model, capsys):
    path, expected = hub_model
    code, out, err = _cli(["predict", path, IMAGE, "--top", "4", "--json"], capsys)
    assert code == 0, err
    np.testing.assert_allclose(_scores(out), expected, atol=2e-6)
    code, out, err = _cli(["inspect", path, "--json"], capsys)
    assert code == 0 and json.loads(out)["default_cam_layer"].startswith("res_net_backbone/")


@pytest.mark.parametrize("frozen, sentence", [
    (False, "hub_resnet.keras was saved from keras_hub, which is not installed; "
            'install it with pip install "convviz[hub]" (or pip install keras-hub).'),
    # the self-contained app (convviz.spec) cannot take packages: ConvViz from pip can
    (True, "hub_resnet.keras was saved from keras_hub, which this ConvViz app does not include; "
           'to open KerasHub models, install ConvViz from pip with it (pip install "convviz[hub]") '
           "and open the model there."),
])
def test_keras_hub_missing_names_the_install_command(hub_model, frozen, sentence):
    path, _ = hub_model
    hide_hub = (f"import sys; sys.modules['keras_hub'] = None; sys.frozen = {frozen}; "
                "from convviz_gui.cli import main; raise SystemExit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", hide_hub, "inspect", str(path)],
                            capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert result.returncode == 2
    assert result.stderr.strip() == f"convviz: error: {sentence}"


# ----- piped output -------------------------------------------------------------------------------
def test_reader_going_away_ends_quietly():
    """`convviz inspect demo --json | head -1` when the reader has gone: no traceback, exit 1."""
    process = subprocess.Popen([sys.executable, "-m", "convviz_gui", "inspect", "demo", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               cwd=Path(__file__).parents[2])
    process.stdout.close()  # the reader is gone before ConvViz writes
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1
    assert stderr == ""
