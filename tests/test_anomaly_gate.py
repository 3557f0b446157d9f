"""The AnomalyGate's words for drift and anomalies, and which drift stops a run."""
from tensorflow_metadata.proto.v0 import anomalies_pb2

from components import anomaly_gate
from pipeline import drift

LINFTY = ("The Linfty distance between current and previous is 0.18 (up to six significant "
          "digits), above the threshold 0.15. The feature value with maximum difference is: M")


def _anomalies() -> anomalies_pb2.Anomalies:
  """TFDV's record of one drifted feature: its text under `reason`, the top-level
  description empty, as the DistributionValidator writes it."""
  anomalies = anomalies_pb2.Anomalies()
  info = anomalies.anomaly_info["sex"]
  info.reason.add(short_description="High Linfty distance between current and previous",
                  description=LINFTY)
  anomalies.dataset_anomaly_info.reason.add(description="Low number of examples")
  return anomalies


def test_a_drift_line_names_the_feature_the_comparison_and_tfdvs_reason():
  lines = anomaly_gate.describe_by_feature(
      {"train_train": _anomalies()},
      lambda pair: anomaly_gate.compared_in_words(pair, span=4))
  assert lines == [("sex", f"feature 'sex', span 4 against span 3: {LINFTY}"),
                   ("", "whole dataset, span 4 against span 3: Low number of examples")]
  assert anomaly_gate.compared_in_words("eval_train", span=0) == "eval against train"
  # The portable design's baseline: the previous span's train part in the window.
  assert anomaly_gate.compared_in_words("train_span3_train", span=4) == "span 4 against span 3"


def test_only_the_named_features_drift_stops_a_run():
  drifted = [("sex", "sex moved"), ("rating", "ratings moved"), ("", "the dataset moved")]
  assert anomaly_gate.split_drift(drifted, ",".join(drift.STOPPING_FEATURES)) == (
      ["ratings moved"], ["sex moved", "the dataset moved"])
  assert anomaly_gate.split_drift(drifted, "") == (
      [], ["sex moved", "ratings moved", "the dataset moved"])  # no --stop-on-drift
