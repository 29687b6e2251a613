"""Feature-visualization targeting: the layer, objective and index checks that the window,
the CLI and the engine share (``engine/featurevis/targeting.py``, no TensorFlow)."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.featurevis.targeting import (
    FilterTarget,
    choose_filters,
    class_objective_size,
    find_target,
    parse_filter_range,
)
from convviz_gui.engine.layers import LayerInfo

from ..conftest import WINDOW_TIMEOUT_MS, wait_idle


@pytest.fixture()
def toy():
    """A model as the window sees it (plain data): a convolution, a nested base, a Dense."""
    inner = LayerInfo("block", "Conv2D", (None, 4, 4, 6), 0, ("base", "block"))
    tree = [LayerInfo("conv", "Conv2D", (None, 8, 8, 4), 0, ("conv",)),
            LayerInfo("base", "Functional", (None, 4, 4, 6), 0, ("base",), children=[inner]),
            LayerInfo("dense", "Dense", (None, 3), 0, ("dense",))]
    return SimpleNamespace(name="toy", layer_tree=tree, class_count=5)


def _message(check, *args) -> str:
    with pytest.raises(ConvVizError) as caught:
        check(*args)
    return str(caught.value)


def test_targeting_imports_no_tensorflow():
    """The window imports targeting: it must not load TensorFlow or Keras."""
    code = ("import json, sys\nimport convviz_gui.engine.featurevis.targeting\n"
            "import convviz_gui.engine.featurevis\n"
            "print(json.dumps([m for m in ('tensorflow', 'keras', 'PySide6') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_targets_each_objective_reads(toy):
    assert find_target(toy, "conv", "channel") == FilterTarget("conv", ("conv",), "channel", 4)
    assert find_target(toy, ("conv",), "neuron").count == 4
    assert find_target(toy, "block", "channel").path == ("base", "block")  # by name, nested
    assert find_target(toy, "base/block", "channel").name == "block"  # by path
    assert find_target(toy, "dense", "unit") == FilterTarget("dense", ("dense",), "unit", 3)
    # The class objective reads the model's output: the layer is ignored, the model named.
    assert find_target(toy, "conv", "class") == FilterTarget("toy", (), "class", 5)
    assert find_target(toy, None, "class").counted == "classes"


def test_rejects_layers_the_objective_cannot_read(toy):
    assert _message(find_target, toy, "dense", "channel") == (
        "dense has output (None, 3): the channel objective needs a convolution or pooling layer; "
        "use 'unit' for a Dense layer.")
    assert "the neuron objective needs a convolution" in _message(find_target, toy, "base", "neuron")
    assert _message(find_target, toy, "conv", "unit") == (
        "conv has output (None, 8, 8, 4): the unit objective needs a layer with a flat output "
        "such as Dense.")
    assert _message(find_target, toy, "nope", "channel") == (
        "No layer named 'nope' in toy; see 'convviz inspect'.")
    assert "Choose a layer" in _message(find_target, toy, None, "unit")
    assert _message(find_target, toy, "conv", "pixel") == (
        "Unknown objective 'pixel'; use one of channel, neuron, unit, class.")


def test_index_ranges(toy):
    assert parse_filter_range("0-3, 2,7") == [0, 1, 2, 3, 7]
    for text, expected in (("3-1", "is not a filter range"), ("a", "is not a filter range"),
                           ("-1", "is not a filter range"), (" , ", "selects no valid")):
        assert expected in _message(parse_filter_range, text)
    conv, dense = find_target(toy, "conv", "channel"), find_target(toy, "dense", "unit")
    conv.check([0, 3])
    assert _message(conv.check, [2, 4]) == "conv has 4 filters (0-3); filter 4 does not exist."
    assert _message(dense.check, [3]) == "dense has 3 units (0-2); unit 3 does not exist."
    assert _message(find_target(toy, None, "class").check, [5]) == (
        "toy has 5 classes (0-4); class 5 does not exist.")
    assert _message(conv.check, []) == "Choose at least one filter."
    target, indices = choose_filters(toy, "dense", "unit", "0,2")
    assert target.path == ("dense",) and indices == [0, 2]


def test_the_class_objective_uses_the_models_own_size():
    assert class_objective_size((64, 64, 1)) == 64
    assert class_objective_size((32, 48, 3)) == 48  # the larger side
    assert class_objective_size((None, None, 3)) is None  # dynamic: the chosen size stays


# (layer, style, objective, filters): one bad request each, as the user would type it.
BAD_REQUESTS = [
    ("global_average_pooling2d_1", "reference", "channel", "0"),
    ("conv2d_7", "clear", "unit", "0"),
    ("conv2d_1", "reference", "channel", "0-99"),
    ("predictions", "clear", "unit", "7"),
    (None, "clear", "class", "3,9"),
    ("conv2d_1", "reference", "channel", "zero to ten"),
    ("separable_conv2d_5", "clear", "neuron", "5-2"),
    ("conv2d_1", "reference", "channel", "0-99999999999"),  # once a MemoryError in a dialog
]


def _cli_error(capsys, layer, style, objective, filters) -> str:
    from convviz_gui.cli import main

    args = ["filters", "demo", "--filters", filters, "--style", style]
    args += ["--layer", layer] if layer else []
    args += ["--objective", objective] if style == "clear" else []
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("convviz: error: ") and len(err.splitlines()) == 1
    return err.removeprefix("convviz: error: ")


def _window_error(qtbot, window, layer, style, objective, filters) -> str:
    from PySide6.QtCore import Qt

    tab = window.filters_tab
    if layer:
        window.tree.select_path((layer,))
        assert window.session.layer.name == layer
    tab.style_combo.setCurrentIndex(tab.style_combo.findData(style))
    tab.objective.setCurrentIndex(tab.objective.findData(objective))
    tab.range_edit.setText(filters)  # after the objective: the class objective fits the range
    errors = len(window.errors_shown)
    qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
    assert tab.job.run_button.isEnabled() and len(window.errors_shown) == errors  # nothing started
    return tab.range_note.text()


def test_window_cli_and_engine_say_the_same(qtbot, demo_window, demo_model, capsys):
    """The same bad request gets the same sentence from the window (beside the controls),
    the CLI (its one error line) and the engine, all from ``targeting``."""
    from convviz_gui.engine.featurevis import visualize_filters
    from convviz_gui.engine.featurevis.settings import ClearSettings, FilterSettings

    window = demo_window
    qtbot.waitUntil(lambda: window.session.model is not None, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    window.tabs.setCurrentWidget(window.filters_tab)
    for layer, style, objective, filters in BAD_REQUESTS:
        expected = _message(choose_filters, window.session.model, layer, objective, filters)
        assert _cli_error(capsys, layer, style, objective, filters) == expected
        assert _window_error(qtbot, window, layer, style, objective, filters) == expected
        try:
            indices = parse_filter_range(filters)
        except ConvVizError:
            continue  # the engine takes indices, not the typed text
        settings = FilterSettings.for_style(style, steps=1, size=32,
                                            clear=ClearSettings(objective=objective))
        path = (layer,) if layer else ()
        assert _message(visualize_filters, demo_model, path, indices, settings) == expected
    window.filters_tab.style_combo.setCurrentIndex(0)  # the next tests expect the reference
    window.filters_tab.range_edit.setText("0-7")


# Typed into the range box as a user might: huge, negative, empty, non-ASCII, pasted prose.
FUZZ = ["0-99999999999", "99999999999999999999999", "-5", "", "   ", "0--3", "٣-٧", "0-7,",
        "1e9", "0x10", "0-" + "9" * 400, "猫", "0-3;4", "½"]


def test_any_typed_range_gets_a_sentence_beside_the_controls(qtbot, demo_window):
    """No text typed into the range box reaches a dialog or a traceback: Run either starts
    a job or says why not beside the controls."""
    from PySide6.QtCore import Qt

    from ..ui.test_window_fuzz import type_over

    window = demo_window
    qtbot.waitUntil(lambda: window.session.model is not None, timeout=WINDOW_TIMEOUT_MS)
    wait_idle(qtbot, window)
    window.tabs.setCurrentWidget(window.filters_tab)
    window.tree.select_path(("conv2d_1",))
    tab = window.filters_tab
    tab.style_combo.setCurrentIndex(tab.style_combo.findData("reference"))
    errors = len(window.errors_shown)
    for text in FUZZ:
        type_over(qtbot, tab.range_edit, text)
        assert tab.range_edit.text() == text
        qtbot.mouseClick(tab.job.run_button, Qt.MouseButton.LeftButton)
        if window.runner.running("filters") is not None:  # "٣-٧" is 3-7: a real request
            tab.job.cancel()
            wait_idle(qtbot, window)
            continue
        assert tab.range_note.text(), text
        assert "Unexpected" not in tab.range_note.text() and "Traceback" not in tab.range_note.text()
    assert len(window.errors_shown) == errors
    tab.range_edit.setText("0-7")
