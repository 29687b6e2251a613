"""``convviz dataset`` through the user's path (``main([...])`` and its JSON), on a model
trained here on a dataset with a known shortcut (tests/shortcut_data.py)."""

from __future__ import annotations

import json
import shutil

import pytest

from convviz_gui.cli import main
from tests import shortcut_data

ISSUE_KEYS = {"model", "folder", "images", "skipped", "classes", "accuracy", "confusion", "mistakes",
              "clusters", "channels", "seconds", "engine"}


@pytest.fixture(scope="module")
def shortcut(tmp_path_factory):
    root = tmp_path_factory.mktemp("dataset_cli")
    folder = root / "data"
    written = shortcut_data.write_folder(folder, count=64)
    return shortcut_data.save_model(root), folder, written


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def dataset_json(capsys, *args):
    assert main(["dataset", *map(str, args), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    return json.loads(lines[-1])


def test_dataset_json_finds_the_shortcut_and_lists_paths_relative_to_the_folder(shortcut, capsys, tmp_path):
    model, folder, written = shortcut
    data = dataset_json(capsys, model, folder, "--top-k", "3", "--out", tmp_path / "analysis.json")
    assert set(data) >= ISSUE_KEYS and data["engine"] == "local" and data["folder"] == str(folder)
    assert data["images"] == len(written) and data["skipped"] == [] and data["classes"] == ["red", "blue"]
    assert sum(map(sum, data["confusion"])) == len(written)
    assert data["precision"].startswith("float32") and len(data["class_precision"]) == 2  # passes; per class
    assert data["accuracy"] == pytest.approx(sum(data["confusion"][i][i] for i in range(2)) / len(written))
    marked = {name for name, (_, is_marked) in written.items() if is_marked}
    flagged = [cluster for cluster in data["clusters"]["red"] if cluster["flagged"]]
    assert len(flagged) == 1 and set(flagged[0]["members"]) == marked
    assert flagged[0]["peak_xy"][0] < 10 and flagged[0]["peak_xy"][1] < 10  # on the mark
    assert data["channels"]["layer"] == "last_conv" and len(data["channels"]["top"]) == 16
    for entries in data["channels"]["top"].values():
        assert len(entries) == 3 and [e["value"] for e in entries] == sorted((e["value"] for e in entries),
                                                                             reverse=True)
        for entry in entries:
            assert entry["image"] in written
            x0, y0, x1, y1 = entry["box"]
            assert 0 <= x0 <= entry["xy"][0] < x1 <= 40 and 0 <= y0 <= entry["xy"][1] < y1 <= 40
    assert json.loads((tmp_path / "analysis.json").read_text())["confusion"] == data["confusion"]
    again = dataset_json(capsys, model, folder, "--top-k", "3")  # the kept scan, at once
    assert again["confusion"] == data["confusion"] and again["seconds"] < data["seconds"]


def test_a_flat_folder_with_unreadable_files(shortcut, capsys, tmp_path):
    model, _, _ = shortcut
    flat = tmp_path / "flat"
    written = shortcut_data.write_folder(flat, count=16, seed=5, flat=True)
    (flat / "notes.txt").write_text("not an image")
    (flat / "empty.png").write_bytes(b"")
    data = dataset_json(capsys, model, flat, "--no-cache")
    assert data["images"] == len(written) and data["accuracy"] is None and data["confusion"] is None
    assert data["mistakes"] == [] and sum(len(c["members"]) for cs in data["clusters"].values()
                                          for c in cs) <= len(written)
    reasons = {item["image"]: item["reason"] for item in data["skipped"]}
    assert reasons == {"empty.png": "The image file empty.png is empty.",
                       "notes.txt": "notes.txt is not an image format ConvViz can read."}


def test_subfolders_that_are_not_labels_are_matched_by_sorted_order(shortcut, capsys, tmp_path):
    model, folder, written = shortcut
    renamed = tmp_path / "renamed"
    shutil.copytree(folder / "red", renamed / "a_first")  # sorted first: class 0 (red)
    shutil.copytree(folder / "blue", renamed / "b_second")
    assert main(["dataset", str(model), str(renamed), "--no-cache"]) == 0
    text = capsys.readouterr().out
    assert "matched by sorted order: a_first -> red, b_second -> blue" in text
    shutil.copytree(folder / "blue", renamed / "c_third")
    assert main(["dataset", str(model), str(renamed), "--no-cache", "--json"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("convviz: error: The 3 class subfolders match neither") and "\n" not in error


def test_bad_input_is_one_sentence(shortcut, capsys, tmp_path):
    model, folder, _ = shortcut
    for args in ([model, tmp_path / "missing"], [model, folder, "--layer", "classes"],
                 [model, folder, "--out", tmp_path / "report.xyz"]):
        assert main(["dataset", *map(str, args), "--json"]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.startswith("convviz: error: ")
        assert len(captured.err.strip().splitlines()) == 1
