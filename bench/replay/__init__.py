"""Replay: run a captured workload (bench.api.capturing writes it) against the user's own
database through every chosen driver, pool size and round-trip time, in three forms
(the raw driver, Core text() on an AsyncEngine, an AsyncSession), interleaved, each unit
rolled back unless asked to commit; and write an ordinary results file that report and
compare read. Owns: reading a workload for replay (workload), translating its SQL between
paramstyles (sql), the forms (forms), what a case saw (tally), a case (case) and the run
(runner). May import bench.run, bench.rtt, bench.scale, bench.measure, bench.api,
bench.db and bench.results; only bench.cli imports it.
"""
