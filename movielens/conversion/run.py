"""run_conversion: parse the catalogs, run the Beam pipeline, move the folder into place."""
import dataclasses
import logging
from typing import Dict, Sequence, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from cli import disk
from movielens import constants as c
from movielens import parse
from movielens.conversion import beam_pipeline
from movielens.conversion import folders
from movielens.conversion import summary as conversion_summary
from movielens.conversion.config import ConversionConfig

_join = FileSystems.join  # paths may be on any Beam filesystem


def parse_catalogs(config: ConversionConfig) -> Tuple[
    Dict[int, parse.User], Dict[int, parse.Movie], parse.SkipReport]:
  """users.dat and movies.dat, parsed at launch (strict: the first bad line raises; lenient:
  the report holds the skipped lines and the ids they defined)."""
  report = None if config.strict else parse.SkipReport()
  users = parse.load_users(_join(config.input_dir, c.USERS_FILE), report,
                           FileSystems.open)
  movies = parse.load_movies(_join(config.input_dir, c.MOVIES_FILE), report,
                             FileSystems.open)
  return users, movies, report or parse.SkipReport()


def run_conversion(config: ConversionConfig, beam_args: Sequence[str] = (),
                   reuse: bool = False) -> Dict[str, object]:
  """Converts `config.input_dir` and returns the summary it wrote; with `reuse`, returns
  the existing one instead when output_dir is current (checked once the lock is held, so
  a conversion another process just finished is not done again).

  Raises parse.MovieLensFormatError on the first bad line in strict mode, ValueError when
  no rating is left to convert.
  """
  config.validate()
  for name in c.DATA_FILES:
    if not FileSystems.exists(_join(config.input_dir, name)):
      raise FileNotFoundError(f"{_join(config.input_dir, name)} does not exist: "
                              "convert needs ratings.dat, users.dat and movies.dat")
  with folders.one_at_a_time(config.output_dir):
    if reuse and conversion_summary.is_current(config):
      return conversion_summary.read_summary(config.output_dir)
    staging = (config.output_dir.rstrip("/") + ".partial"
               if folders.is_local(config.output_dir) else config.output_dir)
    folders.remove(staging)
    folders.require_free_space(config)
    try:
      with disk.watched([config.output_dir] if folders.is_local(config.output_dir) else []):
        summary = _convert(dataclasses.replace(config, output_dir=staging), beam_args)
    except BaseException:
      if staging != config.output_dir:
        folders.remove(staging)
      raise
    folders.move_into_place(staging, config.output_dir)
  logging.info("converted %s: %s; %s lines skipped", config.input_dir,
               ", ".join(f"{rows} {split} rows" for split, rows in summary["rows"].items()),
               summary["skipped_total"])
  return summary


class LostRowsError(ValueError):
  """Rows or ratings went missing inside the conversion: nothing is published."""


def check_ratings(summary: Dict[str, object], config: ConversionConfig) -> None:
  """Raises LostRowsError unless every line of ratings.dat (as read_lines numbers them,
  counted here, outside Beam) reached BuildUserRows as a kept rating or was skipped."""
  path = _join(config.input_dir, c.RATINGS_FILE)
  lines = sum(1 for _ in parse.read_lines(path, FileSystems.open))
  accounted = summary["ratings"] + sum(summary["skipped"].get(c.RATINGS_FILE, {}).values())
  if accounted != lines:
    raise LostRowsError(
        f"{path} has {lines:,} rating lines, but {accounted:,} reached the rows or the "
        "skipped lines: ratings were lost inside the conversion, so nothing was published "
        "(the same command converts again)")


def check_shards(summary: Dict[str, object], config: ConversionConfig) -> None:
  """Raises LostRowsError, naming the first short split and shard, unless every shard's
  file holds the rows built for it: its header and one line per row, as counted on disk
  after writing (summary.json's `files`)."""
  short = []
  for split, shard_rows in summary["shard_rows"].items():
    for shard, built in enumerate(shard_rows):
      name = beam_pipeline.shard_name(split, shard, config.num_shards)
      written = summary["files"].get(name, {}).get("lines", 1) - 1
      if written != built:
        short.append(f"CSV shard {name} (split {split}, shard {shard}) holds {written:,} "
                     f"rows, not the {built:,} built for it")
  if short:
    others = f" (and {len(short) - 1} other shards)" if len(short) > 1 else ""
    raise LostRowsError(f"{short[0]}{others}: rows were lost on the way to the files, so "
                        "nothing was published (the same command converts again)")


def _convert(config: ConversionConfig, beam_args: Sequence[str]) -> Dict[str, object]:
  """The conversion itself, into config.output_dir."""
  users, movies, catalog_report = parse_catalogs(config)
  header = conversion_summary.summary_header(config)
  conversion_summary.write_catalog(movies, config.output_dir)
  try:
    with beam.Pipeline(options=PipelineOptions(list(beam_args))) as pipeline:
      beam_pipeline.build_pipeline(pipeline, config, users, movies, catalog_report, header)
  except Exception as runner_error:  # the runner wraps errors raised on its workers
    format_error = parse.MovieLensFormatError.find_in(str(runner_error))
    if format_error is None:
      raise
    raise format_error from None
  summary = conversion_summary.read_summary(config.output_dir)
  try:
    _check_has_rows(summary, config)
    check_ratings(summary, config)
    check_shards(summary, config)
  except ValueError:
    FileSystems.delete([_join(config.output_dir, c.SUMMARY_FILE)])  # never reused as current
    raise
  return summary


def _check_has_rows(summary: Dict[str, object], config: ConversionConfig) -> None:
  """Raises ValueError when the span does not exist or no rating was left to convert."""
  ratings_path = _join(config.input_dir, c.RATINGS_FILE)
  span_error = summary.get("span", {}).get("error")
  if span_error:
    raise ValueError(f"{ratings_path}: {span_error}")
  if not sum(summary["rows"].values()):
    raise ValueError(f"{ratings_path}: no ratings to convert"
                     + (f" ({summary['skipped_total']} lines skipped)"
                        if summary["skipped_total"] else ""))
