"""Benchmark: the Beam CSV conversion at ml-1m scale (1,000,209 ratings).

    python -m benchmarks.convert_benchmark                 # generated ml-1m-scale data
    python -m benchmarks.convert_benchmark --scale 0.1     # quicker
    python -m benchmarks.convert_benchmark --data-dir DIR  # real MovieLens 1M

Prints wall time, peak memory of the whole process tree (Beam's worker processes
included) and throughput, next to the targets: <= 3 minutes and <= 4 GB on 2 cores, and
writes them to docs/benchmarks/convert_benchmark.md (--page).
Flags it does not know are Beam pipeline options (default: pipeline.config.LOCAL_BEAM_ARGS,
the DirectRunner in this process).
"""
from benchmarks import common  # first: the process environment

import argparse
import tempfile
import time

from cli import beam_flags
from cli import entry_point
from cli.layout import LocalLayout
from movielens import constants as c
from movielens import conversion
from pipeline.config import LOCAL_BEAM_ARGS

TARGET_SECONDS = 180
TARGET_PEAK_BYTES = 4 * common.GB


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--scale", type=float, default=1.0, help="generated data scale")
  parser.add_argument("--data-dir", help="convert this MovieLens folder instead")
  parser.add_argument("--work-dir", help="where data and CSV go (default: a temp dir)")
  common.add_page_flag(parser, "convert_benchmark")
  args, beam_args = beam_flags.parse_args_and_beam_args(parser, argv)
  work_dir = args.work_dir or tempfile.mkdtemp(prefix="convert_benchmark_")
  data_dir = args.data_dir
  if not data_dir:
    start = time.monotonic()
    data_dir = common.generated_data(work_dir, args.scale, reuse=False)
    print(f"generated scale {args.scale:g} in {time.monotonic() - start:.1f} s")

  config = conversion.ConversionConfig(input_dir=data_dir,
                                       output_dir=LocalLayout(work_dir).csv_root)
  beam_args = list(LOCAL_BEAM_ARGS) + beam_args
  with common.PeakMemory() as memory:
    start = time.monotonic()
    summary = conversion.run_conversion(config, beam_args)
    seconds = time.monotonic() - start
  rows = sum(summary["rows"].values())
  common.publish(args.page, "Benchmark: the CSV conversion", [
      f"Beam: {' '.join(beam_args)}; data: "
      + ("--data-dir" if args.data_dir else f"generated, scale {args.scale:g}") + ".",
      "",
      "| measure | value | target |",
      "| --- | --- | --- |",
      f"| rows | {rows:,} (" + ", ".join(f"{split} {summary['rows'][split]:,}"
                                     for split in c.SPLITS)
      + f"; {summary['skipped_total']:,} lines skipped) | |",
      f"| wall time | {seconds:.1f} s | <= {TARGET_SECONDS} s: "
      f"{common.verdict(seconds <= TARGET_SECONDS)} |",
      f"| peak memory, all processes | {memory.peak / common.GB:.2f} GB | <= "
      f"{TARGET_PEAK_BYTES / common.GB:.0f} GB: "
      f"{common.verdict(memory.peak <= TARGET_PEAK_BYTES)} |",
      f"| throughput | {rows / seconds:,.0f} rows/s | |",
  ])

if __name__ == "__main__":
  entry_point.run(main)  # a bad flag: one line
