"""Batch report benchmark: images per second of ``convviz report`` against the single-image
CLI in a shell loop (``convviz gradcam IMAGE --out IMAGE.png`` as a process per image).

Run by hand: ``python bench/report.py``. One run of each, on the demo (mini-Xception, 64 px)
and on Xception 299 px with random weights (``app:Xception:none``: pretrained weights cannot
be downloaded here), Grad-CAM at the default layer, each image's top class. Folders of copies
of the three shared photos (451x300 to 600x400 px).

Rows: (1) the report as one process (start-up and model load included) writing HTML, and
inside its operation (model load and compile still included); (2) the
loop, a process per image writing its figure, as a user's shell loop would; (3) in one warm
process (model loaded, graphs compiled): the batched explanation (``ExplainImages``) against
the single-image ``Explain`` per image, which isolates batching from start-up; (4) the report
operation warm, HTML and PDF, which adds the drawing and encoding. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib

CASES = {"demo": "demo", "xception": "app:Xception:none"}
PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png")


def image_folder(root: Path, count: int) -> list[Path]:
    """``count`` copies of the shared photos, in turn, named img_000.png..."""
    folder = root / "images"
    folder.mkdir()
    paths = [folder / f"img_{number:03d}.png" for number in range(count)]
    for number, path in enumerate(paths):
        shutil.copy(benchlib.SHARED_IMAGES / PHOTOS[number % len(PHOTOS)], path)
    return paths


def convviz(*args: str) -> tuple[float, str]:
    """Wall seconds and stdout of ``python -m convviz_gui ARGS`` in a fresh process."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "convviz_gui", *args], capture_output=True,
                          text=True, cwd=benchlib.ROOT)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"convviz {' '.join(args)} failed: {done.stderr[-800:]}")
    return seconds, done.stdout


def cold(spec: str, paths: list[Path], root: Path) -> dict:
    """The report as one process against a process per image."""
    report_s, out = convviz("report", spec, str(paths[0].parent), "--out",
                            str(root / "report.html"), "--json")
    inside_s = json.loads(out)["seconds"]
    loop_started = time.perf_counter()
    for path in paths:
        convviz("gradcam", spec, str(path), "--out", str(path.with_suffix(".cam.png")), "--json")
    loop_s = time.perf_counter() - loop_started
    return {"report_s": report_s, "report_inside_s": inside_s, "loop_s": loop_s}


def warm(spec: str, paths: list[Path], root: Path) -> dict:
    """Batched against per-image explanations, and the report operation, in one process."""
    from convviz_gui.ops.base import ImageRef, ModelRef
    from convviz_gui.ops.compare import ExplainImages
    from convviz_gui.ops.context import OpContext, Workspace
    from convviz_gui.ops.explain import Explain
    from convviz_gui.ops.registry import run
    from convviz_gui.ops.report import BatchReport

    context, model = OpContext(Workspace()), ModelRef(spec)
    refs = tuple(ImageRef(str(path)) for path in paths)
    run(ExplainImages(model, refs), context)  # load, and compile at the batch sizes used
    run(Explain(model, refs[0]), context)

    def timed(request_or_requests) -> float:
        started = time.perf_counter()
        for request in request_or_requests:
            run(request, context)
        return time.perf_counter() - started

    return {"batched_s": timed([ExplainImages(model, refs)]),
            "single_s": timed([Explain(model, ref) for ref in refs]),
            "report_html_s": timed([BatchReport(model, (str(paths[0].parent),),
                                                str(root / "warm.html"))]),
            "report_pdf_s": timed([BatchReport(model, (str(paths[0].parent),),
                                               str(root / "warm.pdf"))]),
            "onednn": benchlib.onednn_enabled(), "peak_rss_mib": benchlib.peak_rss_mib()}


def side_main(case: str, count: int) -> None:
    """Child process: the warm measurements of one case, as JSON."""
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        print(json.dumps(warm(CASES[case], image_folder(root, count), root)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo-images", type=int, default=24)
    parser.add_argument("--xception-images", type=int, default=16)
    parser.add_argument("--warm", choices=list(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warm:
        side_main(args.warm, args.count)
        return
    figures, rows = {}, []
    for case, count in (("demo", args.demo_images), ("xception", args.xception_images)):
        with tempfile.TemporaryDirectory() as temp:
            root = Path(temp)
            measured = cold(CASES[case], image_folder(root, count), root)
        code, warm_side = benchlib.run_json(Path(__file__), ["--warm", case, "--count", str(count)])
        if warm_side is None:
            raise SystemExit(f"the warm measurement of {case} failed (exit {code})")
        measured.update(warm_side, images=count)
        speed = {key: count / measured[f"{key}_s"] for key in
                 ("report", "report_inside", "loop", "batched", "single", "report_html",
                  "report_pdf")}
        figures[case] = {**{f"{key}_images_per_s": value for key, value in speed.items()},
                         "report_vs_loop": speed["report"] / speed["loop"],
                         "batched_vs_single": speed["batched"] / speed["single"],
                         "onednn": measured["onednn"], "peak_rss_mib": measured["peak_rss_mib"]}
        rows += [
            (f"{case}: convviz report, one process, HTML (images/s)", f"{speed['report']:.2f}",
             f"{speed['report_inside']:.2f} in the operation"),
            (f"{case}: convviz gradcam --out, a process per image (images/s)",
             f"{speed['loop']:.2f}", ""),
            (f"{case}: report / loop", f"{speed['report'] / speed['loop']:.1f}x", "> 1"),
            (f"{case}: warm, batched explanation (images/s)", f"{speed['batched']:.2f}", ""),
            (f"{case}: warm, Explain per image (images/s)", f"{speed['single']:.2f}", ""),
            (f"{case}: warm, batched / per image", f"{speed['batched'] / speed['single']:.1f}x",
             ""),
            (f"{case}: warm report operation, HTML / PDF (images/s)",
             f"{speed['report_html']:.1f} / {speed['report_pdf']:.1f}", ""),
        ]
    benchlib.print_table(f"Batch report vs a shell loop of the single-image CLI "
                         f"({args.demo_images} demo / {args.xception_images} Xception images, "
                         "Grad-CAM, one run)", rows)
    benchlib.print_json(figures)


if __name__ == "__main__":
    main()
