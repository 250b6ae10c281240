"""Scale benchmarks, run with `make bench`: each figure printed on one line with its data size."""
