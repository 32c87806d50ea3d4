"""Results: the typed records of a run and its cases (which own their derived figures),
the results file and its format versions, storage of runs, the pytest-benchmark
conversion, statistics and units. At the bottom with bench.db: it imports nothing
else of bench, so every other part can read and write results."""
