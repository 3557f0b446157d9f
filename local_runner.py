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
span (results.timeline).

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
import contextlib
import dataclasses
import fcntl
import json
import math
import os
import sys
import tempfile
import time
from typing import List, Optional, Sequence, Tuple

from cli import disk
from cli import entry_point
from cli.console import Console, FollowLog
from cli.layout import DEFAULT_OUTPUT_DIR, LocalLayout
import engines
from engines.flink import cluster as flink_cluster
from engines.flink import settings as flink_settings
from movielens import constants as c
from movielens import conversion
from movielens import convert
from movielens import download
from movielens import generate
from movielens import parse
from movielens.conversion import config as conversion_config
from pipeline import nodes
from pipeline import runner_flags
from pipeline.config import (CONVERSION_STAGE, LOCAL_BEAM_ARGS, PipelineConfig, beam_job_name,
                             local_pipeline_config)
from trainer.config import EPOCH_LOG_NAME


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


def span_mode(args) -> bool:
  return conversion_config.is_span_mode(args.spans, args.span_days)


def pipeline_config(args, csv_dir: str, beam_args: Sequence[str],
                    span: Optional[int] = None) -> PipelineConfig:
  return local_pipeline_config(
      args.output_dir, csv_dir, serving_dir=args.serving_dir, beam_args=beam_args,
      beam_job_names=engines.names_its_jobs(args.engine), train_steps=args.train_steps, span=span,
      enable_cache=not args.no_cache,
      **runner_flags.training_and_gate_settings(args, span_mode=span is not None))


def prepare_raw_data(args, raw_root: str, console: Console) -> str:
  """The folder holding the .dat files to use: given, generated, or downloaded."""
  if args.data_dir:
    return args.data_dir
  if args.synthetic:
    config = generate.GeneratorConfig.scaled(args.scale, seed=args.seed,
                                             choice_strength=args.choice_strength)
    data_dir = os.path.join(raw_root, f"synthetic-scale{args.scale:g}-seed{args.seed}" + (
        f"-choice{args.choice_strength:g}"
        if config.choice_strength != generate.GeneratorConfig.choice_strength else ""))
    if generate.read_config(data_dir) == config:
      console.event("synthetic data", f"reusing {data_dir}")
      return data_dir
    console.stage("generating synthetic data", f"{config.num_ratings:,} ratings")
    generate.generate_movielens(data_dir, config)
    console.done(data_dir)
    return data_dir
  console.stage("MovieLens 1M", "download (once), verify MD5, extract")
  data_dir = download.fetch_ml1m(os.path.join(raw_root, "download"))
  console.done(data_dir)
  return data_dir


def csv_dir_for(args, data_dir: str, csv_root: str) -> str:
  """The CSV folder of this data (in span mode, the root of its span folders)."""
  name = os.path.basename(data_dir.rstrip("/"))
  if span_mode(args):
    name += f"-days{args.span_days}" if args.span_days else f"-spans{args.spans}"
  return os.path.join(csv_root, name)


def convert_to_csv(args, data_dir: str, csv_root: str, beam_args: List[str],
                   console: Console, span: Optional[int] = None) -> Tuple[str, dict]:
  """The CSV folder for this data and settings (in span mode, span `span`'s), converted
  unless up to date; its summary. A bad line (strict mode) raises with the --lenient hint."""
  config = convert.config_from_flags(args, data_dir, csv_dir_for(args, data_dir, csv_root),
                                     span)
  if config.span_mode:
    config = dataclasses.replace(config, output_dir=config.span_dir(span))
  stale = conversion.staleness(config)
  if stale is None:
    console.event("CSV conversion", f"up to date in {config.output_dir}")
    return config.output_dir, conversion.read_summary(config.output_dir)
  console.stage("CSV conversion (Beam)", f"{data_dir} -> {config.output_dir} ({stale})")
  try:
    job_name = beam_job_name(PipelineConfig.pipeline_name, CONVERSION_STAGE)
    summary = conversion.run_conversion(
        config, list(LOCAL_BEAM_ARGS) + beam_args + (
            [f"--job_name={job_name}"] if engines.names_its_jobs(args.engine) else []), reuse=True)
  except parse.MovieLensFormatError as error:
    raise convert.with_lenient_hint(error) from None
  console.done(split_rows(summary) + f" rows, {summary['skipped_total']:,} lines skipped")
  return config.output_dir, summary


def split_rows(summary: dict) -> str:
  """"8,435 train, 529 validation, 1,038 eval": a conversion's rows, splits in time order."""
  return ", ".join(f"{summary['rows'][split]:,} {split}" for split in c.SPLITS
                   if split in summary["rows"])


