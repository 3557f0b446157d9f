"""A pipeline's ML Metadata store, opened read-only, and what the serving commands need
from it: read with ml_metadata alone (no TFX, no TensorFlow), so they stay quick.
results/runs.py reads a run's components and results from the same store.
"""
import contextlib
import json
import os
import sqlite3
from typing import Optional

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from movielens import constants as c
from pipeline import nodes

RUN_CONTEXT = "pipeline_run"  # TFX's MLMD context types
NODE_CONTEXT = "node"
INPUT_BASE = "input_base"  # CsvExampleGen's execution properties: the CSV folder it read,
SPAN = "span"              # and the span it ingested


class DamagedStoreError(ValueError):
  """The ML Metadata store cannot be read: the message says where it is and what to do."""

  def __init__(self, metadata_path: str, reason: str):
    super().__init__(
        f"the ML Metadata store {metadata_path} is damaged ({reason}): restore it from a "
        f"backup, or move it aside (mv {metadata_path} {metadata_path}.damaged) to start a "
        "new one (the next run then computes every stage again)")


def check(metadata_path: str) -> None:
  """Raises DamagedStoreError unless SQLite finds the store whole (its quick_check: every
  page and index readable). Quick: the store holds records, not data."""
  try:
    with contextlib.closing(sqlite3.connect(f"file:{metadata_path}?mode=ro", uri=True)) as db:
      problems = [row[0] for row in db.execute("PRAGMA quick_check")]
  except sqlite3.DatabaseError as error:
    raise DamagedStoreError(metadata_path, str(error)) from None
  if problems != ["ok"]:
    raise DamagedStoreError(metadata_path, problems[0])


def connect(metadata_path: str) -> metadata_store.MetadataStore:
  """The store, read-only, once SQLite has checked it (DamagedStoreError if damaged)."""
  if os.path.isfile(metadata_path):
    check(metadata_path)
  config = metadata_store_pb2.ConnectionConfig()
  config.sqlite.filename_uri = metadata_path
  config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
  return metadata_store.MetadataStore(config)


def latest_raw_data_dir(metadata_path: str) -> Optional[str]:
  """The MovieLens folder the latest run's CSV was converted from: the input_dir in the
  summary.json of the CSV folder its CsvExampleGen read (in span mode, of the span it
  ingested); None if no run has ingested data yet."""
  if not os.path.isfile(metadata_path):
    return None
  store = connect(metadata_path)
  example_gens = [context for context in store.get_contexts_by_type(NODE_CONTEXT)
                  if context.name.endswith(f".{nodes.EXAMPLE_GEN}")]
  executions = [execution for context in example_gens
                for execution in store.get_executions_by_context(context.id)
                if INPUT_BASE in execution.custom_properties]
  if not executions:
    return None
  latest = max(executions, key=lambda execution: execution.create_time_since_epoch)
  csv_dir = latest.custom_properties[INPUT_BASE].string_value
  span_dir = c.span_dir(csv_dir, latest.custom_properties[SPAN].int_value)
  summary_dir = span_dir if os.path.isdir(span_dir) else csv_dir
  try:
    with open(os.path.join(summary_dir, c.SUMMARY_FILE)) as text:
      return json.load(text)["input_dir"]
  except (OSError, ValueError, KeyError):
    return None
