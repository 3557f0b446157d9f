"""A pipeline's ML Metadata store, opened read-only, and what the serving commands need
from it: read with ml_metadata alone (no TFX, no TensorFlow), so they stay quick.
results/runs.py reads a run's components and results from the same store. The local
runner checks it, and repairs what a failed commit left, before the pipeline opens it.
"""
import contextlib
import json
import os
import sqlite3
from typing import Any, Dict, List, Optional, Tuple

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from movielens import constants as c
from movielens.conversion import config as conversion_config
from pipeline import nodes

RUN_CONTEXT = "pipeline_run"  # TFX's MLMD context types
NODE_CONTEXT = "node"
INPUT_BASE = "input_base"  # CsvExampleGen's execution properties: the CSV folder it read,
SPAN = "span"              # the span it ingested,
RANGE_CONFIG = "range_config"  # and, in span mode only, the span range it read


class DamagedStoreError(ValueError):
  """The ML Metadata store cannot be read: the message says where it is and what to do."""

  def __init__(self, metadata_path: str, reason: str, remedy: str = ""):
    super().__init__(
        f"the ML Metadata store {metadata_path} is damaged ({reason}): " + (remedy or (
            f"restore it from a backup, or move it aside (mv {metadata_path} "
            f"{metadata_path}.damaged) to start a new one (the next run then computes "
            "every stage again)")))


# Rows that link to a record that is not there: what SQLite commits of a transaction that
# failed mid-way (a full disk rolls the transaction back; MLMD's later statements then
# commit one by one). Left in place, a record created later under the freed id inherits
# them: an execution linked to two components.
_DANGLING_ROWS = (
    "DELETE FROM Association WHERE execution_id NOT IN (SELECT id FROM Execution) "
    "OR context_id NOT IN (SELECT id FROM Context)",
    "DELETE FROM Attribution WHERE artifact_id NOT IN (SELECT id FROM Artifact) "
    "OR context_id NOT IN (SELECT id FROM Context)",
    "DELETE FROM Event WHERE execution_id NOT IN (SELECT id FROM Execution) "
    "OR artifact_id NOT IN (SELECT id FROM Artifact)",
    "DELETE FROM EventPath WHERE event_id NOT IN (SELECT id FROM Event)",
    "DELETE FROM ExecutionProperty WHERE execution_id NOT IN (SELECT id FROM Execution)",
    "DELETE FROM ArtifactProperty WHERE artifact_id NOT IN (SELECT id FROM Artifact)",
    "DELETE FROM ContextProperty WHERE context_id NOT IN (SELECT id FROM Context)",
    "DELETE FROM ParentContext WHERE context_id NOT IN (SELECT id FROM Context) "
    "OR parent_context_id NOT IN (SELECT id FROM Context)",
)
# Each execution's links to component (node) contexts, with the link's id: TFX links an
# execution to exactly one; a second is a dangling row its id inherited, older than it.
_NODE_LINKS = f"""
    SELECT a.id, a.execution_id FROM Association a
    JOIN Context c ON c.id = a.context_id JOIN Type t ON t.id = c.type_id
    WHERE t.name = '{NODE_CONTEXT}'"""
_INHERITED_NODE_LINKS = f"""
    SELECT older.id FROM ({_NODE_LINKS}) older JOIN ({_NODE_LINKS}) newer
    ON newer.execution_id = older.execution_id AND newer.id > older.id"""


def _read(metadata_path: str, query: str) -> list:
  """A query's rows, read-only; DamagedStoreError if SQLite cannot read the store."""
  try:
    with contextlib.closing(sqlite3.connect(f"file:{metadata_path}?mode=ro", uri=True)) as db:
      return db.execute(query).fetchall()
  except sqlite3.DatabaseError as error:
    raise DamagedStoreError(metadata_path, str(error)) from None


def check_pages(metadata_path: str) -> None:
  """Raises DamagedStoreError unless SQLite finds the store whole (its quick_check: every
  page and index readable). Quick: the store holds records, not data."""
  problems = [row[0] for row in _read(metadata_path, "PRAGMA quick_check")]
  if problems != ["ok"]:
    raise DamagedStoreError(metadata_path, problems[0])


