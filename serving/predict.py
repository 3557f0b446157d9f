"""Scores requests with a pushed model: one line per request on stdout.

    python -m serving.predict examples/requests.jsonl
    python -m serving.predict --output csv outputs/csv/<data>/eval/part-00000-of-00004.csv
    cat examples/requests.jsonl | python -m serving.predict -

Each output line holds the request's record number, user and target movie beside the
predicted rating and the next-movie score; `--output csv` writes the same as CSV. Movies
the model never trained on are scored as any unknown movie is, and named: a warning line
on stderr and an `unknown_movie_ids` field.

Requests are in the serving contract (docs/serving.md): JSON lines with lists as JSON lists, or
CSV with lists space-separated (the pipeline's own CSV; its `rating` column, if present,
is echoed beside the prediction). An invalid request stops the run with an error naming
the record and the field; nothing is scored until every request is valid.
"""
from cli import environment  # noqa: F401  (first: before TensorFlow loads)

import argparse
import csv
import json
import sys
from typing import Any, Dict, List, Optional, Sequence, TextIO

from cli import entry_point
from movielens import constants as c
from movielens import contract
from serving import model as serving_model
from serving import requests


OUTPUT_FIELDS = ("record", c.USER_ID, c.TARGET_MOVIE_ID, contract.PREDICTION_KEY,
                 contract.NEXT_MOVIE_KEY)
UNKNOWN_MOVIES = "unknown_movie_ids"  # movies the model never trained on, if any
SHOWN_UNKNOWN = 5  # records named in the warning about unknown movies


def parse_args(argv: Sequence[str]):
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("input", help="a file of requests, or - for stdin")
  parser.add_argument("--format", choices=("jsonl", "csv"),
                      help="of the requests; default: from the file's extension (.csv or "
                      "else JSON lines)")
  parser.add_argument("--output", choices=("jsonl", "csv"), default="jsonl",
                      help="one JSON object per line (default), or CSV with a header row")
  serving_model.add_served_model_flags(parser)
  entry_point.add_debug_flag(parser, beam=False)
  return parser.parse_args(argv)


def scored_rows(batch: List[Dict[str, Any]], scores: Dict[str, Any],
                unknown: List[List[int]]) -> List[Dict[str, Any]]:
  """One output row per request: its record number and ids beside the two scores (and
  the label, for the pipeline's CSV), and the movies the model never trained on."""
  rows = []
  for record, request in enumerate(batch, start=1):
    row = {"record": record, c.USER_ID: request[c.USER_ID],
           c.TARGET_MOVIE_ID: request[c.TARGET_MOVIE_ID],
           **{key: round(float(scores[key][record - 1]), 4)
              for key in (contract.PREDICTION_KEY, contract.NEXT_MOVIE_KEY)}}
    if c.RATING in request:
      row[c.RATING] = int(request[c.RATING])
    row[UNKNOWN_MOVIES] = unknown[record - 1]
    rows.append(row)
  return rows


def write_rows(rows: List[Dict[str, Any]], form: str, out: TextIO) -> None:
  if form == "jsonl":
    for row in rows:
      if not row[UNKNOWN_MOVIES]:
        row = {k: v for k, v in row.items() if k != UNKNOWN_MOVIES}
      out.write(json.dumps(row) + "\n")
    return
  fields = list(OUTPUT_FIELDS) + ([c.RATING] if rows and c.RATING in rows[0] else [])
  writer = csv.DictWriter(out, fields + [UNKNOWN_MOVIES], lineterminator="\n")
  writer.writeheader()
  for row in rows:
    writer.writerow({**row, UNKNOWN_MOVIES: " ".join(map(str, row[UNKNOWN_MOVIES]))})


def unknown_warning(source: str, unknown: List[List[int]]) -> Optional[str]:
  """One line naming the requests whose movies the model never trained on: scored, as
  the model scores any unknown movie, but not silently."""
  named = [(record, ids) for record, ids in enumerate(unknown, start=1) if ids]
  if not named:
    return None
  shown = "; ".join(f"record {record}: {' '.join(map(str, ids))}"
                    for record, ids in named[:SHOWN_UNKNOWN])
  more = f"; and {len(named) - SHOWN_UNKNOWN} more" if len(named) > SHOWN_UNKNOWN else ""
  return (f"warning: {source}: {len(named)} of {len(unknown)} requests name movies the "
          f"model never trained on, scored as unknown movies ({UNKNOWN_MOVIES} in the "
          f"output): {shown}{more}")


def main(argv: Sequence[str]) -> None:
  args = parse_args(argv)
  form = args.format or ("csv" if args.input.endswith(".csv") else "jsonl")
  source = "stdin" if args.input == "-" else args.input
  path = serving_model.version_dir(args.serving_dir, args.version)
  if args.input == "-":
    batch = requests.parse_requests(sys.stdin.buffer.read(), source, form)
  else:
    with open(args.input, "rb") as data:
      batch = requests.parse_requests(data.read(), source, form)
  rating_model = serving_model.RatingModel(path)
  unknown = [rating_model.unknown_movie_ids(request) for request in batch]
  warning = unknown_warning(source, unknown)
  if warning:
    print(warning, file=sys.stderr)
  write_rows(scored_rows(batch, rating_model.score_all(batch), unknown), args.output,
             sys.stdout)


def command() -> None:
  """The command, as `python -m serving.predict` and as setup.py's installed script."""
  entry_point.run(main)


if __name__ == "__main__":
  command()
