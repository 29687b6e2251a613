"""Launch the ConvViz window: ``python main.py [MODEL [IMAGE]] [--screenshot OUT_DIR]``."""

from convviz_gui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