def check(metadata_path: str) -> None:
  """check_pages, and raises DamagedStoreError if an execution is linked to two
  components (what `repair` mends)."""
  check_pages(metadata_path)
  inherited = _read(metadata_path, _INHERITED_NODE_LINKS)
  if inherited:
    raise DamagedStoreError(
        metadata_path, f"{len(inherited)} execution(s) linked to two components by a run "
        "that failed to commit, as on a full disk", "the next run of the pipeline "
        "(bin/run, local_runner.py) repairs it")


def repair(metadata_path: str) -> int:
  """Deletes what a failed commit left behind (_DANGLING_ROWS, then each execution's
  inherited component links), in one transaction; returns the rows deleted. Run before
  the pipeline opens the store, so no new record inherits a dangling row."""
  try:
    with contextlib.closing(sqlite3.connect(metadata_path)) as db, db:
      deleted = sum(db.execute(statement).rowcount for statement in _DANGLING_ROWS)
      deleted += db.execute(
          f"DELETE FROM Association WHERE id IN ({_INHERITED_NODE_LINKS})").rowcount
  except sqlite3.DatabaseError as error:
    raise DamagedStoreError(metadata_path, str(error)) from None
  return deleted


def connect(metadata_path: str) -> metadata_store.MetadataStore:
  """The store, read-only, once SQLite has checked it (DamagedStoreError if damaged)."""
  if os.path.isfile(metadata_path):
    check(metadata_path)
  config = metadata_store_pb2.ConnectionConfig()
  config.sqlite.filename_uri = metadata_path
  config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
  return metadata_store.MetadataStore(config)


def _example_gen_executions(store: metadata_store.MetadataStore
                            ) -> List[metadata_store_pb2.Execution]:
  """Every CsvExampleGen execution that recorded the folder it read."""
  example_gens = [context for context in store.get_contexts_by_type(NODE_CONTEXT)
                  if context.name.endswith(f".{nodes.EXAMPLE_GEN}")]
  return [execution for context in example_gens
          for execution in store.get_executions_by_context(context.id)
          if INPUT_BASE in execution.custom_properties]


def runs_split_otherwise(metadata_path: str, ratings: Dict[str, object],
                         eval_rows: Dict[str, Any], span_mode: bool
                         ) -> Optional[Tuple[str, Optional[dict]]]:
  """A run on the same ratings.dat (`ratings`: its digest, as conversion summaries record
  it) whose conversion chose its eval rows otherwise (`eval_rows`: this run's
  conversion.config.eval_rows_settings): its CSV folder and its eval_rows_settings; or a
  run of the other mode (span mode or one span) whose CSV is gone: its folder and None.
  None when there is none. Such a run's models may have trained on this run's eval rows."""
  if not os.path.isfile(metadata_path):
    return None
  for execution in _example_gen_executions(connect(metadata_path)):
    folder = execution.custom_properties[INPUT_BASE].string_value
    summary = ingested_summary(execution)
    if summary is None:
      if (RANGE_CONFIG in execution.custom_properties) != span_mode:
        return folder, None
      continue
    theirs = conversion_config.eval_rows_settings(summary["settings"])
    if summary["inputs"][c.RATINGS_FILE] == ratings and theirs != eval_rows:
      return folder, theirs
  return None


def ingested_summary(example_gen: metadata_store_pb2.Execution) -> Optional[Dict[str, object]]:
  """The summary.json of the CSV a CsvExampleGen execution ingested (in span mode, its
  span's); None if it is gone."""
  csv_dir = example_gen.custom_properties[INPUT_BASE].string_value
  span_dir = c.span_dir(csv_dir, example_gen.custom_properties[SPAN].int_value)
  summary_dir = span_dir if os.path.isdir(span_dir) else csv_dir
  try:
    with open(os.path.join(summary_dir, c.SUMMARY_FILE)) as text:
      return dict(json.load(text), csv_dir=summary_dir)
  except (OSError, ValueError):
    return None


def latest_raw_data_dir(metadata_path: str) -> Optional[str]:
  """The MovieLens folder the latest run's CSV was converted from: the input_dir in the
  summary.json of the CSV folder its CsvExampleGen read (in span mode, of the span it
  ingested); None if no run has ingested data yet."""
  if not os.path.isfile(metadata_path):
    return None
  executions = _example_gen_executions(connect(metadata_path))
  if not executions:
    return None
  summary = ingested_summary(
      max(executions, key=lambda execution: execution.create_time_since_epoch))
  return summary.get("input_dir") if summary else None
