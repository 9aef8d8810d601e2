"""provenance: track generative-AI assets on production storage.

The packages, by stage: ``cli`` and ``daemon`` (with ``watch``) call ``ingest``,
``retention``, ``clearance`` and ``report``, which use ``catalog``, ``audit``, ``detect``,
``tagging``, ``files``, ``access`` and ``config``; ``lifecycle`` (the statuses and the
one function that moves an asset between them) and ``errors`` are below them all. Besides the
version, this module holds ``lazy_exports``, which those packages' ``__init__`` use so that
importing one submodule stays cheap.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """Return a ``__getattr__`` for ``package`` that imports each name in ``where`` (name ->
    module) the first time it is asked for, and keeps it in the package from then on."""
    namespace = sys.modules[package].__dict__

    def load(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return load


__version__ = "0.1.0"
