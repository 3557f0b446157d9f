"""Speed and quality benchmarks, printed as numbers: run each as a module from the
repository's root, e.g. `python -m benchmarks.pipeline_benchmark --scale 0.1`."""
