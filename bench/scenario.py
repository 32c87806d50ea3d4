"""Deprecated path of bench.api.family (moved in sqla-bench 0.3): import from bench.api."""

from bench._compat import forward

__getattr__ = forward(__name__, "bench.api.family", "bench.api")
