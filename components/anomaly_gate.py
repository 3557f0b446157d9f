"""AnomalyGate: stops the run when ExampleValidator found anomalies in the data, or when
CsvExampleGen did not make one example of every CSV row.

ExampleValidator records anomalies (and marks its artifact not blessed) but lets the
pipeline go on; TFX 1.16 has no switch to make it fail. This component reads its output
and raises an error that names every anomaly, by split and feature. It also compares
StatisticsGen's example count per split with the rows the conversion wrote (its
summary.json): CsvExampleGen once silently left out a stretch of one large shard
(docs/decisions.md), and a run went on with fewer training rows. When the run ingests its
window of earlier spans again (span mode's portable design), it counts those examples
against each span's summary too. The pipeline
runs the Transform after this gate, so no model is ever trained on data that breaks the
schema or lost rows on the way.

With the DistributionValidator's anomalies (pipeline.drift) it also reads the drift it
found: drift of a feature in `stop_on_drift_of` stops the run like an anomaly; other
drift, or any without it, lets the run go on, and the runner's summary and the report
show it.
"""
import logging
import os
from typing import Callable, Dict, List, Tuple

import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tensorflow_metadata.proto.v0 import statistics_pb2
from tfx import v1 as tfx
from tfx.types import artifact_utils

from movielens import constants as c
from movielens import conversion

ANOMALIES_FILE = "SchemaDiff.pb"  # what ExampleValidator writes per split
SPLIT_PAIR_FOLDER = "SplitPair-"  # DistributionValidator's folder per compared split pair
STATISTICS_FILE = "FeatureStats.pb"  # what StatisticsGen writes per split
COUNT_BATCH = 8192  # records counted at a time


class DataAnomalyError(ValueError):
  """The data broke the schema; the message lists each anomaly. Bad input, so every
  command reports it as one line (cli.entry_point)."""


def read_anomalies(anomalies_artifact, folder: str = "Split-"
                   ) -> Dict[str, anomalies_pb2.Anomalies]:
  """ExampleValidator's findings, per split (DistributionValidator's: folder
  SPLIT_PAIR_FOLDER, per split pair; none when it had no baseline to compare with)."""
  found = {}
  for split in artifact_utils.decode_split_names(anomalies_artifact.split_names):
    path = os.path.join(anomalies_artifact.uri, f"{folder}{split}", ANOMALIES_FILE)
    if not os.path.exists(path) and folder == SPLIT_PAIR_FOLDER:
      continue  # rubber-stamped: no baseline statistics
    with open(path, "rb") as binary:
      found[split] = anomalies_pb2.Anomalies.FromString(binary.read())
  return found


def read_drift(drift_artifact, span: int) -> List[str]:
  """The DistributionValidator's findings in the run of `span` (span mode; else 0), one
  sentence each ([] when none)."""
  return [line for _, line in read_drift_by_feature(drift_artifact, span)]


def read_drift_by_feature(drift_artifact, span: int) -> List[Tuple[str, str]]:
  """read_drift's sentences with the feature each is about."""
  return describe_by_feature(read_anomalies(drift_artifact, SPLIT_PAIR_FOLDER),
                             lambda pair: compared_in_words(pair, span))


def compared_in_words(split_pair: str, span: int) -> str:
  """A DistributionValidator split pair ("<split>_<baseline split>") in words: the same
  split, or a baseline split of a window of spans (c.window_split), is span mode's drift,
  this span's against the previous one's; two splits, the skew of one span's."""
  split, baseline = split_pair.split("_", 1)
  baseline_span = c.window_split_span(baseline)
  if split == baseline or baseline_span is not None:
    return f"span {span} against span {span - 1 if baseline_span is None else baseline_span}"
  return f"{split} against {baseline}"


def describe(anomalies_by_split: Dict[str, anomalies_pb2.Anomalies],
             where: Callable[[str], str] = lambda split: f"split {split}") -> List[str]:
  """One line per anomaly: the feature, where it was found (`where` of the split's name)
  and what TFDV found: for a distance, its measure, value and threshold."""
  return [line for _, line in describe_by_feature(anomalies_by_split, where)]


def describe_by_feature(anomalies_by_split: Dict[str, anomalies_pb2.Anomalies],
                        where: Callable[[str], str]) -> List[Tuple[str, str]]:
  """describe's lines with the feature each is about ("" for the whole dataset)."""
  lines = []
  for split, anomalies in sorted(anomalies_by_split.items()):
    for feature, info in sorted(anomalies.anomaly_info.items()):
      lines.append((feature, f"feature '{feature}', {where(split)}: {_found(info)}"))
    if anomalies.HasField("dataset_anomaly_info"):
      lines.append(("", f"whole dataset, {where(split)}: "
                        f"{_found(anomalies.dataset_anomaly_info)}"))
  return lines


def _found(info: anomalies_pb2.AnomalyInfo) -> str:
  """TFDV's words for an anomaly: each reason's description (where TFDV puts the
  distance and threshold), or the anomaly's own when it has no reasons."""
  said = [reason.description or reason.short_description for reason in info.reason]
  return " ".join(said) or info.description or info.short_description


