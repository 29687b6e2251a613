"""The model zoo (``tests/zoo.py``) through ConvViz: one Markdown row per model.

Run by hand: ``python bench/zoo_report.py [--out zoo.md] [--only NAME,...] [--all]``.
Each model is built into a temporary folder, opened as the CLI opens it (the operations
layer), and tried view by view: inspect (default CAM layer, output kind), the pixels it is
fed, predict (from the right head?), activations and filters 0-3 x 10 steps at the default
CAM layer (do they rise?), Grad-CAM at the default layer, Occlusion and Saliency. A cell is
``ok``, ``FAIL(reason)`` (an error) or ``WRONG(reason)`` (shown without warning, but wrong);
the checks are ``tests/zoo_checks.py``, the same as ``tests/engine/test_model_zoo.py``. The whole
zoo takes about 5 minutes on 2 cores; ``--all`` adds the big Keras Applications variants
(much longer, and several GB of temporary files).
"""

from __future__ import annotations

import argparse
import gc
import shutil
import tempfile
import time
from pathlib import Path

import benchlib  # noqa: F401  (repository on sys.path, offscreen Qt)

import convviz_gui.engine  # noqa: F401  (TensorFlow environment before TF loads)
from tests import zoo_checks as checks
from tests.zoo import EXTENDED, ZOO

COLUMNS = ("opens", "inspect", "input", "predict", "activations", "filters", "grad-cam",
           "occlusion", "saliency")


def model_row(name: str, folder: Path) -> tuple[dict[str, checks.Verdict], float]:
    """Build one zoo model in ``folder`` and run every check; (verdicts, seconds)."""
    started = time.perf_counter()
    try:
        built = EXTENDED[name](folder)
    except Exception as exc:  # noqa: BLE001 (a builder that cannot run is a row too)
        return {"opens": checks.Verdict("FAIL", f"zoo builder: {checks.failed(exc).reason}")}, 0.0
    session = checks.Session.open(built)
    row = {"opens": checks.check_opens(session)}
    if row["opens"].ok:
        default = session.summary.default_cam_path
        row.update({
            "inspect": checks.check_inspect(session),
            "input": checks.check_input(session),
            "predict": checks.check_predict(session),
            "activations": checks.check_activations(session, default),
            "filters": checks.check_filters(session, default),
            "grad-cam": checks.check_gradcam(session),
            "occlusion": checks.check_occlusion(session),
            "saliency": checks.check_saliency(session),
        })
    seconds = time.perf_counter() - started
    print(f"{name}: {seconds:.0f} s (build {seconds - sum(session.seconds.values()):.0f}, "
          + ", ".join(f"{step} {value:.1f}" for step, value in session.seconds.items()) + ")",
          flush=True)
    return row, seconds


def markdown(rows: dict[str, tuple[dict[str, checks.Verdict], float]]) -> str:
    """The table, then a count of ok / FAIL / WRONG cells."""
    def escape(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| model | " + " | ".join(COLUMNS) + " | s |",
             "|" + " --- |" * (len(COLUMNS) + 2)]
    counts = {"ok": 0, "FAIL": 0, "WRONG": 0}
    for name, (row, seconds) in rows.items():
        cells = []
        for column in COLUMNS:
            verdict = row.get(column)
            cells.append(escape(verdict.cell()) if verdict else "-")
            if verdict:
                counts[verdict.status] += 1
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {seconds:.0f} |")
    lines.append("")
    lines.append(f"{len(rows)} models: {counts['ok']} ok, {counts['FAIL']} FAIL, "
                 f"{counts['WRONG']} WRONG cells ('-': not run, the model did not open).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    parser.add_argument("--only", help="comma-separated zoo names")
    parser.add_argument("--all", action="store_true", help="add the big Applications variants")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(EXTENDED if args.all else ZOO)
    rows = {}
    started = time.perf_counter()
    for name in names:
        folder = Path(tempfile.mkdtemp(prefix=f"zoo_{name}_"))
        try:
            rows[name] = model_row(name, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            gc.collect()
    table = markdown(rows) + f"\nTotal {time.perf_counter() - started:.0f} s.\n"
    print(table)
    if args.out:
        args.out.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
