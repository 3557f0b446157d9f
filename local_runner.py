"""Runs bst-movielens on this machine.

    python local_runner.py --synthetic     # generated MovieLens-format data, no download
    python local_runner.py                 # real MovieLens 1M, downloaded once and verified
    python local_runner.py --synthetic --replay --spans 5
                                           # production retraining, replayed: the ratings
                                           # cut by time into 5 spans, one run per span

Stages, each owning one folder under --output-dir:
    raw/       MovieLens .dat files (downloaded, or generated with --synthetic)
    csv/       one row per rating with the user's history, split into train/, validation/
               and eval/
               (Beam; redone only when missing or stale)
    tfx/       the TFX pipeline (pipeline.definition) on LocalDagRunner: one folder
               per component, and metadata.sqlite, the ML Metadata of every run. Cached:
               a rerun, or one after an interruption, redoes only what changed.
    serving/   blessed models, one version folder each (Unix time), as TF Serving loads them
    logs/      each run's full log: TFX's, Beam's and TensorFlow's own lines (the terminal
               shows the stages, a heartbeat every 30 s and the summary; --verbose shows
               everything there instead)

Span mode (--spans N or --span-days D): each run converts and ingests one span (--span K,
or the next one not ingested yet), trains on the spans before it from a warm start, checks
drift against the previous span and judges on the new span; --replay runs every span in
turn, skipping the ones already done (so a killed replay resumes), and prints one line per
span (results.timeline). The work itself is in local_run/; this file holds the flags.

Beam engines: the DirectRunner in this process by default; --engine flink runs every Beam
stage (the conversion and each Beam-based TFX component) as jobs on the local Flink
cluster that `bin/flink start` starts (docs/scaling_out.md). Flags this script does not
know are passed to Beam, after the engine's own, for the conversion and for every
Beam-based TFX component.

TFX, TensorFlow and Beam load only when the work starts (the imports inside functions):
--help answers at once, and a bad flag is refused before their seconds of start-up.
"""
from cli import environment  # noqa: F401  (first: before TensorFlow loads)

import argparse
import math
import os
import tempfile
from typing import Sequence

from cli import disk
from cli import entry_point
from cli.console import Console
from cli.layout import DEFAULT_OUTPUT_DIR, LocalLayout
import engines
from engines.flink import cluster as flink_cluster
from local_run import checks
from local_run import pipeline_run
from local_run import replay
from local_run.config import pipeline_config, span_mode
from movielens import convert
from movielens import download
from movielens import generate
from pipeline import runner_flags


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
  generate.add_choice_flag(data)
  data.add_argument("--data-dir",
                    help="use the ratings.dat, users.dat and movies.dat in this folder "
                    "(no download, no generation)")
  parser.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR,
                      help=f"root of every stage's folder (default: {DEFAULT_OUTPUT_DIR})")
  convert.add_conversion_flags(parser)
  add_pipeline_flags(parser)
  parser.add_argument("--verbose", action="store_true",
                      help="show TFX's, Beam's and TensorFlow's own log here instead of in "
                      "<output-dir>/logs/")
  entry_point.add_debug_flag(parser)
  args, beam_args = runner_flags.parse_runner_args(parser, argv)
  beam_args = engines.beam_args(args.engine) + beam_args
  # Resolved once, before anything is recorded: ML Metadata keeps every artifact's path,
  # and a relative one would point elsewhere from another folder, a symlinked one would
  # miss the cache of the same folder named by its own path.
  for flag in ("output_dir", "data_dir", "serving_dir"):
    if getattr(args, flag):
      setattr(args, flag, os.path.realpath(getattr(args, flag)))
  if args.data_dir and args.synthetic:
    parser.error("--data-dir and --synthetic exclude each other")
  if not (math.isfinite(args.scale) and args.scale > 0):
    raise ValueError(f"--scale must be a positive number, got {args.scale:g}")
  if args.seed < 0:
    raise ValueError(f"--seed must be 0 or more, got {args.seed}")
  if args.window > args.history_length:  # the CSV's rows hold --history-length events
    raise ValueError(f"--window {args.window} is longer than the {args.history_length} "
                     "history events per CSV row (--history-length): pass --window "
                     f"{args.history_length} or less, or --history-length {args.window} or more")
  if os.path.exists(args.output_dir) and not os.path.isdir(args.output_dir):
    raise ValueError(f"--output-dir {args.output_dir} is a file, not a folder")
  if not span_mode(args) and (args.replay or args.span is not None):
    parser.error("--replay and --span need span mode: --spans N or --span-days D")
  if not span_mode(args) and args.portable_spans:
    parser.error("--portable-spans needs span mode: --spans N or --span-days D")
  if args.replay and args.span is not None:
    parser.error("--replay runs every span: leave out --span")
  if args.span is not None and args.span < 0:
    raise ValueError(f"--span must be 0 or more (the first span is 0), got {args.span}")
  if args.span is not None and not args.span_days and args.span >= args.spans:
    raise ValueError(f"--span {args.span} is not a span of --spans {args.spans}: spans are "
                     f"0 to {args.spans - 1}")
  try:  # PipelineConfig's own checks, before any work (the CSV folder is not needed)
    pipeline_config(args, "", beam_args, span=0 if span_mode(args) else None)
  except ValueError as error:
    parser.error(str(error))
  return args, beam_args


