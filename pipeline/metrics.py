"""Exact rating metrics for TFMA, from one conversion per example: MAE, MSE, RMSE, mean
label, mean prediction, the example count and the calibration plot.

Exact: TFMA 0.47's own MeanAbsoluteError and MeanSquaredError are wrong: their
merge_accumulators adds the first accumulator twice whenever Beam passes a list, so the
value depends on how the data happened to be bundled. The Keras metrics are no way out:
fed TFMA's 1-D batches, MeanAbsoluteError and MeanSquaredError average per-batch means,
which differ from the mean whenever batch sizes differ (tests/test_pipeline.py compares
these metrics with MAE computed from the pushed model's own predictions). Here every
metric is a ratio of sums that merge exactly in any order.

One conversion per example: TFMA copies each example into every slice it belongs to (7
with pipeline.evaluation's slices) and, for a metric without a preprocessor, converts
TFMA's extracts to (label, prediction, weight) again in each slice and for each metric
(docs/decisions.md). Here a preprocessor, which TFMA runs once per example before the
fan-out, turns each example into its row of sums; every metric, the example count and the
plot then derive from one shared sum of those rows per slice (TFMA's derived metrics, as
its own calibration metrics share their sums). The conversion reads the rating and the
prediction straight from where the Evaluator puts them, and only for another layout of
extracts takes TFMA's general conversion, which is built for every kind of model and is
slow per example (docs/decisions.md).

Paired with the baseline: when the Evaluator has a baseline model (the last blessed one),
each example's row also holds d = |candidate's error| - |baseline's error| and d squared,
so that MaeWithNoiseMargin can move the MAE by a multiple of the standard error of the
mean of d: the noise of comparing two models on the same, finite eval rows. TFMA's diff
of that metric is then a one-sided confidence bound of the change in MAE, which the gate
(pipeline.evaluation) holds to its threshold.
"""
import math
from typing import Any, Callable, Dict, Iterable, Iterator, Mapping, Optional

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis import constants as tfma_constants
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.metrics import metric_util
from tensorflow_model_analysis.proto import config_pb2
from tensorflow_model_analysis.proto import metrics_for_slice_pb2
from tensorflow_model_analysis.utils import model_util

from movielens import constants as c
from pipeline.metric_names import (  # noqa: F401  (metrics.MAE, ... for their readers)
    CALIBRATION_PLOT, EXAMPLE_COUNT, MAE, MAE_WITH_NOISE_MARGIN, MEAN_LABEL, MEAN_PREDICTION,
    MSE, RMSE)

# The calibration plot's bucket edges: half a star wide over the rating scale, and below
# and above it one more bucket each (as TFMA's CalibrationPlot).
CALIBRATION_EDGES = tuple(np.arange(c.MIN_RATING, c.MAX_RATING + 0.5, 0.5).tolist())
_CALIBRATION_LOWS = (-math.inf,) + CALIBRATION_EDGES
_CALIBRATION_HIGHS = CALIBRATION_EDGES + (math.inf,)
# An example's row: its weight, then its weighted absolute error, squared error, label and
# prediction, its paired difference with the baseline's absolute error and that squared
# (0 without a baseline); then per calibration bucket (weight, weighted label, weighted
# prediction), zero but in the bucket of its prediction.
(_WEIGHT, _ABSOLUTE_ERROR, _SQUARED_ERROR, _LABEL, _PREDICTION, _PAIRED, _PAIRED_SQUARED,
 _CALIBRATION) = range(8)
_BUCKET = 3
_ROW = _CALIBRATION + _BUCKET * len(_CALIBRATION_LOWS)


def _calibration_buckets(sums: np.ndarray) -> metrics_for_slice_pb2.CalibrationHistogramBuckets:
  """The plot as TFMA writes its CalibrationPlot's (results.runs.calibration reads it)."""
  plot = metrics_for_slice_pb2.CalibrationHistogramBuckets()
  buckets = zip(_CALIBRATION_LOWS, _CALIBRATION_HIGHS,
                sums[_CALIBRATION:].reshape(-1, _BUCKET))
  for low, high, (weight, label, prediction) in buckets:
    plot.buckets.add(lower_threshold_inclusive=low, upper_threshold_exclusive=high,
                     num_weighted_examples={"value": weight},
                     total_weighted_label={"value": label},
                     total_weighted_refined_prediction={"value": prediction})
  return plot


