"""Large-photo benchmark: open a file and prepare a 64x64 grayscale model input, each run in
a fresh process so that its peak memory is the case's own (imports of numpy/Pillow included).

Cases: a 40 MP JPEG (7300x5500, a real photo upscaled with film grain, quality 90) and a
9000x7000 PNG, each opened reduced (``load_image``'s default ``DISPLAY_MAX_SIDE``) and at full
resolution (``max_side=None``, the old behaviour, as the reference). Run by hand:
``python bench/images.py``. Targets for the JPEG: < 3 s and < 600 MiB peak RSS. Ends with one
JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()

import benchlib  # noqa: E402  (sys.path first)

TARGET_SECONDS = 3.0
TARGET_RSS_MIB = 600.0
MODEL_SIDE = 64


def input_paths(folder: Path) -> dict[str, Path]:
    """Title -> path of the two test files."""
    return {"40 MP JPEG 7300x5500": folder / "photo_7300x5500_q90.jpg",
            "63 MP PNG 9000x7000": folder / "scan_9000x7000.png"}


def make_inputs(folder: str) -> None:
    """Generate the missing test files from a real photo (run in its own process: a parent's
    peak RSS is inherited by the children it starts, and would hide theirs)."""
    from PIL import Image, ImageChops

    Path(folder).mkdir(parents=True, exist_ok=True)
    jpeg, png = input_paths(Path(folder)).values()
    photo = Image.open(benchlib.SHARED_IMAGES / "coffee.png").convert("RGB")
    if not jpeg.exists():
        big = photo.resize((7300, 5500), Image.Resampling.BICUBIC)
        grain = Image.effect_noise(big.size, 10).convert("RGB")  # sensor noise: photo-like size
        ImageChops.add(big, grain, offset=-128).save(jpeg, quality=90)
    if not png.exists():
        photo.resize((9000, 7000), Image.Resampling.BICUBIC).save(png, compress_level=3)


def child(path: str, max_side: str) -> None:
    """One case in this (fresh) process: print its timings and peak RSS as JSON."""
    from convviz_gui.engine.images import DISPLAY_MAX_SIDE, load_image, to_model_pixels

    imported = time.perf_counter()
    image = load_image(path, None if max_side == "none" else DISPLAY_MAX_SIDE)
    pixels = to_model_pixels(image, MODEL_SIDE, MODEL_SIDE, 1)
    done = time.perf_counter()
    print(json.dumps({"open_s": done - imported, "process_s": done - STARTED,
                      "peak_rss_mib": benchlib.peak_rss_mib(), "rgb_shape": list(image.rgb.shape),
                      "size": list(image.size), "pixels_shape": list(pixels.shape),
                      "max_side": None if max_side == "none" else DISPLAY_MAX_SIDE}))


def run_case(path: Path, max_side: str, runs: int) -> dict:
    """Median times and the largest peak RSS over ``runs`` fresh processes."""
    results = []
    for _ in range(runs):
        output = subprocess.run([sys.executable, __file__, "--child", str(path), max_side],
                                check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    return {"open_s": statistics.median(r["open_s"] for r in results),
            "process_s": statistics.median(r["process_s"] for r in results),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in results),
            **{key: results[0][key] for key in ("rgb_shape", "size", "max_side")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--folder", type=Path,
                        default=Path(tempfile.gettempdir()) / "convviz-bench-images")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "none|default"), help=argparse.SUPPRESS)
    parser.add_argument("--make", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child or args.make:
        child(*args.child) if args.child else make_inputs(args.make)
        return
    # No numpy/Pillow here: this process stays small so that the children's peaks are their own.
    subprocess.run([sys.executable, __file__, "--make", str(args.folder)], check=True)
    figures: dict = {}
    for (title, path), key in zip(input_paths(args.folder).items(), ("jpeg", "png"), strict=True):
        reference = run_case(path, "none", args.runs)
        new = run_case(path, "default", args.runs)
        targeted = key == "jpeg"
        seconds_ok = new["process_s"] < TARGET_SECONDS
        rss_ok = new["peak_rss_mib"] < TARGET_RSS_MIB
        benchlib.print_table(
            f"{title} ({path.stat().st_size / 2**20:.1f} MiB file) -> {MODEL_SIDE}x{MODEL_SIDE}x1 "
            f"model input, fresh process, median of {args.runs}", [
                ("reference (max_side=None): open + prepare (s)", f"{reference['open_s']:.3f}", ""),
                ("reference: whole process incl. imports (s)", f"{reference['process_s']:.3f}", ""),
                ("reference: peak RSS (MiB)", f"{reference['peak_rss_mib']:.0f}", ""),
                (f"ConvViz (max_side={new['max_side']}): open + prepare (s)", f"{new['open_s']:.3f}", ""),
                ("ConvViz: whole process incl. imports (s)", f"{new['process_s']:.3f}",
                 f"< {TARGET_SECONDS:g}  {benchlib.verdict(seconds_ok)}" if targeted else ""),
                ("ConvViz: peak RSS (MiB)", f"{new['peak_rss_mib']:.0f}",
                 f"< {TARGET_RSS_MIB:g}  {benchlib.verdict(rss_ok)}" if targeted else ""),
                ("kept rgb shape / original size", f"{new['rgb_shape'][:2]} / {new['size']}", ""),
            ])
        figures.update({f"{key}_ref_s": reference["process_s"],
                        f"{key}_ref_rss_mib": reference["peak_rss_mib"], f"{key}_s": new["process_s"],
                        f"{key}_rss_mib": new["peak_rss_mib"], f"{key}_open_s": new["open_s"]})
        if targeted:
            figures["jpeg_targets_met"] = seconds_ok and rss_ok
    benchlib.print_json(figures)


if __name__ == "__main__":
    main()
