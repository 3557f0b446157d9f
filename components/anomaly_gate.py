"""AnomalyGate: stops the run when ExampleValidator found anomalies in the data.

ExampleValidator records anomalies (and marks its artifact not blessed) but lets the
pipeline go on; TFX 1.16 has no switch to make it fail. This component reads its output
and raises an error that names every anomaly, by split and feature. The pipeline runs the
Transform after it, so no model is ever trained on data that breaks the schema.
"""
import os
from typing import Dict, List

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import v1 as tfx
from tfx.types import artifact_utils

ANOMALIES_FILE = "SchemaDiff.pb"  # what ExampleValidator writes per split


class DataAnomalyError(RuntimeError):
  """The data broke the schema; the message lists each anomaly."""


def read_anomalies(anomalies_artifact) -> Dict[str, anomalies_pb2.Anomalies]:
  """ExampleValidator's findings, per split."""
  found = {}
  for split in artifact_utils.decode_split_names(anomalies_artifact.split_names):
    path = os.path.join(anomalies_artifact.uri, f"Split-{split}", ANOMALIES_FILE)
    with open(path, "rb") as binary:
      found[split] = anomalies_pb2.Anomalies.FromString(binary.read())
  return found


def describe(anomalies_by_split: Dict[str, anomalies_pb2.Anomalies]) -> List[str]:
  """One line per anomaly: split, feature, and TFDV's own description."""
  lines = []
  for split, anomalies in sorted(anomalies_by_split.items()):
    for feature, info in sorted(anomalies.anomaly_info.items()):
      lines.append(f"split '{split}', feature '{feature}': {info.short_description}: "
                   f"{info.description}")
    if anomalies.HasField("dataset_anomaly_info"):
      info = anomalies.dataset_anomaly_info
      lines.append(f"split '{split}', whole dataset: {info.short_description}: "
                   f"{info.description}")
  return lines


@tfx.dsl.components.component
def AnomalyGate(  # pylint: disable=invalid-name  (TFX component naming)
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies]):
  """Raises DataAnomalyError if ExampleValidator reported any anomaly."""
  found = describe(read_anomalies(anomalies))
  if found:
    raise DataAnomalyError(
        f"ExampleValidator found {len(found)} anomal{'y' if len(found) == 1 else 'ies'} "
        "against the schema; the run stops before the Transform and the Trainer:\n  "
        + "\n  ".join(found))
