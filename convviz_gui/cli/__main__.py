"""``python -m convviz_gui.cli``: the ``convviz`` command."""

from convviz_gui.cli import main

raise SystemExit(main())
