"""Side-by-side benchmarks of lmforge stages against peer libraries (run on demand, e.g. `make bench`)."""
