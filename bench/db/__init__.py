"""Databases and drivers: the driver registry (a row holds every fact about a driver),
raw driver connections, URLs and engines, the harness's own tables, `doctor`, and the
aiopg dialect. The bottom of the package: it imports nothing else of bench."""
