"""sqla-bench: a benchmark and profiling harness for SQLAlchemy's asyncio extension."""

__version__ = "0.2.0"
