"""A run: the runner (the results file's one writer), environment capture, progress
and the harness-overhead check. May import bench.rtt, bench.scale, bench.measure and
everything below them."""
