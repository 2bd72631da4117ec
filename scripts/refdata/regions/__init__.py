"""Reference regions the builder knows: key -> module with ``KEY``, ``REGION``, ``build(out)``."""

from __future__ import annotations

from types import ModuleType

from . import bazhong, dazhou, wushan

REGIONS: dict[str, ModuleType] = {m.KEY: m for m in (bazhong, dazhou, wushan)}
