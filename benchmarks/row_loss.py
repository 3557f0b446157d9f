"""Reproducer: does a Beam running mode lose rows of the CSV conversion? (issue 40)

    python -m benchmarks.row_loss --data-dir DIR --runs 3 --preload store \
        --direct_running_mode=multi_processing --direct_num_workers=0
    python -m benchmarks.row_loss --scale 6 --runs 3    # generated data, the default mode

Converts the same data `--runs` times in one process, each into a fresh folder, and says
of each whether every shard on disk holds the rows built for it (the conversion's own
check_shards, which refuses a short shard), with its wall time and the peak memory of the
process tree. `--preload` first imports what a full run has loaded when its conversion
starts (`store`: ML Metadata, as local_runner's check_before_work; `tfx`: TFX and
TensorFlow too), since full runs lost rows where conversions alone did not. Flags it does
not know are Beam pipeline options, after the local defaults (pipeline.config).
"""
from benchmarks import common  # first: the process environment

import argparse
import shutil
import tempfile
import time

from cli import beam_flags
from cli import entry_point
from cli.layout import LocalLayout
from movielens import conversion
from movielens.conversion import run as conversion_run
from pipeline.config import LOCAL_BEAM_ARGS

PRELOADS = ("none", "store", "tfx")


def preload(what: str) -> None:
  if what in ("store", "tfx"):
    from results import store  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  if what == "tfx":
    import tensorflow  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
    from tfx import v1  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--scale", type=float, default=6.0, help="generated data scale")
  parser.add_argument("--data-dir", help="convert this MovieLens folder instead")
  parser.add_argument("--work-dir", help="where data and CSV go (default: a temp dir)")
  parser.add_argument("--runs", type=int, default=3, help="conversions to make")
  parser.add_argument("--preload", choices=PRELOADS, default="none",
                      help="what to import before converting (default none)")
  args, beam_args = beam_flags.parse_args_and_beam_args(parser, argv)
  work_dir = args.work_dir or tempfile.mkdtemp(prefix="row_loss_")
  data_dir = args.data_dir or common.generated_data(work_dir, args.scale)
  preload(args.preload)
  beam_args = list(LOCAL_BEAM_ARGS) + beam_args
  print(f"Beam: {' '.join(beam_args)}; preload: {args.preload}; data: {data_dir}")
  complete = 0
  for run in range(1, args.runs + 1):
    output_dir = f"{LocalLayout(work_dir).csv_root}-{run}"
    config = conversion.ConversionConfig(input_dir=data_dir, output_dir=output_dir)
    with common.PeakMemory() as memory:
      start = time.monotonic()
      try:
        summary = conversion.run_conversion(config, beam_args)
        said = f"complete, {sum(summary['rows'].values()):,} rows"
        complete += 1
      except conversion_run.LostRowsError as error:
        said = f"LOST ROWS: {error}"
      seconds = time.monotonic() - start
    print(f"run {run}: {seconds:.1f} s, peak {memory.peak / common.GB:.2f} GB, {said}",
          flush=True)
    shutil.rmtree(output_dir, ignore_errors=True)
  print(f"{complete} of {args.runs} conversions complete")


if __name__ == "__main__":
  entry_point.run(main)  # a bad flag: one line
