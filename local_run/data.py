"""The data of a local run: the raw .dat files (given, generated or downloaded), then the
CSV conversion (Beam), redone only when missing or stale."""
import dataclasses
import os
from typing import List, Optional, Tuple

from cli.console import Console
import engines
from local_run.config import span_mode
from movielens import constants as c
from movielens import conversion
from movielens import convert
from movielens import download
from movielens import generate
from movielens import parse
from pipeline.config import CONVERSION_STAGE, LOCAL_BEAM_ARGS, PipelineConfig, beam_job_name


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
