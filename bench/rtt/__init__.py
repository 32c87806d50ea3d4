"""Network distance (`--rtt`): the delaying TCP proxy process (proxy) and the run's
side of it (control: start, calibrate, read its figures, stop). May import
bench.measure and everything below it."""
