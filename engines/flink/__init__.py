"""A local Apache Flink cluster and Beam's Flink job server, installed and run by `bin/flink`
(docs/scaling_out.md); `--engine flink` runs every Beam stage of the pipeline on it."""
