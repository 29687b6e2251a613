"""GUI entry point: ``convviz-gui [MODEL [IMAGE]]``, screenshot mode, desktop entry."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import traceback
from pathlib import Path

import convviz_gui.engine  # noqa: F401  (TensorFlow environment before anything loads it)
from convviz_gui import __version__
from convviz_gui.paths import resource


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the window launcher."""
    parser = argparse.ArgumentParser(prog="convviz-gui", description="ConvViz desktop window")
    parser.add_argument("model", nargs="?", help="model file, 'demo' or app:NAME[:weights]")
    parser.add_argument("images", nargs="*", metavar="image",
                        help="image file; several are compared side by side in the Grad-CAM tab")
    parser.add_argument("--screenshot", metavar="OUT_DIR", type=Path,
                        help="render every tab, save PNGs into OUT_DIR and exit")
    parser.add_argument("--install-desktop-entry", action="store_true",
                        help="add ConvViz to the Linux applications menu and exit")
    parser.add_argument("--version", action="version", version=f"ConvViz {__version__}")
    return parser


def install_desktop_entry() -> Path:
    """Write ``convviz.desktop`` into the user's applications folder."""
    from convviz_gui.paths import user_data_dir

    if getattr(sys, "frozen", False):  # the bundled app (convviz.spec): its own executable
        launcher = f'"{sys.executable}"' if " " in sys.executable else sys.executable
    else:
        launcher = shutil.which("convviz-gui") or f"{sys.executable} -m convviz_gui.app"
    text = resource("convviz.desktop").read_text(encoding="utf-8")
    text = text.replace("Exec=convviz-gui", f"Exec={launcher}")
    text = text.replace("Icon=convviz", f"Icon={resource('convviz.png')}")
    folder = user_data_dir().parent / "applications"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "convviz.desktop"
    target.write_text(text, encoding="utf-8")
    return target


def model_and_images(files: list[str]) -> tuple[str, list[str]]:
    """Split the command line's files, in any order (a desktop entry's ``%F``), into the model
    (the demo when none is named) and the images; ``ValueError`` names two models.

    Model files and folders are models; a first argument that is no file ('demo', app:NAME, a
    missing path) is the model as well; every other argument is an image.
    """
    from convviz_gui.engine.models import MODEL_SUFFIXES

    models = [name for name in files if Path(name).suffix.lower() in MODEL_SUFFIXES or Path(name).is_dir()]
    images = [name for name in files if name not in models]
    if images and images[0] == files[0] and not Path(files[0]).is_file():
        models.insert(0, images.pop(0))
    if len(models) > 1:
        raise ValueError(f"one model at a time, not {' and '.join(models)}")
    return (models[0] if models else "demo"), images


def main(argv: list[str] | None = None) -> int:
    """Open the window (demo model and image unless others are given)."""
    import multiprocessing

    multiprocessing.freeze_support()  # the engine process of a frozen (packaged) build
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        model, images = model_and_images([args.model, *args.images] if args.model else [])
    except ValueError as exc:
        parser.error(str(exc))
    if args.install_desktop_entry:
        print(f"installed {install_desktop_entry()}")
        return 0
    # QtMultimedia (the Live tab) lists every optional video library it does not find.
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.symbolsresolver=false;"
                                              "qt.multimedia.ffmpeg.info=false")
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from convviz_gui.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ConvViz")
    app.setOrganizationName("ConvViz")
    app.setWindowIcon(QIcon(str(resource("convviz.png"))))
    settings = None
    if args.screenshot:  # default layout and options, whatever the user's saved ones are
        import tempfile

        from PySide6.QtCore import QSettings

        ini = Path(tempfile.mkdtemp(prefix="convviz-shot-")) / "settings.ini"
        settings = QSettings(str(ini), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    _install_excepthook(window)
    window.show()
    from convviz_gui.engine.models import demo_image_path

    window.files.open_model(model)
    if len(images) > 1:
        window.files.compare_images(images)
    else:
        window.files.open_image(images[0] if images else str(demo_image_path()))
    if args.screenshot:
        from convviz_gui.ui.screenshots import ScreenshotDirector

        director = ScreenshotDirector(window, args.screenshot)
        director.start()
        code = app.exec()
        return director.exit_code if code == 0 else code
    return app.exec()


def _install_excepthook(window) -> None:
    """Unexpected errors on the GUI thread open the error dialog (which logs the details)."""

    def hook(exc_type, exc, tb) -> None:
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        window.report_error(f"Unexpected {exc_type.__name__}: {str(exc)[:200]}", details)

    sys.excepthook = hook


if __name__ == "__main__":
    raise SystemExit(main())
