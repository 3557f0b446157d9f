"""Runs bst-movielens on this machine.

    python local_runner.py --synthetic     # generated MovieLens-format data, no download
    python local_runner.py                 # real MovieLens 1M, downloaded once and verified

Stages, each owning one folder under --output-dir:
    raw/   MovieLens .dat files (downloaded, or generated with --synthetic)
    csv/   one row per rating with the user's history, split into train/ and eval/ (Beam)

The TFX pipeline (pipeline.create_pipeline) consumes csv/; it runs through the Trainer so
far, and this script does not run it yet (the Evaluator, Pusher and the local run come
next). Flags this script does not know are passed to Beam as pipeline options.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # TFT 1.16 needs tf_keras

import argparse
import json
import logging
import sys
import time
import warnings
from typing import List, Optional, Sequence

# Google's client libraries warn on import about future support for Python 3.10 and
# grpcio, which TFX 1.16 pins; nothing a user of this pipeline can act on. Beam's worker
# processes inherit the environment variable; this process gets the filter directly.
_GOOGLE_FUTURE_WARNINGS = ("google.api_core._python_version_support",
                           "google.auth.transport.grpc")
os.environ.setdefault("PYTHONWARNINGS", ",".join(
    f"ignore::FutureWarning:{module}" for module in _GOOGLE_FUTURE_WARNINGS))
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")

from movielens import constants as c
from movielens import convert
from movielens import download
from movielens import generate
from movielens import parse

# DirectRunner runs bundles in worker processes on every core (TFX's default is one thread).
LOCAL_BEAM_ARGS = ("--direct_running_mode=multi_processing", "--direct_num_workers=0")


class Progress:
  """Prints each stage with the time it took, for a person watching the terminal."""

  def __init__(self):
    self._start = time.monotonic()

  def stage(self, name: str, detail: str = "") -> "Progress":
    self._stage_start = time.monotonic()
    print(f"[{self._elapsed(self._start)}] {name}{': ' + detail if detail else ''}",
          flush=True)
    return self

  def done(self, detail: str) -> None:
    print(f"    done in {self._elapsed(self._stage_start)}: {detail}", flush=True)

  @staticmethod
  def _elapsed(since: float) -> str:
    seconds = int(time.monotonic() - since)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def parse_args(argv: Sequence[str]):
  parser = argparse.ArgumentParser(
      description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  data = parser.add_argument_group("data")
  data.add_argument("--synthetic", action="store_true",
                    help="generate MovieLens-1M-format data instead of downloading ml-1m")
  data.add_argument("--scale", type=float, default=1.0,
                    help="with --synthetic: fraction of ml-1m's size (default 1: 1,000,209 "
                    "ratings)")
  data.add_argument("--seed", type=int, default=0, help="with --synthetic: random seed")
  data.add_argument("--data-dir",
                    help="use the ratings.dat, users.dat and movies.dat in this folder "
                    "(no download, no generation)")
  parser.add_argument("--output-dir", default="outputs",
                      help="root of every stage's folder (default: outputs)")
  convert.add_conversion_flags(parser)
  args, beam_args = parser.parse_known_args(argv)
  if args.data_dir and args.synthetic:
    parser.error("--data-dir and --synthetic exclude each other")
  return args, beam_args


def prepare_raw_data(args, raw_root: str, progress: Progress) -> str:
  """The folder holding the .dat files to use: given, generated, or downloaded."""
  if args.data_dir:
    if not download.has_movielens_files(args.data_dir):
      raise SystemExit(f"{args.data_dir} lacks one of {', '.join(c.DATA_FILES)}")
    return args.data_dir
  if args.synthetic:
    config = generate.GeneratorConfig.scaled(args.scale, seed=args.seed)
    data_dir = os.path.join(raw_root, f"synthetic-scale{args.scale:g}-seed{args.seed}")
    if generate.read_config(data_dir) == config:
      progress.stage("synthetic data", f"reusing {data_dir}")
      return data_dir
    progress.stage("generating synthetic data", f"{config.num_ratings:,} ratings")
    generate.generate_movielens(data_dir, config)
    progress.done(data_dir)
    return data_dir
  progress.stage("MovieLens 1M", "download (once), verify MD5, extract")
  try:
    data_dir = download.fetch_ml1m(os.path.join(raw_root, "download"))
  except download.DatasetUnavailableError as error:
    raise SystemExit(f"error: {error}") from None
  progress.done(data_dir)
  return data_dir


def convert_to_csv(args, data_dir: str, csv_root: str, beam_args: List[str],
                   progress: Progress) -> dict:
  config = convert.config_from_flags(args, data_dir,
                                     os.path.join(csv_root, os.path.basename(data_dir)))
  if convert.is_current(config):
    progress.stage("CSV conversion", f"up to date in {config.output_dir}")
    return convert.read_summary(config.output_dir)
  progress.stage("CSV conversion (Beam)", f"{data_dir} -> {config.output_dir}")
  summary = convert.run_conversion(config, list(LOCAL_BEAM_ARGS) + beam_args)
  progress.done(f"{summary['rows']['train']:,} train rows, {summary['rows']['eval']:,} "
                f"eval rows, {summary['skipped_total']:,} lines skipped")
  return summary


def main(argv: Optional[Sequence[str]] = None) -> None:
  logging.basicConfig(level=logging.WARNING)
  # Beam relays its workers' start-up chatter as warnings; errors still show.
  logging.getLogger("apache_beam").setLevel(logging.ERROR)
  args, beam_args = parse_args(sys.argv[1:] if argv is None else argv)
  progress = Progress()
  data_dir = prepare_raw_data(args, os.path.join(args.output_dir, "raw"), progress)
  try:
    summary = convert_to_csv(args, data_dir, os.path.join(args.output_dir, "csv"),
                             beam_args, progress)
  except parse.MovieLensFormatError as error:
    raise SystemExit(f"error: {error}\n(--lenient skips such lines, counting each kind)")
  if summary["synthetic"]:
    print("note: the data is SYNTHETIC (movielens.generate), not MovieLens 1M")
  if summary["skipped_total"]:
    print(f"skipped lines by file and reason: {json.dumps(summary['skipped'])}")
  print(f"CSV for CsvExampleGen: {summary['rows']['train']:,} train and "
        f"{summary['rows']['eval']:,} eval rows from {summary['users']:,} users and "
        f"{summary['movies']:,} movies")


if __name__ == "__main__":
  main()
