"""results.metrics_file reads an Evaluator's metrics file as TFMA's own loader does."""
import os

import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.proto import metrics_for_slice_pb2

from results import metrics_file


def _per_slice(slice_keys, values):
  per_slice = metrics_for_slice_pb2.MetricsForSlice()
  for column, value in slice_keys:
    key = per_slice.slice_key.single_slice_keys.add(column=column)
    setattr(key, {str: "bytes_value", int: "int64_value", float: "float_value"}[type(value)],
            value.encode() if isinstance(value, str) else value)
  for (model, name, is_diff), value in values.items():
    entry = per_slice.metric_keys_and_values.add()
    entry.key.name, entry.key.model_name, entry.key.is_diff = name, model, is_diff
    entry.value.double_value.value = value
  return per_slice


def _written(folder, slices):
  path = os.path.join(folder, "metrics-00000-of-00001.tfrecord")
  with tf.io.TFRecordWriter(path) as writer:
    for per_slice in slices:
      writer.write(per_slice.SerializeToString())
  return path


def test_every_slice_model_and_metric_as_tfma_reads_them(tmp_path):
  path = _written(str(tmp_path), [
      _per_slice((), {("candidate", "mean_absolute_error", False): 0.61,
                      ("baseline", "mean_absolute_error", False): 0.63,
                      ("candidate", "mean_absolute_error", True): -0.02,
                      ("candidate", "example_count", False): 1000.0}),
      _per_slice((("sex", "F"),), {("candidate", "mean_absolute_error", False): 0.6}),
      _per_slice((("age_group", 18),), {("candidate", "mean_absolute_error", False): 0.7}),
  ])
  (tmp_path / "plots-00000-of-00001.tfrecord").write_bytes(b"not metrics")
  message = metrics_file.proto_module().MetricsForSlice
  assert [message.FromString(record) for record in metrics_file.records(path)] == list(
      tfma.load_metrics(str(tmp_path)))
  read = metrics_file.metrics_by_slice(str(tmp_path))
  assert read == {
      (): {"candidate": {"mean_absolute_error": 0.61, "example_count": 1000.0},
           "baseline": {"mean_absolute_error": 0.63}},
      (("sex", b"F"),): {"candidate": {"mean_absolute_error": 0.6}},
      (("age_group", 18),): {"candidate": {"mean_absolute_error": 0.7}}}
  assert metrics_file.candidate(metrics_file.overall_metrics(str(tmp_path))) == read[()][
      "candidate"]


def test_without_a_baseline_the_candidate_is_the_unnamed_model(tmp_path):
  _written(str(tmp_path), [_per_slice((), {("", "mean_absolute_error", False): 0.7})])
  assert metrics_file.candidate(metrics_file.overall_metrics(str(tmp_path))) == {
      "mean_absolute_error": 0.7}


def test_a_truncated_file_or_none_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match=str(tmp_path)):
    metrics_file.metrics_by_slice(str(tmp_path))
  path = _written(str(tmp_path), [_per_slice((), {("", "mean_absolute_error", False): 0.7})])
  with open(path, "rb+") as stream:
    stream.truncate(os.path.getsize(path) - 3)
  with pytest.raises(ValueError, match="metrics-00000-of-00001.tfrecord: a truncated record"):
    metrics_file.metrics_by_slice(str(tmp_path))
