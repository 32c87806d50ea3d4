"""Measuring one parameter point: the case lifecycle, the interleaved schedule, the
plan, the counters (statements, Python calls, instructions), the machine-speed probe,
profiling, EXPLAIN, latency histograms and the cross-variant data check. Shared by
`sqla-bench run` and the pytest plug-in. May import bench.api, bench.db, bench.results."""
