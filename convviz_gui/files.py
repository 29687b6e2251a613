"""Writing the user's files: safe names, numbered names, atomic writes, figure exports.

Every file ConvViz writes (a figure, a report, a folder of activation grids) goes
through ``AtomicFile``: an error or a cancel never leaves half a file behind.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convviz_gui.engine.errors import ConvVizError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EXPORT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def safe_file_stem(text: str) -> str:
    """A file name stem from any text (a layer path, a model name): no separators, no dots
    first, so that a name from a model file can never point outside the chosen folder."""
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
    stem = re.sub(r"_{2,}", "_", stem).strip("._")  # "demo (mini-Xception)" -> demo_mini-Xception
    return stem[:120] or "figure"


def unique_path(folder: str | Path, stem: str, suffix: str) -> Path:
    """``folder/stem.suffix``, or ``stem_2``, ``stem_3``… when that file already exists."""
    folder = Path(folder)
    candidate = folder / f"{stem}{suffix}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}_{number}{suffix}"
        number += 1
    return candidate


class AtomicFile:
    """A file written beside ``path`` and renamed over it by ``commit``, with the user's
    normal mode (0666 & ~umask, not mkstemp's 0600); ``discard``, or leaving a ``with``
    block without ``commit``, deletes it: an error or a cancel never leaves half a file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        folder = self.path.parent
        if not folder.is_dir():
            raise ConvVizError(f"The folder {folder} does not exist.")
        try:
            handle, self._temp = tempfile.mkstemp(prefix=".convviz-", suffix=self.path.suffix,
                                                  dir=folder)
        except OSError as exc:
            raise ConvVizError(f"Cannot write into {folder}: {exc.strerror or exc}.") from exc
        self.stream = os.fdopen(handle, "wb")
        self._open = True

    def commit(self) -> Path:
        """Put the written file in place; returns its path."""
        try:
            self.stream.close()
            Path(self._temp).chmod(0o666 & ~_umask())
            Path(self._temp).replace(self.path)
        except OSError as exc:
            self.discard()
            raise ConvVizError(f"Cannot write {self.path.name}: {exc.strerror or exc}.") from exc
        self._open = False
        return self.path

    def discard(self) -> None:
        """Delete the temporary file (nothing happens after ``commit``)."""
        if self._open:
            self._open = False
            self.stream.close()
            Path(self._temp).unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()


def save_figure(figure: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Save as PNG/SVG/PDF by extension, atomically (temp file then rename)."""
    path = Path(path)
    fmt = EXPORT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConvVizError(f"Export as {path.suffix or 'no extension'} is not supported; "
                           "use .png, .svg or .pdf.")
    with AtomicFile(path) as target:
        try:
            figure.savefig(target.stream, format=fmt, dpi=dpi, metadata=_metadata(fmt))
        except OSError as exc:
            raise ConvVizError(f"Cannot write {path.name}: {exc.strerror or exc}.") from exc
        return target.commit()


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def _metadata(fmt: str) -> dict[str, Any]:
    """Fixed metadata, so that the same figure exports to identical bytes from GUI and CLI."""
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None, "ModDate": None}
    return {"Software": "ConvViz"}
