"""Verdicts on results: pure verdict functions, compare, the CI gate, calibrate, ab,
repeat, history and step detection. Reads results files; runs fresh worker processes
for ab/calibrate/repeat. May import bench.run, bench.measure and everything below."""