def paired_standard_error(sums: np.ndarray) -> float:
  """The standard error of the mean paired difference with the baseline (0 without one)."""
  count = sums[_WEIGHT]
  if count < 2:
    return 0.0
  variance = max(0.0, sums[_PAIRED_SQUARED] - sums[_PAIRED] ** 2 / count) / (count - 1)
  return math.sqrt(variance / count)


# Each metric from its slice's sums and its `margin` (the weights' sum is never 0: a slice
# has examples).
_FROM_SUMS: Dict[str, Callable[[np.ndarray, float], Any]] = {
    MAE: lambda sums, _: sums[_ABSOLUTE_ERROR] / sums[_WEIGHT],
    MSE: lambda sums, _: sums[_SQUARED_ERROR] / sums[_WEIGHT],
    RMSE: lambda sums, _: math.sqrt(sums[_SQUARED_ERROR] / sums[_WEIGHT]),
    MEAN_LABEL: lambda sums, _: sums[_LABEL] / sums[_WEIGHT],
    MEAN_PREDICTION: lambda sums, _: sums[_PREDICTION] / sums[_WEIGHT],
    # As TFMA's ExampleCount: the examples, or their weights' sum when example-weighted.
    EXAMPLE_COUNT: lambda sums, _: sums[_WEIGHT],
    CALIBRATION_PLOT: lambda sums, _: _calibration_buckets(sums),
    MAE_WITH_NOISE_MARGIN: lambda sums, margin: (
        sums[_ABSOLUTE_ERROR] / sums[_WEIGHT] + margin * paired_standard_error(sums)),
}
_SUMS_NAME = "_rating_sums"  # private: TFMA leaves names starting with "_" out of its results


class _RatingSumsPreprocessor(metric_types.Preprocessor):
  """One example's extracts -> its row of sums, once, before TFMA's fan-out to slices."""

  def __init__(self, eval_config: Optional[config_pb2.EvalConfig], model_name: str,
               output_name: str, example_weighted: bool):
    super().__init__(name=metric_util.generate_private_name_from_arguments(
        _SUMS_NAME, model_name=model_name, output_name=output_name,
        example_weighted=example_weighted))
    self._eval_config = eval_config
    self._model_name = model_name
    self._output_name = output_name
    self._example_weighted = example_weighted
    baseline = (model_util.get_baseline_model_spec(eval_config) if eval_config else None)
    self._baseline_name = baseline.name if baseline and baseline.name != model_name else None
    # Each model's prediction key, named as TFMA names the models (no name for one model).
    specs = eval_config.model_specs if eval_config else []
    self._prediction_keys = {spec.name if len(specs) > 1 else "": spec.prediction_key
                             for spec in specs}

  def _single_rating(self, extracts: Dict[str, Any], model_name: str):
    """(label, prediction, 1.0) read where the Evaluator puts one rating and its prediction
    (per model name when it scores two models; the prediction under the ModelSpec's
    prediction_key), or None for any other layout, for a multi-output model's metrics and
    for example-weighted ones: TFMA's general conversion reads those."""
    if self._example_weighted or self._output_name:
      return None
    def of_model(value):
      return value.get(model_name) if model_name and isinstance(value, Mapping) else value
    label = of_model(extracts.get(tfma_constants.LABELS_KEY))
    prediction = of_model(extracts.get(tfma_constants.PREDICTIONS_KEY))
    prediction_key = self._prediction_keys.get(model_name)
    if isinstance(prediction, Mapping) and prediction_key:
      prediction = prediction.get(prediction_key)
    if (not isinstance(label, np.ndarray) or label.size != 1
        or not isinstance(prediction, np.ndarray) or prediction.size != 1):
      return None
    return float(label.flat[0]), float(prediction.flat[0]), 1.0

  def _label_prediction_weight(self, extracts: Dict[str, Any], model_name: str):
    single = self._single_rating(extracts, model_name)
    if single:
      yield single
      return
    for label, prediction, weight in metric_util.to_label_prediction_example_weight(
        metric_util.to_standard_metric_inputs(extracts), eval_config=self._eval_config,
        model_name=model_name, output_name=self._output_name,
        example_weighted=self._example_weighted):
      yield tuple(float(metric_util.safe_to_scalar(value))
                  for value in (label, prediction, weight))

  def process(self, extracts: Dict[str, Any]) -> Iterator[np.ndarray]:
    row = np.zeros(_ROW)
    baseline_errors = (
        [abs(prediction - label) for label, prediction, _ in
         self._label_prediction_weight(extracts, self._baseline_name)]
        if self._baseline_name else None)
    for index, (label, prediction, weight) in enumerate(
        self._label_prediction_weight(extracts, self._model_name)):
      error = prediction - label
      paired = abs(error) - baseline_errors[index] if baseline_errors else 0.0
      row[:_CALIBRATION] += weight * np.array([1.0, abs(error), error * error, label,
                                               prediction, paired, paired * paired])
      bucket = _CALIBRATION + _BUCKET * int(np.searchsorted(CALIBRATION_EDGES, prediction,
                                                            side="right"))
      row[bucket:bucket + _BUCKET] += weight * np.array([1.0, label, prediction])
    yield row


