"""Scans kept on disk: one folder per (model file, folder contents, settings), holding each
finished shard's ``Summary`` and the finished result. An interrupted scan finds its
finished shards and resumes; a finished one is reopened at once. Files are pickles written
by ConvViz itself into the user's own cache folder, each written atomically. The cache is
bounded: each scan starts by removing the least recently used scans beyond
``BUDGET_BYTES`` or ``BUDGET_SCANS`` (``prune``)."""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

FORMAT = 1  # bump when a summary or result type changes: old caches are then ignored
BUDGET_BYTES = 1 << 30  # kept scans beyond 1 GiB (the most recently used first) are removed
BUDGET_SCANS = 100  # and beyond this many scans
KEY = re.compile(r"[0-9a-f]{32}")  # the folder name of a scan (``scan_key``)
SCAN_FILE = re.compile(r"(shard-\d{6}|result)\.pkl|.*\.part")  # the files a scan writes


def model_digest(source: str) -> str:
    """A digest of a model's file (every file of a SavedModel folder); the source itself for
    models that are not files (``app:NAME:weights``)."""
    path = Path(source)
    digest = hashlib.blake2b(digest_size=16)
    if path.is_file():
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    elif path.is_dir():
        for file in sorted(item for item in path.rglob("*") if item.is_file()):
            digest.update(file.relative_to(path).as_posix().encode())
            digest.update(file.read_bytes())
    else:
        digest.update(source.encode())
    return digest.hexdigest()


def scan_key(model: str, folder: str | Path, settings: str) -> str:
    """The cache key of a scan: the model's digest, ``settings`` (the request, in words),
    and every non-hidden file under ``folder`` with its size and modification time (so a
    changed folder is scanned again). Needs no model: a kept scan reopens at once."""
    digest = hashlib.blake2b(digest_size=16)
    root = Path(os.path.abspath(folder))
    digest.update(f"{FORMAT}\n{model}\n{root}\n{settings}\n".encode())
    for current, subfolders, names in os.walk(root):  # top-down, subfolders sorted in place
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            try:
                stat = Path(current, name).stat()
                digest.update(f"{Path(current, name).relative_to(root).as_posix()}\0{stat.st_size}"
                              f"\0{stat.st_mtime_ns}\n".encode())
            except OSError:
                continue
    return digest.hexdigest()


class ScanCache:
    """The cache folder of one scan (created on the first write)."""

    def __init__(self, root: Path, key: str) -> None:
        self.folder = root / key

    def _read(self, name: str) -> Any:
        try:
            with (self.folder / name).open("rb") as handle:
                return pickle.load(handle)  # noqa: S301 (ConvViz's own files, in the user's cache)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError):
            return None  # absent, or written by another version: computed again

    def _write(self, name: str, value: Any) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as stream:
                pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)
            Path(temporary).replace(self.folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def shard(self, index: int) -> Any:
        """The summary of shard ``index``, or None when it was not finished."""
        return self._read(f"shard-{index:06d}.pkl")

    def save_shard(self, index: int, summary: Any) -> None:
        """Keep the summary of finished shard ``index``."""
        self._write(f"shard-{index:06d}.pkl", summary)

    def result(self) -> Any:
        """The finished result, or None."""
        return self._read("result.pkl")

    def save_result(self, result: Any) -> None:
        """Keep the finished result."""
        self._write("result.pkl", result)

    def touch(self) -> None:
        """Mark the scan as used now (its folder's time orders ``prune``)."""
        if self.folder.is_dir():
            os.utime(self.folder)


def _scan_folders(root: Path) -> list[tuple[float, int, Path]]:
    """(last use, bytes, folder) of each scan under ``root``: folders named by a key that
    hold only files a scan writes (nothing else in a folder the user chose is touched)."""
    scans = []
    for folder in root.iterdir() if root.is_dir() else ():
        try:
            if not (KEY.fullmatch(folder.name) and folder.is_dir()):
                continue
            files = list(folder.iterdir())
            if not all(SCAN_FILE.fullmatch(file.name) and file.is_file() for file in files):
                continue
            scans.append((folder.stat().st_mtime, sum(file.stat().st_size for file in files), folder))
        except OSError:  # removed meanwhile (another scan pruning)
            continue
    return scans


def prune(root: Path, keep: str = "", budget_bytes: int | None = None,
          budget_scans: int | None = None) -> list[Path]:
    """Remove the least recently used scans under ``root`` beyond ``budget_bytes`` in all or
    ``budget_scans`` scans (None: ``BUDGET_BYTES``, ``BUDGET_SCANS``), never the scan
    ``keep`` (the one starting).

    Returns:
        The folders removed.
    """
    budget_bytes = BUDGET_BYTES if budget_bytes is None else budget_bytes
    budget_scans = BUDGET_SCANS if budget_scans is None else budget_scans
    removed: list[Path] = []
    # The scan starting first (one place kept for it if it has no folder yet), then the most
    # recently used.
    ordered = sorted(_scan_folders(root), key=lambda scan: (scan[2].name != keep, -scan[0]))
    used, count = 0, int(bool(keep) and keep not in {scan[2].name for scan in ordered})
    for _, size, folder in ordered:
        if folder.name != keep and (used + size > budget_bytes or count + 1 > budget_scans):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
            continue
        used, count = used + size, count + 1
    return removed
