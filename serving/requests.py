"""Requests in the serving contract (README), read from JSON lines or CSV and checked.

A JSON line holds each list as a JSON list (a scalar may also come as a one-element
list, as tf.Example tools write it); a CSV row holds it space-separated, as the
pipeline's own CSV does, so an eval shard can be scored as is (its `rating` column, the
label, is passed through for comparison). Each invalid request raises an error naming
the source, the record number and the field.
"""
import csv
import json
from typing import Any, Dict, Iterable, Iterator, List, Optional, TextIO

from movielens import constants as c
from transform import preprocessing

LISTS = (c.HISTORY_MOVIE_IDS, c.HISTORY_RATINGS, c.HISTORY_TIMESTAMPS)
FIELDS = tuple(preprocessing.SERVING_FEATURE_SPEC)
PASSED_THROUGH = (c.RATING,)  # the label, when requests come from the pipeline's CSV


class InvalidRequestError(ValueError):
  def __init__(self, source: str, record: int, field: Optional[str], reason: str):
    where = f"field '{field}': " if field else ""
    super().__init__(f"{source}: record {record}: {where}{reason}")


def _number(value: Any, kind, source: str, record: int, field: str):
  if isinstance(value, bool) or value is None or value == "":
    raise InvalidRequestError(source, record, field, f"expected a number, got {value!r}")
  try:
    number = kind(value)
  except (TypeError, ValueError):
    raise InvalidRequestError(source, record, field,
                              f"expected {'an integer' if kind is int else 'a number'}, "
                              f"got {value!r}") from None
  if kind is int and isinstance(value, float) and value != number:
    raise InvalidRequestError(source, record, field, f"expected an integer, got {value!r}")
  return number


def validate(values: Dict[str, Any], source: str, record: int) -> Dict[str, Any]:
  """The request's values in the contract's types; raises InvalidRequestError."""
  unknown = sorted(set(values) - set(FIELDS) - set(PASSED_THROUGH))
  if unknown:
    raise InvalidRequestError(source, record, unknown[0], "not a field of the serving contract")
  request = {}
  for field in FIELDS:
    if field not in values:
      raise InvalidRequestError(source, record, field, "missing")
    value = values[field]
    if field not in LISTS and isinstance(value, list):  # a tf.Example-style [value]
      if len(value) != 1:
        raise InvalidRequestError(source, record, field, f"expected one value, got {value!r}")
      value = value[0]
    if field == c.SEX:
      if value not in c.SEXES:
        raise InvalidRequestError(source, record, field, f"expected M or F, got {value!r}")
      request[field] = value
    elif field in LISTS:
      if isinstance(value, str):
        value = value.split()
      if not isinstance(value, list):
        raise InvalidRequestError(source, record, field, f"expected a list, got {value!r}")
      kind = float if field == c.HISTORY_RATINGS else int
      request[field] = [_number(v, kind, source, record, field) for v in value]
    else:
      request[field] = _number(value, int, source, record, field)
  bad = [r for r in request[c.HISTORY_RATINGS] if not c.MIN_RATING <= r <= c.MAX_RATING]
  if bad:
    raise InvalidRequestError(source, record, c.HISTORY_RATINGS,
                              f"ratings must be within 1-5, got {bad[0]:g}")
  lengths = {len(request[field]) for field in LISTS}
  if len(lengths) > 1:
    raise InvalidRequestError(source, record, None,
                              "history_movie_ids, history_ratings and history_timestamps "
                              "differ in length")
  for field in PASSED_THROUGH:
    if field in values and values[field] not in ("", None):
      request[field] = values[field]
  return request


def read_json_lines(lines: Iterable[str], source: str) -> Iterator[Dict[str, Any]]:
  for record, line in enumerate(lines, start=1):
    if not line.strip():
      continue
    try:
      values = json.loads(line)
    except json.JSONDecodeError as error:
      raise InvalidRequestError(source, record, None, f"not JSON: {error.msg}") from None
    if not isinstance(values, dict):
      raise InvalidRequestError(source, record, None, "expected a JSON object")
    yield validate(values, source, record)


def read_csv(text: TextIO, source: str) -> Iterator[Dict[str, Any]]:
  for record, row in enumerate(csv.DictReader(text), start=1):
    if None in row:
      raise InvalidRequestError(source, record, None, "more values than header columns")
    yield validate(row, source, record)


def read_requests(text: TextIO, source: str, form: str) -> List[Dict[str, Any]]:
  """form: "jsonl" or "csv"."""
  reader = read_csv(text, source) if form == "csv" else read_json_lines(text, source)
  return list(reader)
