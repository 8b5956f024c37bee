"""The one version string: the installed distribution's (pyproject's ``version``), read with importlib.metadata."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tim-bench")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
