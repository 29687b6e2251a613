"""Batch reports: `convviz report` and File > Batch Report, on real images."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog

from convviz_gui.cli import main

from ..conftest import WINDOW_TIMEOUT_MS, shared, wait_idle
from ..ui.test_window_paths import action

TRICKY = "tricky <&> name.png"  # every file name is escaped in the HTML
IMAGE_KEYS = {"image", "predictions", "class_index", "label", "score", "peak_xy", "sign"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three photos, one under a name that needs escaping, a broken JPEG, a text file, a
    hidden file and a subfolder with one more photo."""
    root = tmp_path_factory.mktemp("images")
    for name in ("chelsea.png", "astronaut.png", "coffee.png"):
        shutil.copy(shared("images", name), root / name)
    shutil.copy(shared("images", "chelsea.png"), root / TRICKY)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "notes.txt").write_text("not an image\n")
    (root / ".hidden.png").write_bytes(b"ignored: hidden")
    (root / "sub").mkdir()
    shutil.copy(shared("images", "coffee.png"), root / "sub" / "cup.png")
    return root


def report(capsys, *args) -> dict:
    assert main(["report", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def fails(capsys, *args) -> str:
    """The one stderr line of a failing command (exit 2, nothing on stdout)."""
    assert main(["report", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("convviz: error: ") and "Traceback" not in captured.err
    return captured.err


def test_html_report_of_a_folder(capsys, folder, tmp_path):
    out = tmp_path / "report.html"
    data = report(capsys, "demo", str(folder), "--out", str(out))
    names = [Path(item["image"]).name for item in data["images"]]
    assert names == ["astronaut.png", "chelsea.png", "coffee.png", TRICKY]  # sorted, no subfolder
    assert {"images", "skipped", "seconds"} <= set(data) and data["seconds"] > 0
    for item in data["images"]:
        assert set(item) == IMAGE_KEYS  # no "metrics" unless asked
        assert item["label"] == item["predictions"][0]["label"]  # each image's own top class
        assert len(item["predictions"]) == 5
    skipped = {Path(entry["image"]).name: entry["reason"] for entry in data["skipped"]}
    assert set(skipped) == {"broken.jpg", "notes.txt"}
    assert "damaged" in skipped["broken.jpg"] or "not an image" in skipped["broken.jpg"]
    assert "not an image format" in skipped["notes.txt"]

    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert not re.search(r"https?://|src=\"(?!data:)|<link|@import|url\(", text)  # self-contained
    assert text.count('src="data:image/jpeg;base64,') == 3 * 4  # thumbnail, image, overlay
    assert "<table class=sortable>" in text and "<script>" in text
    assert "tricky &lt;&amp;&gt; name.png" in text and "<&>" not in text
    for name, reason in skipped.items():
        assert name in text and reason in text
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    assert not list(tmp_path.glob(".convviz-*"))  # the temporary file became the report


def test_pdf_report_recursive_class_and_metrics(capsys, folder, tmp_path):
    out = tmp_path / "report.pdf"
    data = report(capsys, "demo", str(folder), "--recursive", "--class", "happy", "--metrics",
                  "--out", str(out))
    names = [os.path.relpath(item["image"], folder) for item in data["images"]]
    assert names == ["astronaut.png", "chelsea.png", "coffee.png", str(Path("sub", "cup.png")),
                     TRICKY]
    assert {(item["class_index"], item["label"]) for item in data["images"]} == {(3, "happy")}
    for item in data["images"]:
        assert set(item["metrics"]) == {"deletion_auc", "insertion_auc", "average_drop",
                                        "average_increase", "road_morf_auc", "road_lerf_auc"}
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == len(names) + 1  # + the summary page


def test_files_as_given_with_another_method(capsys, folder, tmp_path):
    files = [str(folder / "coffee.png"), str(folder / "missing.png"), str(folder / "astronaut.png")]
    data = report(capsys, "demo", *files, "--method", "scorecam", "--out",
                  str(tmp_path / "r.htm"))
    assert [item["image"] for item in data["images"]] == [files[0], files[2]]  # the order given
    assert data["method"] == "Score-CAM" and data["layer"] == "conv2d_7"
    assert data["skipped"] == [{"image": files[1], "reason": f"{files[1]} does not exist."}]


def test_batched_report_equals_single_image_cli(capsys, folder, tmp_path):
    data = report(capsys, "demo", str(folder), "--out", str(tmp_path / "r.html"))
    for item in data["images"]:
        assert main(["gradcam", "demo", item["image"], "--json"]) == 0
        single = json.loads(capsys.readouterr().out)
        assert item["peak_xy"] == single["peak_xy"] and item["class_index"] == single["class_index"]
        assert item["score"] == pytest.approx(single["score"], abs=1e-5)


def test_bad_input_is_one_line(capsys, folder, tmp_path):
    assert ".html, .htm or .pdf" in fails(capsys, "demo", str(folder), "--out",
                                          str(tmp_path / "report.png"))
    assert not (tmp_path / "report.png").exists()
    only_text = tmp_path / "texts"
    only_text.mkdir()
    (only_text / "a.txt").write_text("no image here")
    out = tmp_path / "none.html"
    assert "None of the files could be read" in fails(capsys, "demo", str(only_text), "--out",
                                                      str(out))
    assert not out.exists() and not list(tmp_path.glob(".convviz-*"))
    assert "does not exist" in fails(capsys, "demo", str(tmp_path / "nowhere"), "--out", str(out))
    assert "does not exist" in fails(capsys, "demo", str(folder), "--out",
                                     str(tmp_path / "no folder" / "r.html"))


# ----- the window ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def window(demo_window):
    return demo_window


def open_dialog(qtbot, window):
    wait_idle(qtbot, window)
    action(window, "Batch Report").trigger()
    dialog = window.exports.report_dialog
    assert dialog.isVisible() and dialog.layer.currentText() == "conv2d_7"
    return dialog


def test_batch_report_menu_writes_and_opens(qtbot, window, folder, tmp_path, monkeypatch):
    dialog = open_dialog(qtbot, window)
    out = tmp_path / "from window"  # the chosen filter's suffix is added
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args, **kwargs: str(folder))
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args, **kwargs: (str(out), "PDF report (*.pdf)"))
    qtbot.mouseClick(dialog.browse_folder, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.browse_out, Qt.MouseButton.LeftButton)
    dialog.recursive.setChecked(True)
    assert dialog.out.text() == f"{out}.pdf"
    qtbot.mouseClick(dialog.job.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.open_button.isEnabled, timeout=WINDOW_TIMEOUT_MS)
    written = tmp_path / "from window.pdf"
    assert written.read_bytes().startswith(b"%PDF-")
    assert "5 images, 2 skipped" in dialog.status.text() and "broken.jpg" in dialog.status.text()
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert opened == [QUrl.fromLocalFile(str(written))]
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)  # no viewer installed
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert str(written) in dialog.status.text() and "No program" in dialog.status.text()
    dialog.out.setText(str(tmp_path / "report.txt"))  # a wrong suffix is said at once
    qtbot.mouseClick(dialog.job.run_button, Qt.MouseButton.LeftButton)
    assert ".html, .htm or .pdf" in dialog.status.text() and not window.runner.busy
    dialog.close()


def test_cancel_leaves_no_report(qtbot, window, tmp_path):
    many = tmp_path / "many"
    many.mkdir()
    for number in range(12):
        shutil.copy(shared("images", "chelsea.png"), many / f"cat{number}.png")
    dialog = open_dialog(qtbot, window)
    dialog.folder.setText(str(many))
    dialog.out.setText(str(tmp_path / "cancelled.html"))
    dialog.method.setCurrentIndex(dialog.method.findData("Score-CAM"))
    dialog.metrics.setChecked(True)  # slow enough to be cancelled half-way
    qtbot.mouseClick(dialog.job.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Explaining images" in dialog.status.text()
                    or "Report:" in dialog.status.text(), timeout=WINDOW_TIMEOUT_MS)
    qtbot.mouseClick(dialog.job.cancel_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert "Cancelled" in dialog.status.text() and not dialog.open_button.isEnabled()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["many"]  # no report, no temp
    assert dialog.job.run_button.isEnabled()
    dialog.metrics.setChecked(False)
    dialog.close()


def _overlay_pixels(html: str):
    """The report's first explanation overlay, decoded (RGB)."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    encoded = re.search(r'src="data:image/\w+;base64,([^"]+)" alt="explanation overlay"', html)
    assert encoded is not None
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded.group(1)))).convert("RGB"))


def test_a_signed_method_is_reported_for_and_against(capsys, folder, tmp_path):
    """LRP-epsilon's report draws its map signed, as the window does: red for the class
    and blue against it, said in the caption; --sign positive keeps the plain overlay."""
    image = str(folder / "astronaut.png")
    data = report(capsys, "demo", image, "--method", "lrp-epsilon", "--out", str(tmp_path / "s.html"))
    html = Path(data["report"]).read_text()
    label = data["images"][0]["label"]
    assert f"signed overlay (alpha 0.4): red for &#x27;{label}&#x27;, blue against" in html
    pixels = _overlay_pixels(html).astype(int)
    red = (pixels[..., 0] > pixels[..., 2] + 60).mean()
    blue = (pixels[..., 2] > pixels[..., 0] + 60).mean()
    assert red > 0.01 and blue > 0.01, (red, blue)
    report(capsys, "demo", image, "--method", "lrp-epsilon", "--sign", "positive",
           "--out", str(tmp_path / "p.html"))
    plain = (tmp_path / "p.html").read_text()
    assert "signed overlay" not in plain and "overlay (alpha 0.4); + peak" in plain
