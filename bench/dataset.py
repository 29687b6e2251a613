"""Dataset analysis benchmark (issue 24): images per second of ``Dataset`` (the scan, the
clustering and the channels' top images) on the demo (mini-Xception, 64 px grey) and on
Xception 299 px with random weights (``app:Xception:none``), and its peak memory at 1,000
against 10,000 images (flat folder, demo): memory is bounded by the batch and the kept
summaries, not by the folder.

Run by hand: ``python bench/dataset.py [--images 1000] [--large 10000] [--xception-images N]
[--cases demo,xception,large] [--ray [--ray-workers 2]]``. Each case runs in its own
process: the model is loaded and the graphs compiled on a few images first (a warm engine,
as in the window), then the whole folder is scanned with the cache off. ``--ray`` adds the
same cases with ``engine="ray"``, ``--ray-address`` (default ``local``: a local Ray of
``--ray-workers`` CPUs, one actor each): the Ray column. A Ray scan's time includes starting
its actors (each opens the model and compiles its graphs: Ray Data makes a new actor pool
per scan; "seconds until the first images" shows it); its memory rows are the driver's
only. Folders are generated PNGs (128 x 128, a square and a disc on noise). Ends with one
JSON line.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import benchlib

CASES = {"demo": "demo", "xception": "app:Xception:none"}


def generate(folder: Path, count: int, seed: int = 0) -> Path:
    """``count`` 128 x 128 PNGs in a flat folder (reused when already there)."""
    import numpy as np
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        path = folder / f"img_{index:05d}.png"
        if path.exists():
            continue
        image = Image.fromarray(rng.integers(0, 120, (128, 128, 3), dtype=np.uint8))
        draw = ImageDraw.Draw(image)
        x, y = rng.integers(0, 96, 2)
        colour = tuple(int(value) for value in rng.integers(0, 255, 3))
        draw.rectangle((int(x), int(y), int(x) + 30, int(y) + 30), fill=colour)
        x, y = rng.integers(0, 96, 2)
        draw.ellipse((int(x), int(y), int(x) + 30, int(y) + 30), fill=(250, 250, 250))
        image.save(path)
    return folder


def child(spec: str, folder: str, count: int, engine: str, address: str, workers: int) -> dict:
    """One case in this process: warm up on a few images, then scan ``count`` of them (on
    a local Ray of ``workers`` CPUs when ``engine`` is ray and ``address`` local)."""
    from convviz_gui.ops.base import ModelRef
    from convviz_gui.ops.context import OpContext, Workspace
    from convviz_gui.ops.dataset import Dataset
    from convviz_gui.ops.registry import run

    source = Path(folder)
    names = sorted(source.iterdir())[:count]
    chosen = Path(tempfile.mkdtemp(prefix="convviz-bench-dataset-"))
    for path in names:
        (chosen / path.name).symlink_to(path)
    warm = Path(tempfile.mkdtemp(prefix="convviz-bench-warm-"))
    for path in names[:16]:
        (warm / path.name).symlink_to(path)
    arrivals: list[float] = []  # when scanned images arrived (progress after a batch or shard)

    def progress(value: object) -> None:
        if getattr(value, "done", 0) and str(getattr(value, "stage", "")).startswith("Scanning"):
            arrivals.append(time.perf_counter())

    context = OpContext(Workspace(), progress)
    model = ModelRef(spec)
    if engine == "ray" and address == "local":
        import ray

        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    run(Dataset(model, str(warm), cache=False, engine=engine, ray_address=address), context)
    arrivals.clear()
    with benchlib.RssSampler() as memory:
        started = time.perf_counter()
        result = run(Dataset(model, str(chosen), cache=False, engine=engine, ray_address=address),
                     context)
        seconds = time.perf_counter() - started
    return {"images": result.images, "seconds": seconds, "images_per_s": result.images / seconds,
            "first_images_s": arrivals[0] - started if arrivals else None,
            "rss_start_mib": memory.start_mib, "rss_growth_mib": memory.growth_mib,
            "peak_rss_mib": benchlib.peak_rss_mib(), "layer": result.layer,
            "clusters": sum(len(item.clusters) for item in result.strategies),
            "ray_workers": workers if engine == "ray" else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--large", type=int, default=10000, help="the memory case (demo)")
    parser.add_argument("--xception-images", type=int, default=0, help="default: --images")
    parser.add_argument("--ray", action="store_true", help="add the Ray column")
    parser.add_argument("--ray-address", default="local")
    parser.add_argument("--ray-workers", type=int, default=2, help="CPUs (actors) of the local Ray")
    parser.add_argument("--cases", default="demo,xception,large",
                        help="which of demo, xception, large (the memory case) to run")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "convviz-bench-dataset")
    parser.add_argument("--child", nargs=6,
                        metavar=("SPEC", "FOLDER", "COUNT", "ENGINE", "ADDRESS", "WORKERS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        spec, folder, count, engine, address, workers = args.child
        benchlib.print_json(child(spec, folder, int(count), engine, address, int(workers)))
        return
    cases = {"demo": ("demo", args.images), "xception": ("xception", args.xception_images or args.images),
             "large": ("demo", args.large)}
    runs = [cases[name] for name in args.cases.split(",")]
    folder = generate(args.folder, max(count for _, count in runs))
    engines = ["local", "ray"] if args.ray else ["local"]
    figures: dict = {}
    for engine in engines:
        for case, count in runs:
            code, found = benchlib.run_json(Path(__file__), ["--child", CASES[case], str(folder), str(count),
                                                             engine, args.ray_address,
                                                             str(args.ray_workers)])
            figures[f"{case}_{count}_{engine}"] = found if code == 0 else {"error": code}
    rows = []
    for key, found in figures.items():
        if "error" in (found or {"error": 1}):
            rows.append((key, "failed", ""))
            continue
        rows.append((f"{key}: images per second", f"{found['images_per_s']:.1f}", ""))
        rows.append((f"{key}: seconds until the first images are scanned", f"{found['first_images_s']:.1f}",
                     "ray: its actors start"))
        rows.append((f"{key}: memory growth during the scan, MiB", f"{found['rss_growth_mib']:.0f}",
                     "flat from 1k to 10k"))
        rows.append((f"{key}: peak resident memory, MiB", f"{found['peak_rss_mib']:.0f}", ""))
    benchlib.print_table(f"convviz dataset ({', '.join(engines)}; {sys.platform})", rows)
    benchlib.print_json(figures)


if __name__ == "__main__":
    main()
