"""sarcoma-evidence: the record schema, vocabularies, store, curation and CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sarcoma-evidence")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