def add_pipeline_flags(parser: argparse.ArgumentParser) -> None:
  runner_flags.add_training_and_gate_flags(parser)
  group = parser.add_argument_group("pipeline")
  group.add_argument("--engine", choices=engines.ENGINES, default="direct",
                     help="where the Beam stages run: Beam's DirectRunner in this process "
                     "(default), or as jobs on the local Flink cluster of `bin/flink start`")
  group.add_argument("--serving-dir",
                     help="where blessed models are pushed (default: <output-dir>/serving)")
  group.add_argument("--train-steps", type=int,
                     help="train this many batches in all instead of full passes "
                     "(a quick run; default: full passes)")
  group.add_argument("--no-cache", action="store_true",
                     help="rerun every component even if its inputs did not change")
  group.add_argument("--prepare-only", action="store_true",
                     help="stop after the CSV conversion (to run the pipeline elsewhere)")
  group.add_argument("--replay", action="store_true",
                     help="with --spans/--span-days: run every span in turn on one ML "
                     "Metadata store, as production would, skipping spans already done")
  group.add_argument("--portable-spans", action="store_true",
                     help="span mode as kubeflow_v2_runner.py compiles it: each run "
                     "ingests its training spans again with a second CsvExampleGen and "
                     "analyzes them in full, instead of gathering earlier runs' with TFX's "
                     "span resolvers (pipeline/span_inputs.py)")


def main(argv: Sequence[str]) -> None:
  """The run; bad input raises (cli.entry_point turns it into one line)."""
  args, beam_args = parse_args(argv)
  layout = LocalLayout(args.output_dir, args.serving_dir)
  checks.check_before_work(args, layout)
  os.environ.update(engines.worker_environment(args.engine))
  console = Console()
  try:
    run_id = pipeline_run.new_run_id()
    with console.quiet(pipeline_run.log_path(args, layout, run_id)), disk.watched(
        [args.output_dir, layout.serving_dir, tempfile.gettempdir()]):
      replay.run(args, beam_args, layout, console, run_id)
      entry_point.raise_if_interrupted()  # one that a stage swallowed, after the last stage
  except (Exception, KeyboardInterrupt) as error:
    if entry_point.interrupted(error):  # every stage is cached or redone whole: a rerun resumes
      raise entry_point.Interrupted(console.last_step) from None
    if args.engine == "flink" and not args.debug:
      raise checks.engine_failure(error, console.last_step) or error
    raise
  finally:
    console.close()


if __name__ == "__main__":
  entry_point.run_then_exit(main, expected=(download.DatasetUnavailableError,
                                            flink_cluster.EngineError))
