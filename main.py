"""Launch the ConvViz window: ``python main.py [MODEL [IMAGE]] [--screenshot OUT_DIR]``.

Also the entry point of the bundled app (``convviz.spec``).
"""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    # First of all: in the bundled app the engine process re-executes this executable, and
    # this call turns that run into the engine (it never returns there) instead of a window.
    multiprocessing.freeze_support()
    if getattr(sys, "frozen", False):
        # PyInstaller gives matplotlib a new temporary folder at each start, where it would
        # rebuild its font cache every time: keep the user's cache, as `make run` does.
        os.environ.pop("MPLCONFIGDIR", None)
    from convviz_gui.app import main

    raise SystemExit(main())
