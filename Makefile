# ConvViz: `make run` launches the app, `make test` runs every test offscreen.
# Both create .venv from pyproject.toml when it is missing or older than pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/$(if $(filter Windows_NT,$(OS)),Scripts,bin)
STAMP  := $(VENV)/.convviz-installed

.PHONY: run test lint bench screenshots clean system-deps bundle bundle-check

$(STAMP): pyproject.toml
	bash .ci/system-deps.sh
	@if ! $(BIN)/python -c "import sys" >/dev/null 2>&1; then \
		rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

system-deps:
	bash .ci/system-deps.sh

run: $(STAMP)
	$(BIN)/python main.py

# The bundle check (tests/cli/test_bundle.py, minutes) runs only with CONVVIZ_TEST_BUNDLE=1.
test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# The tools that hold the design: style, types of the Qt-free layers, imports between layers.
lint: $(STAMP)
	$(BIN)/ruff check convviz_gui tests bench main.py
	$(BIN)/mypy
	$(BIN)/lint-imports

BENCHES := bench/gradcam.py bench/filters.py bench/activations.py bench/gui.py bench/report.py bench/live.py

bench: $(STAMP)
	@for script in $(BENCHES); do echo "== $$script"; QT_QPA_PLATFORM=offscreen $(BIN)/python $$script || exit 1; done

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python main.py --screenshot docs/screenshots

# The self-contained app (convviz.spec): dist/ConvViz/ConvViz, ConvViz.exe or ConvViz.app.
BUNDLE_STAMP := $(VENV)/.convviz-bundle-tools
BUNDLE_INPUTS := convviz.spec main.py pyproject.toml $(wildcard convviz_gui/*.py convviz_gui/*/*.py \
                 convviz_gui/*/*/*.py resources/* resources/*/*)

$(BUNDLE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bundle]"
	touch $(BUNDLE_STAMP)

bundle: dist/.convviz-bundle

# The byte code archive stored, not compressed: the engine starts 0.3 s sooner (convviz.spec).
dist/.convviz-bundle: $(BUNDLE_STAMP) $(BUNDLE_INPUTS)
	PYINSTALLER_ZLIB_COMPRESSION_LEVEL=0 $(BIN)/python -m PyInstaller --noconfirm --log-level WARN convviz.spec
	touch $@

# Build it, start it as a double-click would (empty environment, Xvfb) and check its processes.
bundle-check: $(STAMP)
	CONVVIZ_TEST_BUNDLE=1 $(BIN)/python -m pytest -q -m bundle tests/cli/test_bundle.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
