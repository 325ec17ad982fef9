"""Great Expectations imports, at module level, two libraries none of this project's suites use:
SciPy's statistics (``scipy.stats``, for its Kolmogorov–Smirnov and KL-divergence expectations, and
with it ``scipy.spatial`` and ``scipy.linalg``) and Altair (charts in the renderers of the
KL-divergence expectation). Loading them was a third of GE's import — 0.67 of 2.1 s in every process
that validates (a ``--parallel`` worker, the CLI running in one process).

:func:`defer` installs an import finder that hands those modules out as ``importlib.util.LazyLoader``
modules (the standard library's lazy import): the import binds the name, and the module's code runs
the first time one of its attributes is used — so an expectation that needs them still gets them,
whole, when it runs. ``assets/quality/__init__.py`` calls it, before any module of the package
imports Great Expectations."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

# imported by Great Expectations at module level, used by no expectation of our suites
DEFERRED = frozenset({"scipy.stats", "altair"})


class _DeferredFinder:
    """Finds a deferred module as the other finders would, with its loader made lazy."""

    @classmethod
    def find_spec(
        cls, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name not in DEFERRED:
            return None
        for finder in sys.meta_path:
            if finder is cls or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec  # a namespace package or an old-style loader: imported as it is
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def defer() -> None:
    """Install the finder (once); a deferred module already imported stays as it is."""
    if _DeferredFinder not in sys.meta_path:
        sys.meta_path.insert(0, _DeferredFinder)
