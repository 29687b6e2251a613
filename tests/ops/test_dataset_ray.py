"""The dataset scan on Ray (issue 24 item 6) against the local scan, on the shortcut dataset
(tests/shortcut_data.py) and a local Ray of 2 CPUs: the same confusion, top-k and clusters,
a cancelled Ray scan resumed locally from the shards it kept, and ``--ray`` without Ray."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from convviz_gui.cli import main

pytestmark = pytest.mark.filterwarnings("ignore")
SCAN = ["--batch-size", "4", "--top-k", "4", "--no-cache"]  # 64 images: two shards of 32


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def dataset_json(capsys, *args) -> dict:
    """``convviz dataset ... --json``: the one line on stdout (nothing of Ray's before it)."""
    assert main(["dataset", *map(str, args), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines[:-1]
    return json.loads(lines[0])


def test_ray_gives_the_local_confusion_top_k_and_clusters(shortcut, local_ray, capsys):
    model, folder, written = shortcut
    local = dataset_json(capsys, model, folder, *SCAN)
    on_ray = dataset_json(capsys, model, folder, *SCAN, "--ray", "local")
    assert local["engine"] == "local" and on_ray["engine"] == "ray" and on_ray["images"] == len(written)
    assert on_ray["confusion"] == local["confusion"] and sum(map(sum, on_ray["confusion"])) == len(written)
    assert on_ray["accuracy"] == local["accuracy"] and on_ray["mistakes"] == local["mistakes"]
    assert on_ray["clusters"] == local["clusters"]
    assert any(cluster["flagged"] for cluster in on_ray["clusters"]["red"])  # the shortcut, found on Ray
    assert on_ray["channels"]["top"].keys() == local["channels"]["top"].keys()
    for channel, entries in local["channels"]["top"].items():
        theirs = on_ray["channels"]["top"][channel]
        assert [(e["image"], e["xy"], e["box"]) for e in theirs] == [(e["image"], e["xy"], e["box"])
                                                                      for e in entries]
        np.testing.assert_allclose([e["value"] for e in theirs], [e["value"] for e in entries], rtol=1e-5)


def test_a_cancelled_ray_scan_resumes_locally_from_the_shards_ray_kept(shortcut, local_ray, tmp_path):
    from convviz_gui.engine.cam import ExplanationCancelled
    from convviz_gui.ops.base import ModelRef
    from convviz_gui.ops.context import OpContext, Workspace
    from convviz_gui.ops.dataset import Dataset
    from convviz_gui.ops.registry import run

    model, folder, written = shortcut
    request = Dataset(ModelRef(str(model)), str(folder), top_k=4, batch_size=4, cache_dir=str(tmp_path),
                      engine="ray", ray_address="local")
    seen: list = []

    def one_shard_done() -> bool:
        return any(item.done > 0 for item in seen)

    with pytest.raises(ExplanationCancelled):
        run(request, OpContext(Workspace(), seen.append, one_shard_done))
    assert [item.stage for item in seen[:2]] == ["Starting Ray", "Scanning images on Ray"]
    assert seen[-1].done == 32 and seen[-1].total == len(written)  # one shard of two, kept
    resumed = run(Dataset(ModelRef(str(model)), str(folder), top_k=4, batch_size=4,
                          cache_dir=str(tmp_path)), OpContext(Workspace()))
    whole = run(Dataset(ModelRef(str(model)), str(folder), top_k=4, batch_size=4, cache=False),
                OpContext(Workspace()))
    assert resumed.resumed == 32 and resumed.engine == "local" and not resumed.cached
    assert np.array_equal(resumed.confusion, whole.confusion)
    assert [[c.members for c in s.clusters] for s in resumed.strategies] == \
        [[c.members for c in s.clusters] for s in whole.strategies]


def test_ray_without_ray_installed_says_how_to_install_it(shortcut, capsys, monkeypatch):
    model, folder, _ = shortcut
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    monkeypatch.delitem(sys.modules, "convviz_gui.ops.dataset_ray", raising=False)
    assert main(["dataset", str(model), str(folder), "--no-cache", "--ray", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("convviz: error: ") and 'pip install "convviz[ray]"' in captured.err


def test_a_model_the_ray_workers_cannot_open_is_one_sentence(shortcut, local_ray):
    from convviz_gui.engine.dataset.folder import list_dataset
    from convviz_gui.engine.errors import ConvVizError
    from convviz_gui.ops.base import ModelRef
    from convviz_gui.ops.context import OpContext, Workspace
    from convviz_gui.ops.dataset import Dataset, scan_settings
    from convviz_gui.ops.dataset_ray import scan_with_ray

    model, folder, _ = shortcut
    context = OpContext(Workspace())
    loaded = context.workspace.model(ModelRef(str(model)))
    settings = scan_settings(Dataset(ModelRef(str(model)), str(folder), batch_size=8), loaded)
    elsewhere = ModelRef(str(model.with_name("only_on_the_driver.keras")))  # as on a node without it
    with pytest.raises(ConvVizError) as error:
        scan_with_ray(loaded, list_dataset(str(folder), loaded.labels), settings, None, context,
                      model=elsewhere)
    assert str(error.value) == "The model file only_on_the_driver.keras does not exist."