@contextlib.contextmanager
def only_run_on(pipeline_root: str):
  """Holds `<pipeline root>/.lock` for the run. Two runs on one ML Metadata store and
  artifact tree would interleave their records, and the Pusher names versions by the
  second; so a second run stops at once, naming the first."""
  os.makedirs(pipeline_root, exist_ok=True)
  path = os.path.join(pipeline_root, ".lock")
  with open(path, "a+") as lock:
    try:
      fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      lock.seek(0)
      raise BlockingIOError(f"another run (pid {lock.read().strip() or '?'}) is using "
                            f"{pipeline_root}: wait for it to end, or give this run its "
                            "own --output-dir") from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    yield


def new_run_id() -> str:
  """This process's run id, "20261201-084500-123": the log file's name, and the pipeline
  run's in ML Metadata, so the report and TensorBoard name the run the same way. File-name
  safe, and free of the ':' and ',' TensorBoard's --logdir_spec splits on."""
  now = time.time()
  return time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int(now % 1 * 1000):03d}"


def run_pipeline(config: PipelineConfig, console: Console, run_id: str) -> None:
  """LocalDagRunner under run id `run_id`, with each component's start and end (and the
  Trainer's epochs) shown as they happen; then the run's summary."""
  from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top
  from tfx.dsl.compiler import compiler  # pylint: disable=g-import-not-at-top
  from tfx.dsl.compiler import constants  # pylint: disable=g-import-not-at-top
  from tfx.orchestration.portable import runtime_parameter_utils  # pylint: disable=g-import-not-at-top
  from pipeline import definition  # pylint: disable=g-import-not-at-top
  from results import run_summary  # pylint: disable=g-import-not-at-top
  # LocalDagRunner.run would name the run by the clock (with ':'); the compiled pipeline
  # gets this run's id instead, and LocalDagRunner runs it as it would its own.
  ir = compiler.Compiler().compile(definition.create_pipeline(config))
  runtime_parameter_utils.substitute_runtime_parameter(
      ir, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: run_id})
  follow = FollowLog(console, nodes.ROLES, notes_from=[EPOCH_LOG_NAME])
  with follow.attached(), only_run_on(config.pipeline_root):
    tfx.orchestration.LocalDagRunner().run_with_ir(ir)
  run_summary.print_summary(config, console, run_id)


def log_path(args, layout: LocalLayout, run_id: str) -> Optional[str]:
  """This run's log file (None with --verbose: the log stays on the terminal)."""
  if args.verbose:
    return None
  return os.path.join(layout.logs_dir, f"{run_id}.log")


def check_before_work(args, layout: LocalLayout) -> None:
  """What can be found wrong before any work (nothing written yet, not even the log): a
  --data-dir without the MovieLens files, folders that cannot be written, a damaged ML
  Metadata store (the disk space for the CSV is checked by the conversion); and what a
  failed commit left in the store, removed before TFX opens it."""
  from results import store  # pylint: disable=g-import-not-at-top
  missing = args.data_dir and download.missing_movielens_files(args.data_dir)
  if missing:
    raise FileNotFoundError(f"--data-dir {missing}")
  disk.require_writable(args.output_dir, "--output-dir")
  if args.engine == "flink":
    flink_cluster.check_up(flink_settings.Cluster())
  if args.prepare_only:
    return
  disk.require_writable(layout.serving_dir, "--serving-dir")
  if os.path.isfile(layout.metadata_path):
    store.check_pages(layout.metadata_path)
    repaired = store.repair(layout.metadata_path)
    if repaired:
      print(f"note: removed {repaired} rows of {layout.metadata_path} left by a run that "
            "failed to commit", file=sys.stderr)


def refuse_mixed_modes(args, layout: LocalLayout, data_dir: str) -> None:
  """Refuses a one-span run on a store of span runs of the same ratings, and the reverse:
  the two modes split the ratings otherwise, so the gate would judge the new model
  against a model that trained on its eval rows."""
  from movielens.conversion import summary  # pylint: disable=g-import-not-at-top
  from results import store  # pylint: disable=g-import-not-at-top
  ratings = summary.file_digest(os.path.join(data_dir, c.RATINGS_FILE))
  other = store.other_mode_runs(layout.metadata_path, span_mode(args), ratings)
  if other:
    recorded, this = ("span-mode", "a one-span") if not span_mode(args) else (
        "one-span", "a span-mode")
    raise ValueError(
        f"{layout.pipeline_root} holds {recorded} runs of the same ratings ({other}): "
        f"{this} run there would be judged against models that trained on its eval rows; "
        "give it its own --output-dir")


def engine_failure(error: BaseException, step: str) -> Optional[flink_cluster.EngineError]:
  """A Flink job that failed, or a cluster that stopped answering, as one line: what to
  check, and that the same command resumes (each TFX stage is redone whole or cached).
  None for any other error."""
  message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
  if not flink_cluster.answers(flink_settings.Cluster()):
    return flink_cluster.EngineError(
        f"the Flink cluster stopped answering during {step} ({message[:200]}): bin/flink "
        "status names what is down; bin/flink stop, bin/flink start, then rerun the same "
        "command to resume")
  if message.startswith("Pipeline ") and " failed in state " in message:  # Beam's words
    return flink_cluster.EngineError(
        f"a Flink job failed during {step}: {message[:300]} (its log: Flink's web UI, "
        f"{flink_settings.Cluster().rest_url}); rerun the same command to resume")
  return None


