"""Scores requests with a pushed model: one JSON line per request on stdout.

    python -m serving.predict requests.jsonl
    python -m serving.predict --format csv outputs/csv/<data>/eval/part-00000-of-00004.csv
    cat requests.jsonl | python -m serving.predict -

Requests are in the serving contract (docs/serving.md): JSON lines with lists as JSON lists, or
CSV with lists space-separated (the pipeline's own CSV; its `rating` column, if present,
is echoed beside the prediction). An invalid request stops the run with an error naming
the record and the field; nothing is scored until every request is valid.
"""
from cli import environment  # noqa: F401  (first: before TensorFlow loads)

import argparse
import json
import sys
from typing import Sequence

from cli import entry_point
from movielens import constants as c
from movielens import contract
from serving import model as serving_model
from serving import requests


def parse_args(argv: Sequence[str]):
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("input", help="a file of requests, or - for stdin")
  parser.add_argument("--format", choices=("jsonl", "csv"),
                      help="default: from the file's extension (.csv or else JSON lines)")
  serving_model.add_served_model_flags(parser)
  entry_point.add_debug_flag(parser)
  return parser.parse_args(argv)


def main(argv: Sequence[str]) -> None:
  args = parse_args(argv)
  form = args.format or ("csv" if args.input.endswith(".csv") else "jsonl")
  source = "stdin" if args.input == "-" else args.input
  path = serving_model.version_dir(args.serving_dir, args.version)
  if args.input == "-":
    batch = requests.read_requests(sys.stdin, source, form)
  else:
    with open(args.input, newline="") as text:
      batch = requests.read_requests(text, source, form)
  scores = serving_model.RatingModel(path).score_all(batch)
  for record, request in enumerate(batch, start=1):
    line = {"record": record, **{key: round(float(scores[key][record - 1]), 4)
                                 for key in (contract.PREDICTION_KEY, contract.NEXT_MOVIE_KEY)}}
    if c.RATING in request:
      line[c.RATING] = int(request[c.RATING])
    print(json.dumps(line))


def command() -> None:
  """The command, as `python -m serving.predict` and as setup.py's installed script."""
  entry_point.run(main)


if __name__ == "__main__":
  command()
