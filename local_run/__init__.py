"""A run on this machine, behind local_runner.py's flags: its configs, data, checks,
pipeline run and span replay."""
