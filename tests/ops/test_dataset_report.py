"""The dataset HTML report (issue 24 item 5) through ``convviz dataset ... --out report.html``,
on the shortcut dataset (tests/shortcut_data.py) with two mislabelled images and an
unreadable file: one self-contained file holding the accuracy, the confusion matrix's
counts, the mistakes, the flagged cluster's reason, the channels' crops and the skipped file."""

from __future__ import annotations

import html
import json
import shutil
from html.parser import HTMLParser

import pytest

from convviz_gui.cli import main

pytestmark = pytest.mark.filterwarnings("ignore")


class Page(HTMLParser):
    """What the tests read of the page: every tag's attributes, the confusion table's
    rows (cell texts) and the whole text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.confusion: list[list[str]] = []
        self.text: list[str] = []
        self._in_confusion = False
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table" and "confusion" in (dict(attrs).get("class") or ""):
            self._in_confusion = True
        elif tag == "tr" and self._in_confusion:
            self.confusion.append([])
        elif tag in ("td", "th"):
            self._open.append("")

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_confusion = False
        elif tag in ("td", "th") and self._open:
            cell = self._open.pop()
            if self._in_confusion:
                self.confusion[-1].append(cell)

    def handle_data(self, data):
        self.text.append(data)
        if self._open:
            self._open[-1] += data


@pytest.fixture(scope="module")
def reported(shortcut, tmp_path_factory):
    """(page, the run's JSON, the report's path, the mislabelled images)."""
    model, folder, _ = shortcut
    root = tmp_path_factory.mktemp("dataset_report")
    data = root / "data"
    shutil.copytree(folder, data)
    wrong = []
    for name in sorted((data / "blue").iterdir())[:2]:  # blue squares filed as red: two mistakes
        shutil.move(name, data / "red" / f"filed_{name.name}")
        wrong.append(f"red/filed_{name.name}")
    (data / "red" / "broken.png").write_bytes(b"not a png")
    out = root / "report.html"
    return model, data, out, wrong


def run_report(capsys, model, data, out) -> dict:
    assert main(["dataset", str(model), str(data), "--no-cache", "--top-k", "3", "--out", str(out),
                 "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_the_report_is_one_self_contained_page_with_the_analysis(reported, capsys):
    model, data, out, wrong = reported
    result = run_report(capsys, model, data, out)
    assert result["out"] == str(out) and out.is_file()
    source = out.read_text(encoding="utf-8")
    page = Page()
    page.feed(source)
    page.close()
    assert "http://" not in source and "https://" not in source  # nothing fetched
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert images and all(attrs["src"].startswith("data:image/jpeg;base64,") for attrs in images)
    assert not [tag for tag, attrs in page.tags if tag in ("link", "iframe") or (tag == "script" and attrs)]
    text = " ".join(page.text)
    assert f"{result['accuracy']:.1%}" in text and result["accuracy"] < 1
    assert [[int(cell) for cell in row[1:3]] for row in page.confusion[1:]] == result["confusion"]
    assert [row[0] for row in page.confusion[1:]] == ["red", "blue"]
    assert {item["image"] for item in result["mistakes"]} >= set(wrong)
    assert all(html.escape(name, quote=True) in source for name in wrong)  # their thumbnails
    flagged = [cluster for cluster in result["clusters"]["red"] if cluster["flagged"]]
    assert len(flagged) == 1 and flagged[0]["reason"] in text
    assert f"{len(flagged[0]['members'])} images; peak at x={flagged[0]['peak_xy'][0]}" in text
    reason = next(item["reason"] for item in result["skipped"] if item["image"] == "red/broken.png")
    assert reason in text
    crops = [attrs for tag, attrs in page.tags if tag == "img" and (attrs.get("title") or "").count("box")]
    shown = {entry["image"] for entries in result["channels"]["top"].values() for entry in entries
             if entries[0]["value"] > 0}
    assert {attrs["alt"] for attrs in crops} == shown and len(crops) >= 3


def test_a_report_that_is_not_html_is_refused_in_one_line(reported, capsys):
    model, data, _, _ = reported
    assert main(["dataset", str(model), str(data), "--no-cache", "--out", str(data / "report.pdf")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("convviz: error: --out writes the report as .html")
    assert not (data / "report.pdf").exists()
