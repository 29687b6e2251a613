"""Which keras.applications architectures, built in tf-keras (Keras 2) and saved as .h5, open
in ConvViz with the predictions tf-keras gives.

Each architecture is built at weights=None and 96 px (1000 classes) by tests/tf_keras_maker.py
in its own process (tf-keras never shares a process with Keras 3); the files are kept in
--cache. Then each file is opened with ``convviz predict FILE IMAGE --preprocess none --json``
and its 1000 outputs compared with tf-keras': equal when the largest difference is at most
1e-4 of the outputs' scale (their largest magnitude, at least 1). Run by hand:
``python bench/keras2_applications.py``. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import benchlib  # noqa: F401  (sys.path first)
import numpy as np

ARCHITECTURES = ("MobileNetV2", "MobileNet", "ResNet50", "EfficientNetB0", "DenseNet121",
                 "Xception", "VGG16", "InceptionV3", "NASNetMobile", "RegNetX002",
                 "ConvNeXtTiny", "EfficientNetV2B0", "MobileNetV3Small", "ResNet50V2")
TOLERANCE = 1e-4
MAKER = benchlib.ROOT / "tests" / "tf_keras_maker.py"


def make_files(cache: Path, names: tuple[str, ...]) -> dict:
    """The tf-keras files and expected outputs, made once (missing ones only)."""
    expected_path = cache / "expected.json"
    expected = json.loads(expected_path.read_text()) if expected_path.exists() else {}
    missing = [f"app:{name}" for name in names if f"app:{name}" not in expected]
    if missing:
        subprocess.run([sys.executable, str(MAKER), str(cache), *missing], check=False)
        expected = json.loads(expected_path.read_text())
    return expected


def check(cache: Path, entry: dict) -> tuple[str, float | None]:
    """ConvViz's verdict on one file: 'ok', 'WRONG' or its error line, and the max difference."""
    from convviz_gui.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = ["predict", str(cache / entry["file"]), str(cache / entry["image"]),
            "--preprocess", "none", "--top", str(len(entry["outputs"])), "--json"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    if code:
        return err.getvalue().strip().splitlines()[-1][:150], None
    got = np.zeros(len(entry["outputs"]))
    for prediction in json.loads(out.getvalue())["predictions"]:
        got[prediction["index"]] = prediction["score"]
    expected = np.asarray(entry["outputs"])
    difference = float(np.max(np.abs(got - expected)))
    scale = max(1.0, float(np.max(np.abs(expected))))
    return ("ok" if difference <= TOLERANCE * scale else "WRONG"), difference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/convviz-keras2-apps"))
    parser.add_argument("names", nargs="*", default=list(ARCHITECTURES))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    expected = make_files(args.cache, tuple(args.names))
    results = {}
    print(f"{'architecture':<18} {'max |diff|':>11}  verdict")
    for name in args.names:
        entry = expected.get(f"app:{name}")
        verdict, difference = check(args.cache, entry) if entry else ("tf-keras cannot build", None)
        results[name] = verdict
        shown = f"{difference:.2e}" if difference is not None else "-"
        print(f"{name:<18} {shown:>11}  {verdict}", flush=True)
    opened = sum(verdict == "ok" for verdict in results.values())
    print(f"{opened}/{len(results)} open with equal predictions (|diff| <= {TOLERANCE} x scale)")
    benchlib.print_json({"opened_equal": opened, "total": len(results)})


if __name__ == "__main__":
    main()
