"""The pytest plug-in: the `pytest11` entry point (pytest_hooks), `async_benchmark`,
per-driver engines for users' tests and the counts table. Kept light at import: pytest
loads the entry point in every test session. May import bench.judge, bench.measure
and everything below."""