class _SumCombiner(beam.CombineFn):
  """Adds the rows of a slice's examples."""

  def __init__(self, key: metric_types.MetricKey):
    self._key = key

  def create_accumulator(self) -> np.ndarray:
    return np.zeros(_ROW)

  def add_input(self, accumulator: np.ndarray, row: np.ndarray) -> np.ndarray:
    # TFMA calls add_inputs with what the preprocessor yielded for one example: its row.
    accumulator += row
    return accumulator

  def merge_accumulators(self, accumulators: Iterable[np.ndarray]) -> np.ndarray:
    return np.sum(list(accumulators), axis=0)

  def extract_output(self, accumulator: np.ndarray) -> metric_types.MetricsDict:
    return {self._key: accumulator}


def _computations_of(value: str) -> Callable[..., metric_types.MetricComputations]:
  """The computations of the metric `value` (a key of _FROM_SUMS), for TFMA's
  merge_per_key_computations: the shared sums (TFMA computes identical computations
  once) and the metric derived from them, under the metric's `name`."""
  def computations(name: str, eval_config: Optional[config_pb2.EvalConfig] = None,
                   model_name: str = "", output_name: str = "",
                   example_weighted: bool = False,
                   margin: float = 0.0) -> metric_types.MetricComputations:
    key = lambda kind, metric: kind(name=metric, model_name=model_name,
                                    output_name=output_name, example_weighted=example_weighted)
    sums_key = key(metric_types.MetricKey, _SUMS_NAME)
    metric_key = key(metric_types.PlotKey if value == CALIBRATION_PLOT
                     else metric_types.MetricKey, name)
    sums = metric_types.MetricComputation(
        keys=[sums_key],
        preprocessors=[_RatingSumsPreprocessor(eval_config, model_name, output_name,
                                               example_weighted)],
        combiner=_SumCombiner(sums_key))
    from_sums = _FROM_SUMS[value]
    metric = metric_types.DerivedMetricComputation(
        keys=[metric_key],
        result=lambda metrics: {metric_key: from_sums(metrics[sums_key], margin)})
    return [sums, metric]
  return computations


class _RatingMetric(metric_types.Metric):
  """A metric derived from the shared sums: the subclass's `value`, a key of _FROM_SUMS."""
  value = ""

  def __init__(self, name: Optional[str] = None):
    super().__init__(metric_util.merge_per_key_computations(_computations_of(self.value)),
                     name=name or self.value)


class ExactMeanAbsoluteError(_RatingMetric):
  value = MAE


class ExactMeanSquaredError(_RatingMetric):
  value = MSE


class ExactRootMeanSquaredError(_RatingMetric):
  value = RMSE


class MeanRating(_RatingMetric):
  """The mean true rating; TFMA's MeanLabel (whose class name TFMA reserves)."""
  value = MEAN_LABEL


class RatingCount(_RatingMetric):
  """TFMA's ExampleCount, from the shared sums (TFMA reserves the class name)."""
  value = EXAMPLE_COUNT


class MeanPredictedRating(_RatingMetric):
  """The mean predicted rating; TFMA's MeanPrediction (whose class name TFMA reserves)."""
  value = MEAN_PREDICTION


class RatingCalibrationPlot(_RatingMetric):
  """TFMA's CalibrationPlot with pipeline.metrics' buckets (TFMA reserves the class name)."""
  value = CALIBRATION_PLOT


class MaeWithNoiseMargin(metric_types.Metric):
  """MAE + margin x the standard error of the mean paired difference with the baseline.

  For the baseline itself, and without one, it is the MAE. For the candidate, TFMA's diff
  of it is the change in MAE moved by `margin` standard errors: with margin -z, the lowest
  change the eval rows leave plausible at one-sided confidence Phi(z), the gate's "no
  worse beyond noise"; with +z the highest, its "better beyond noise".
  """

  def __init__(self, name: Optional[str] = None, margin: float = 0.0):
    super().__init__(metric_util.merge_per_key_computations(
        _computations_of(MAE_WITH_NOISE_MARGIN)), name=name or MAE_WITH_NOISE_MARGIN,
        margin=margin)
