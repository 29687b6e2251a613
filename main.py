"""Launch the ConvViz window: ``python main.py [MODEL [IMAGE]] [--screenshot OUT_DIR]``.

Also the entry point of the bundled app (``convviz.spec``).
"""

import multiprocessing
import os
import sys

if __name__ == "__main__":
    if getattr(sys, "frozen", False):
        # PyInstaller's matplotlib hook gives every start (the window's and the engine's) a new
        # temporary matplotlib folder, where matplotlib would rebuild its font cache each time
        # (0.6 s of CPU): keep the user's cache, as `make run` does. Before freeze_support,
        # which the engine process never returns from.
        os.environ.pop("MPLCONFIGDIR", None)
    # In the bundled app the engine process re-executes this executable, and this call turns
    # that run into the engine (it never returns there) instead of a window.
    multiprocessing.freeze_support()
    from convviz_gui.app import main

    raise SystemExit(main())
