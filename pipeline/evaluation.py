"""The Evaluator's TFMA configuration: metrics, slices and the blessing gate.

TFMA scores CsvExampleGen's eval split through the model's `predict_pipeline_examples`
signature and runs `transform_features` beside it, so slices can use the Transform's
slicing features (history length, target popularity) as well as raw ones.
"""

import tensorflow_model_analysis as tfma

from movielens import constants as c
from movielens import contract
from pipeline import metrics
from pipeline.config import GateConfig
from transform import features as f

GATED_METRIC = metrics.MAE
# (metric class, its module or "" for TFMA's, the name it reports). The rating metrics
# and the plot come from pipeline.metrics: TFMA's and Keras's MAE and MSE are not exact,
# and there all of them share one conversion per example (see there).
METRICS = (
    ("ExactMeanAbsoluteError", metrics.__name__, metrics.MAE),
    ("ExactMeanSquaredError", metrics.__name__, metrics.MSE),
    ("ExactRootMeanSquaredError", metrics.__name__, metrics.RMSE),
    ("ExampleCount", "", "example_count"),
    ("MeanRating", metrics.__name__, metrics.MEAN_LABEL),
    ("MeanPredictedRating", metrics.__name__, metrics.MEAN_PREDICTION),
    # Per bucket of predicted rating, half a star wide, the examples' mean prediction and
    # mean true rating (a calibrated model's are equal).
    ("RatingCalibrationPlot", metrics.__name__, metrics.CALIBRATION_PLOT),
)
# Overall, then each slicing feature alone (the label too: the error per true rating).
OVERALL = tfma.SlicingSpec()
SLICE_FEATURES = (c.SEX, c.AGE_GROUP, c.OCCUPATION, f.HISTORY_LENGTH_BUCKET,
                  f.TARGET_POPULARITY_BUCKET, c.RATING)


def gate_threshold(gate: GateConfig) -> tfma.MetricThreshold:
  """MAE under an absolute bound, and no worse than the baseline by more than allowed
  (or, with mae_min_improvement, better than it by at least that much).

  Without a baseline (the first run) TFX drops the change threshold: the bound alone gates.
  """
  return tfma.MetricThreshold(
      value_threshold=tfma.GenericValueThreshold(upper_bound={"value": gate.mae_upper_bound}),
      change_threshold=tfma.GenericChangeThreshold(
          direction=tfma.MetricDirection.LOWER_IS_BETTER,
          absolute={"value": gate.mae_change_bound}))


def eval_config(gate: GateConfig) -> tfma.EvalConfig:
  configs = [tfma.MetricConfig(class_name=class_name, module=module)
             for class_name, module, _ in METRICS]
  for metric, (_, _, name) in zip(configs, METRICS):
    if name == GATED_METRIC:  # on the overall slice only: slices inform, they do not gate
      metric.per_slice_thresholds.append(tfma.PerSliceMetricThreshold(
          slicing_specs=[OVERALL], threshold=gate_threshold(gate)))
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(
          signature_name=contract.EVAL_SIGNATURE,
          preprocessing_function_names=[contract.TRANSFORM_SIGNATURE],
          label_key=f.LABEL,
          prediction_key=contract.PREDICTION_KEY)],
      slicing_specs=[OVERALL] + [tfma.SlicingSpec(feature_keys=[feature])
                                            for feature in SLICE_FEATURES],
      metrics_specs=[tfma.MetricsSpec(metrics=configs)])
