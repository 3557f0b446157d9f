"""The AnomalyGate's words for drift and anomalies, which drift stops a run, and its count
of a window's rows."""
import json
import os

import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.types import artifact_utils
from tfx.types import standard_artifacts

from components import anomaly_gate
from movielens import constants as c
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


def _window(tmp_path, examples_by_split):
  """An Examples artifact as CsvExampleGen writes it (a GZIP TFRecord per split)."""
  window = standard_artifacts.Examples()
  window.uri = str(tmp_path / "window")
  window.split_names = artifact_utils.encode_split_names(sorted(examples_by_split))
  for split, count in examples_by_split.items():
    folder = artifact_utils.get_split_uri([window], split)
    os.makedirs(folder)
    with tf.io.TFRecordWriter(os.path.join(folder, "data_tfrecord-00000-of-00001.gz"),
                              options="GZIP") as writer:
      for _ in range(count):
        writer.write(tf.train.Example().SerializeToString())
  return window


def _converted_spans(csv_root, rows_by_span):
  for span, rows in rows_by_span.items():
    os.makedirs(c.span_dir(str(csv_root), span))
    with open(os.path.join(c.span_dir(str(csv_root), span), c.SUMMARY_FILE), "w") as summary:
      json.dump({"rows": rows}, summary)


def test_a_window_ingested_again_is_counted_against_each_spans_conversion(tmp_path):
  _converted_spans(tmp_path / "csv", {0: {"train": 5, "validation": 2},
                                      1: {"train": 4, "validation": 1}})
  whole = _window(tmp_path / "whole", {"span0_train": 5, "span0_validation": 2,
                                       "span1_train": 4, "span1_validation": 1})
  assert anomaly_gate.window_lost_rows(whole, str(tmp_path / "csv"), "TrainingSpansExampleGen"
                                       ) == []
  short = _window(tmp_path / "short", {"span0_train": 5, "span0_validation": 2,
                                       "span1_train": 3, "span1_validation": 1})
  assert anomaly_gate.window_lost_rows(short, str(tmp_path / "csv"), "TrainingSpansExampleGen"
                                       ) == ["split 'span1_train': TrainingSpansExampleGen made 3 "
                                             "examples from the 4 rows the conversion wrote"]