def split_drift(drifted: List[Tuple[str, str]], stop_on_drift_of: str
                ) -> Tuple[List[str], List[str]]:
  """(the lines whose feature is in the comma-separated `stop_on_drift_of`, the others)."""
  stops = set(filter(None, stop_on_drift_of.split(",")))
  return ([line for feature, line in drifted if feature in stops],
          [line for feature, line in drifted if feature not in stops])


def example_counts(statistics_artifact) -> Dict[str, int]:
  """Examples per split, as StatisticsGen counted them."""
  counts = {}
  for split in artifact_utils.decode_split_names(statistics_artifact.split_names):
    path = os.path.join(statistics_artifact.uri, f"Split-{split}", STATISTICS_FILE)
    with open(path, "rb") as binary:
      statistics = statistics_pb2.DatasetFeatureStatisticsList.FromString(binary.read())
    counts[split] = sum(dataset.num_examples for dataset in statistics.datasets)
  return counts


def lost_rows(examples_by_split: Dict[str, int], csv_rows: Dict[str, int],
              example_gen: str = "CsvExampleGen") -> List[str]:
  """One line per split whose example count is not its CSV row count."""
  return [f"split '{split}': {example_gen} made {examples_by_split.get(split, 0):,} examples "
          f"from the {rows:,} rows the conversion wrote"
          for split, rows in sorted(csv_rows.items())
          if examples_by_split.get(split, 0) != rows]


def counted_examples(examples_artifact) -> Dict[str, int]:
  """Examples per split of an ExampleGen's output, counted from its records."""
  counts = {}
  for split in artifact_utils.decode_split_names(examples_artifact.split_names):
    files = tf.io.gfile.glob(os.path.join(
        artifact_utils.get_split_uri([examples_artifact], split), "*"))
    batches = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(COUNT_BATCH)
    counts[split] = int(batches.reduce(tf.constant(0, tf.int64), lambda n, batch: n + tf.shape(
        batch, out_type=tf.int64)[0]))  # by batch: one record at a time is 20 times slower
  return counts


def window_rows(csv_root: str, splits: List[str]) -> Dict[str, int]:
  """The rows the conversion wrote for each window split (c.window_split) under csv_root."""
  rows = {}
  for split in splits:
    span, part = c.window_split_parts(split)
    summary = conversion.read_summary(c.span_dir(csv_root, span))
    if summary is None:
      raise DataAnomalyError(f"{c.span_dir(csv_root, span)} has no conversion summary")
    rows[split] = summary["rows"][part]
  return rows


def window_lost_rows(window_artifact, csv_root: str, example_gen: str) -> List[str]:
  """lost_rows of a window of earlier spans ingested again by `example_gen`."""
  counted = counted_examples(window_artifact)
  return lost_rows(counted, window_rows(csv_root, sorted(counted)), example_gen)


@tfx.dsl.components.component
def AnomalyGate(  # pylint: disable=invalid-name  (TFX component naming)
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    statistics: tfx.dsl.components.InputArtifact[
        tfx.types.standard_artifacts.ExampleStatistics],
    csv_dir: tfx.dsl.components.Parameter[str],
    drift: tfx.dsl.components.InputArtifact[
        tfx.types.standard_artifacts.ExampleAnomalies] = None,
    stop_on_drift_of: tfx.dsl.components.Parameter[str] = "",
    span: tfx.dsl.components.Parameter[int] = 0,
    window: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples] = None,
    window_csv_root: tfx.dsl.components.Parameter[str] = "",
    window_example_gen: tfx.dsl.components.Parameter[str] = ""):
  """Raises DataAnomalyError if ExampleValidator reported any anomaly, if a split's
  example count differs from the conversion's row count in csv_dir/summary.json (and,
  given a `window` of earlier spans that `window_example_gen` ingested again, each of its
  splits' from its span's summary under window_csv_root), or if the DistributionValidator
  found drift of a feature in `stop_on_drift_of` (comma-separated; other drift is logged
  as a warning). `span`: the span this run ingested, which the drift lines name (TFX's
  statistics of a span do not carry it)."""
  summary = conversion.read_summary(csv_dir)
  if summary is None:
    raise DataAnomalyError(f"{csv_dir} has no conversion summary: convert it first")
  lost = lost_rows(example_counts(statistics), summary["rows"])
  if window is not None:
    lost += window_lost_rows(window, window_csv_root, window_example_gen)
  if lost:
    raise DataAnomalyError("the examples are not the CSV rows; the run stops before the "
                           "Transform and the Trainer:\n  " + "\n  ".join(lost))
  found = describe(read_anomalies(anomalies))
  if found:
    raise DataAnomalyError(
        f"ExampleValidator found {len(found)} anomal{'y' if len(found) == 1 else 'ies'} "
        "against the schema; the run stops before the Transform and the Trainer:\n  "
        + "\n  ".join(found))
  stopping, warned = split_drift(
      read_drift_by_feature(drift, span) if drift is not None else [], stop_on_drift_of)
  if stopping:
    raise DataAnomalyError(
        "drift over the schema's thresholds (--stop-on-drift); the run stops before the "
        "Transform and the Trainer:\n  " + "\n  ".join(stopping)
        + "".join(f"\n  (a warning only) {line}" for line in warned))
  for line in warned:
    logging.warning("drift: %s", line)
