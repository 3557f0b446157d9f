"""What a local run does: data, CSV, then the pipeline; in span mode one span's run, or
every span in turn (--replay), skipping the spans done."""
import json
import os
import time
from typing import List

from cli.console import Console
from cli.layout import LocalLayout
from local_run import checks
from local_run.config import pipeline_config, span_mode
from local_run.data import convert_to_csv, csv_dir_for, prepare_raw_data, split_rows
from local_run.pipeline_run import run_pipeline
from movielens import constants as c
from movielens import conversion


def run(args, beam_args: List[str], layout: LocalLayout, console: Console,
        run_id: str) -> None:
  """Data, CSV, then the pipeline and its summary: every stage on the console."""
  data_dir = prepare_raw_data(args, layout.raw_dir, console)
  if not args.prepare_only:
    checks.refuse_other_eval_rows(args, layout, data_dir)
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
