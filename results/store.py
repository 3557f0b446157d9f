"""A pipeline's ML Metadata store, opened read-only, and what the serving commands need
from it: read with ml_metadata alone (no TFX, no TensorFlow), so they stay quick.
results/runs.py reads a run's components and results from the same store.
"""
import json
import os
from typing import Optional

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from movielens import constants as c
from pipeline import nodes

RUN_CONTEXT = "pipeline_run"  # TFX's MLMD context types
NODE_CONTEXT = "node"
INPUT_BASE = "input_base"  # CsvExampleGen's execution properties: the CSV folder it read,
SPAN = "span"              # and the span it ingested


def connect(metadata_path: str) -> metadata_store.MetadataStore:
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
