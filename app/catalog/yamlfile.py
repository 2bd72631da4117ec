"""YAML of the catalog and reference data, parsed by libyaml's C parser when PyYAML has it:
the same safe loading about eight times faster than the pure-Python parser (the screening
catalogs took 0.1 s of a process's first screening)."""

from typing import IO, Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(stream: IO[str] | str) -> Any:
    """yaml.safe_load, in C where available."""
    return yaml.load(stream, Loader=_LOADER)
