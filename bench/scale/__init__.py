"""Load from several processes and machines: the Dask cluster, distributed cases and
the load worker's side. May import bench.measure and everything below it."""
