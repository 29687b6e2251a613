"""Fidelity and speed of the reduced precisions, every explanation method side by side.

For each method: the map at float32 and at each reduced precision (``--precisions``), the
Pearson r between them and whether their peak cell is the same (``engine.precision.
agreement``; tests/engine/test_precision.py holds r >= 0.98 and the same peak), and the
time of one explanation at each precision (compiled first, so this is the steady time).
Also the top-1 prediction and filter ascent (same filters raised, final activations).

    python bench/precision.py                      # the demo model, bfloat16
    python bench/precision.py --model app:VGG16:none --size 96 --precisions bfloat16,float16

Run by hand; on a processor without bfloat16 units (no AVX512-BF16/AMX) bfloat16 is
emulated and slower than float32: only the fidelity columns mean something there.
"""

from __future__ import annotations

import argparse
import time

import benchlib  # noqa: F401  (puts the repository on sys.path)


def timed(function):  # noqa: ANN001, ANN201 (a bench helper)
    """(result of the second call, its seconds): the first call compiles."""
    function()
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="demo")
    parser.add_argument("--precisions", default="bfloat16")
    parser.add_argument("--methods", default="", help="comma-separated keys (default: all)")
    parser.add_argument("--filters", type=int, default=4, help="filters for the ascent check")
    args = parser.parse_args()

    from convviz_gui.engine.cam import MethodOptions, make_cam, method_keys, predict
    from convviz_gui.engine.featurevis import visualize_filters
    from convviz_gui.engine.featurevis.settings import FilterSettings
    from convviz_gui.engine.images import load_image
    from convviz_gui.engine.models import demo_image_path, open_model
    from convviz_gui.engine.precision import agreement, detect, resolve, using

    loaded = open_model(args.model)
    batch = loaded.prepare(load_image(demo_image_path()))
    precisions = ["float32", *args.precisions.split(",")]
    print(f"{loaded.name}, input {loaded.input_size()}; hardware: {detect()}")
    print(f"auto here: {resolve('auto').describe()}\n")
    keys = args.methods.split(",") if args.methods else list(method_keys())
    header = "| method | " + " | ".join(
        f"{name} r | same peak" for name in precisions[1:]) + " | " + \
        " | ".join(f"{name} s" for name in precisions) + " |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    options = MethodOptions()
    for key in keys:
        maps, seconds = {}, {}
        for name in precisions:
            with using(resolve(name)):
                cam = make_cam(loaded, method=key, options=options)
                result, seconds[name] = timed(lambda cam=cam: cam.explain(batch))
                maps[name] = result.heatmap  # what is shown
        cells = []
        for name in precisions[1:]:
            pearson, same = agreement(maps["float32"], maps[name])
            cells.append(f"{pearson:.4f} | {'yes' if same else 'NO'}")
        times = " | ".join(f"{seconds[name]:.3f}" for name in precisions)
        print(f"| {key} | " + " | ".join(cells) + f" | {times} |")
    print()
    for name in precisions:
        with using(resolve(name)):
            top, took = timed(lambda: predict(loaded, batch, 3))
            layer = loaded.default_cam_layer().path
            settings = FilterSettings(steps=10, size=min(96, loaded.input_size()[0]))
            result = visualize_filters(loaded, layer, list(range(args.filters)), settings)
        print(f"{name}: top-1 {top[0].label} {top[0].score:.4f} (predict {took * 1000:.1f} ms); "
              f"ascent {'/'.join(layer)} final {[round(v, 3) for v in result.losses.values()]} "
              f"in {result.seconds:.2f} s")


if __name__ == "__main__":
    main()
