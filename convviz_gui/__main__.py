"""`python -m convviz_gui` runs the command-line interface."""

from convviz_gui.cli import main

raise SystemExit(main())
