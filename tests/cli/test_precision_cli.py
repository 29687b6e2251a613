"""``--precision`` on the CLI: parsed, used, and said in every JSON."""

from __future__ import annotations

import json

import pytest

from convviz_gui.cli import main
from convviz_gui.engine.models import demo_image_path
from convviz_gui.engine.precision import detect, fast_types, resolve

DEMO_IMAGE = str(demo_image_path())


def run_json(capsys, *args) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_bad_precision_is_one_error_line(capsys):
    with pytest.raises(SystemExit) as stopped:  # argparse's own exit
        main(["predict", "demo", DEMO_IMAGE, "--precision", "fp8"])
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convviz: error:")
    assert "--precision" in lines[0] and "bfloat16" in lines[0]


def test_every_json_says_the_precision(capsys):
    auto = run_json(capsys, "inspect", "demo")
    assert auto["precision"] == resolve("auto").describe()
    assert main(["predict", "demo", DEMO_IMAGE, "--precision", "bfloat16", "--json"]) == 0
    printed = capsys.readouterr()
    reduced = json.loads(printed.out)
    emulated = "bfloat16" not in fast_types(detect())
    assert ("convviz: note: this machine has no bfloat16 units" in printed.err) == emulated
    full = run_json(capsys, "predict", "demo", DEMO_IMAGE, "--precision", "float32")
    assert (reduced["precision"], full["precision"]) == ("bfloat16", "float32")
    assert reduced["predictions"][0]["label"] == full["predictions"][0]["label"] == "happy"
    assert reduced["predictions"][0]["score"] != full["predictions"][0]["score"]  # it did run
    cam = run_json(capsys, "gradcam", "demo", DEMO_IMAGE, "--precision", "float16")
    assert cam["precision"] == "float16" and cam["layer"] == "conv2d_7"