def main(argv: Sequence[str]) -> None:
  """The run; bad input raises (cli.entry_point turns it into one line)."""
  args, beam_args = parse_args(argv)
  layout = LocalLayout(args.output_dir, args.serving_dir)
  check_before_work(args, layout)
  os.environ.update(engines.worker_environment(args.engine))
  console = Console()
  try:
    run_id = new_run_id()
    with console.quiet(log_path(args, layout, run_id)), disk.watched(
        [args.output_dir, layout.serving_dir, tempfile.gettempdir()]):
      run(args, beam_args, layout, console, run_id)
      entry_point.raise_if_interrupted()  # one that a stage swallowed, after the last stage
  except (Exception, KeyboardInterrupt) as error:
    if entry_point.interrupted(error):  # every stage is cached or redone whole: a rerun resumes
      raise entry_point.Interrupted(console.last_step) from None
    if args.engine == "flink" and not args.debug:
      raise engine_failure(error, console.last_step) or error
    raise
  finally:
    console.close()


def run(args, beam_args: List[str], layout: LocalLayout, console: Console,
        run_id: str) -> None:
  """Data, CSV, then the pipeline and its summary: every stage on the console."""
  data_dir = prepare_raw_data(args, layout.raw_dir, console)
  if not args.prepare_only:
    refuse_mixed_modes(args, layout, data_dir)
  if span_mode(args):
    run_spans(args, beam_args, layout, data_dir, console, run_id)
    return
  csv_dir, summary = convert_to_csv(args, data_dir, layout.csv_root, beam_args, console)
  if summary["synthetic"]:
    console.say("note: the data is SYNTHETIC (movielens.generate), not MovieLens 1M")
  if summary["skipped_total"]:
    console.say(f"skipped lines by file and reason: {json.dumps(summary['skipped'])}")
  console.say(f"CSV for CsvExampleGen: {split_rows(summary)} rows from "
              f"{summary['users']:,} users and {summary['movies']:,} movies")
  if args.prepare_only:
    return

  config = pipeline_config(args, csv_dir, beam_args)
  console.say(f"TFX pipeline (LocalDagRunner) under {config.pipeline_root}")
  run_pipeline(config, console, run_id)


def run_span(args, beam_args: List[str], layout: LocalLayout, data_dir: str, span: int,
             console: Console, run_id: str) -> dict:
  """Converts span `span` and runs the pipeline on it, as run `<run_id>-span<span>`;
  returns the conversion summary."""
  console.say(f"\n=== span {span} ===")
  csv_span_dir, summary = convert_to_csv(args, data_dir, layout.csv_root, beam_args, console,
                                         span)
  earlier = span and conversion.read_summary(c.span_dir(os.path.dirname(csv_span_dir),
                                                        span - 1))
  changed = conversion.changed_catalogs(summary, earlier) if earlier else []
  if changed:
    console.say(f"note: {' and '.join(changed)} changed since span {span - 1} was "
                "converted: this span's rows carry other user or movie attributes than "
                "the spans before")
  if args.prepare_only:
    return summary
  config = pipeline_config(args, os.path.dirname(csv_span_dir), beam_args, span)
  run_pipeline(config, console, f"{run_id}-span{span}")
  return summary


def run_spans(args, beam_args: List[str], layout: LocalLayout, data_dir: str,
              console: Console, run_id: str) -> None:
  """Span mode: one span (--span, or the next not done), or every span (--replay)."""
  from results import timeline  # pylint: disable=g-import-not-at-top
  done = timeline.runs_done(layout.metadata_path)
  if not args.replay:
    span = args.span if args.span is not None else (max(done) + 1 if done else 0)
    if span > 0 and span - 1 not in done:
      raise ValueError(f"span {span - 1} has not been ingested by a finished run under "
                       f"{layout.pipeline_root}: run --span {span - 1} first, or --replay")
    run_span(args, beam_args, layout, data_dir, span, console, run_id)
    return
  first = conversion.read_summary(c.span_dir(csv_dir_for(args, data_dir, layout.csv_root), 0))
  num_spans = first["span"]["bounds"]["num_spans"] if first and 0 in done else None
  span, started = 0, time.time()
  while num_spans is None or span < num_spans:
    if span in done and num_spans is not None:
      console.say(f"span {span}: done in run {done[span].run_id}, skipped")
    else:
      summary = run_span(args, beam_args, layout, data_dir, span, console, run_id)
      num_spans = summary["span"]["bounds"]["num_spans"]
    span += 1
  if args.prepare_only:
    return
  console.say(f"\nreplay of {num_spans} spans ({time.time() - started:.0f} s here):")
  console.say(timeline.table(timeline.runs_done(layout.metadata_path)))


if __name__ == "__main__":
  entry_point.run_then_exit(main, expected=(download.DatasetUnavailableError,
                                            flink_cluster.EngineError))
