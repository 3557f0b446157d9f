"""The conversion's command line: `python -m movielens.convert` (`movielens-convert`).

    python -m movielens.convert --input-dir DIR --output-dir OUT [--lenient] [Beam options]

Converts a MovieLens directory into CSV shards for CsvExampleGen (movielens.conversion
does the work); local_runner.py takes the same flags (`add_conversion_flags`).
"""
from cli import environment  # noqa: F401  (first: this module is a command)

import argparse
import dataclasses
import json
import logging
from typing import Sequence

from cli import beam_flags
from cli import entry_point
from movielens import constants as c
from movielens import conversion
from movielens import parse


def with_lenient_hint(error: parse.MovieLensFormatError) -> ValueError:
  """A strict-mode format error as the commands that take --lenient report it."""
  return ValueError(f"{error} (--lenient skips such lines, counting each kind)")


def add_conversion_flags(parser: argparse.ArgumentParser) -> None:
  """The conversion's knobs as command-line flags (shared with local_runner.py)."""
  defaults = conversion.ConversionConfig(input_dir="", output_dir="")
  group = parser.add_argument_group("conversion to CSV")
  group.add_argument("--history-length", type=int, default=c.HISTORY_LENGTH,
                     help=f"previous ratings kept per row (default {c.HISTORY_LENGTH}: the "
                          "BST's window)")
  group.add_argument("--eval-fraction", type=float, default=defaults.eval_fraction,
                     help="each user's last fraction of ratings held out for eval "
                     f"(default {defaults.eval_fraction:g})")
  group.add_argument("--validation-fraction", type=float,
                     default=defaults.validation_fraction,
                     help="each user's fraction of ratings just before the eval ones, held "
                     "out for validation: early stopping and every model choice "
                     f"(default {defaults.validation_fraction:g})")
  group.add_argument("--time-cutoff", type=int,
                     help="split by time instead: ratings at/after this Unix time go to eval "
                     "(needs --validation-time-cutoff)")
  group.add_argument("--validation-time-cutoff", type=int,
                     help="with --time-cutoff: ratings from this Unix time until the eval "
                     "cutoff go to validation")
  group.add_argument("--num-shards", type=int, default=defaults.num_shards,
                     help=f"CSV files per split (default {defaults.num_shards})")
  group.add_argument("--spans", type=int, default=defaults.spans,
                     help="span mode: cut the ratings by time into this many spans of equal "
                     "rating counts, each converted (and ingested by the pipeline) on its own "
                     "(default 1: no spans)")
  group.add_argument("--span-days", type=int,
                     help="span mode with calendar spans of this many days instead")
  group.add_argument("--lenient", action="store_true",
                     help="skip bad lines (counted in summary.json, listed in "
                     "skipped_lines.txt) instead of stopping at the first")


def config_from_flags(args: argparse.Namespace, input_dir: str,
                      output_dir: str, span=None) -> conversion.ConversionConfig:
  """The ConversionConfig of these flags (`span`: the span to convert, in span mode)."""
  return conversion.ConversionConfig(
      input_dir=input_dir, output_dir=output_dir, history_length=args.history_length,
      eval_fraction=args.eval_fraction, validation_fraction=args.validation_fraction,
      time_cutoff=args.time_cutoff, validation_time_cutoff=args.validation_time_cutoff,
      num_shards=args.num_shards, strict=not args.lenient, spans=args.spans,
      span_days=args.span_days, span=span)


def main(argv: Sequence[str]) -> None:
  parser = argparse.ArgumentParser(
      description="Convert a MovieLens 1M directory into CSV shards for CsvExampleGen. "
      "Unknown flags are Beam pipeline options (e.g. --runner, --direct_num_workers).")
  parser.add_argument("--input-dir", required=True,
                      help="folder with ratings.dat, users.dat, movies.dat")
  parser.add_argument("--output-dir", required=True,
                      help="folder for train/, validation/, eval/, ...")
  add_conversion_flags(parser)
  parser.add_argument("--span", type=int,
                      help="in span mode: the span to convert (0 is the first), into "
                      "OUTPUT/span-SPAN")
  entry_point.add_debug_flag(parser)
  args, beam_args = beam_flags.parse_args_and_beam_args(parser, argv)
  config = config_from_flags(args, args.input_dir, args.output_dir, args.span)
  if config.span_mode:
    config = dataclasses.replace(config, output_dir=config.span_dir(args.span))
  try:
    summary = conversion.run_conversion(config, beam_args)
  except parse.MovieLensFormatError as error:
    raise with_lenient_hint(error) from None
  print(json.dumps({k: summary[k] for k in ("rows", "users", "movies", "skipped")}, indent=2))


def command() -> None:
  """The command, as `python -m movielens.convert` and as setup.py's installed script."""
  logging.basicConfig(level=logging.WARNING)  # the summary goes to stdout
  entry_point.run(main)


if __name__ == "__main__":
  command()
