"""Requests in the serving contract (docs/serving.md), read from JSON lines or CSV and checked.

A JSON line holds each list as a JSON list (a scalar may also come as a one-element
list, as tf.Example tools write it); a CSV row holds it space-separated, as the
pipeline's own CSV does, so an eval shard can be scored as is (its `rating` column, the
label, is passed through for comparison). Each invalid request raises the contract's
InvalidRequestError (movielens.contract), naming the source, the record and the field.
"""
import csv
import io
import json
from typing import Any, Dict, Iterable, Iterator, List, TextIO

from movielens import contract


def read_json_lines(lines: Iterable[str], source: str) -> Iterator[Dict[str, Any]]:
  for record, line in enumerate(lines, start=1):
    if not line.strip():
      continue
    try:
      values = json.loads(line)
    except json.JSONDecodeError as error:
      raise contract.InvalidRequestError(source, record, None, f"not JSON: {error.msg}") from None
    if not isinstance(values, dict):
      raise contract.InvalidRequestError(source, record, None, "expected a JSON object")
    yield contract.request_from_row(values, source, record, text=False)


def read_csv(text: TextIO, source: str) -> Iterator[Dict[str, Any]]:
  reader = csv.DictReader(text)
  if reader.fieldnames and reader.fieldnames[0].lstrip().startswith("{"):
    raise ValueError(f"{source}: line 1 is a JSON object, not a CSV header: JSON lines are "
                     "read with --format jsonl")
  for record, row in enumerate(reader, start=1):
    if None in row:
      raise contract.InvalidRequestError(source, record, None, "more values than header columns")
    yield contract.request_from_row(row, source, record)


def read_requests(text: TextIO, source: str, form: str) -> List[Dict[str, Any]]:
  """form: "jsonl" or "csv"."""
  reader = read_csv(text, source) if form == "csv" else read_json_lines(text, source)
  return list(reader)


def decode(data: bytes, source: str) -> str:
  """A request file's text: UTF-8, a byte-order mark allowed. Other bytes raise, naming
  the file and the line, before any model is loaded."""
  try:
    return data.decode("utf-8-sig")
  except UnicodeDecodeError as error:
    line = data[:error.start].count(b"\n") + 1
    raise ValueError(f"{source}: line {line}: not UTF-8 text (byte 0x{data[error.start]:02x}): "
                     "requests are JSON lines or CSV in UTF-8") from None


def parse_requests(data: bytes, source: str, form: str) -> List[Dict[str, Any]]:
  """The requests in a file's bytes (form: "jsonl" or "csv"); none at all is an error."""
  batch = read_requests(io.StringIO(decode(data, source), newline=""), source, form)
  if not batch:
    raise ValueError(f"{source}: no requests in it" + (
        " (only a header row)" if form == "csv" and data.strip() else ""))
  return batch
