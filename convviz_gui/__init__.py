"""ConvViz: see what a convolutional network has learned."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("convviz")  # pyproject.toml's version, read once from the install
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
