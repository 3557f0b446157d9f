"""The Evaluator's TFMA configuration: metrics, slices and the blessing gate.

TFMA scores CsvExampleGen's eval split through the model's `predict_pipeline_examples`
signature and runs `transform_features` beside it, so slices can use the Transform's
slicing features (history length, target popularity) as well as raw ones.
"""
import json
from typing import List

import tensorflow_model_analysis as tfma

from movielens import constants as c
from movielens import contract
from pipeline import metrics
from pipeline.config import GateConfig
from transform import features as f

GATED_METRIC = metrics.MAE  # under the bound
# ...and its change against the last blessed model, beyond noise (GateConfig).
GATED_CHANGE_METRIC = metrics.MAE_WITH_NOISE_MARGIN
# (metric class in pipeline.metrics, the name it reports). TFMA's and Keras's MAE and MSE
# are not exact, and there all of them share one conversion per example (see there).
METRICS = (
    ("ExactMeanAbsoluteError", metrics.MAE),
    ("ExactMeanSquaredError", metrics.MSE),
    ("ExactRootMeanSquaredError", metrics.RMSE),
    ("RatingCount", metrics.EXAMPLE_COUNT),
    ("MeanRating", metrics.MEAN_LABEL),
    ("MeanPredictedRating", metrics.MEAN_PREDICTION),
    # Per bucket of predicted rating, half a star wide, the examples' mean prediction and
    # mean true rating (a calibrated model's are equal).
    ("RatingCalibrationPlot", metrics.CALIBRATION_PLOT),
)
# Overall, then each slicing feature alone (the label too: the error per true rating).
OVERALL = tfma.SlicingSpec()
SLICE_FEATURES = (c.SEX, c.AGE_GROUP, c.OCCUPATION, f.HISTORY_LENGTH_BUCKET,
                  f.TARGET_POPULARITY_BUCKET, c.RATING)


def gate_metrics(gate: GateConfig) -> List[tfma.MetricConfig]:
  """The gate, on the overall slice only (slices inform, they do not gate): the MAE under
  an absolute bound, and its change against the last blessed model, moved by the noise
  margin, within GateConfig.mae_change_bound.

  Without a baseline (the first run) TFX drops the change threshold: the bound alone gates.
  """
  bound = tfma.MetricThreshold(
      value_threshold=tfma.GenericValueThreshold(upper_bound={"value": gate.mae_upper_bound}))
  change = tfma.MetricThreshold(change_threshold=tfma.GenericChangeThreshold(
      direction=tfma.MetricDirection.LOWER_IS_BETTER, absolute={"value": gate.mae_change_bound}))
  return [
      tfma.MetricConfig(class_name="ExactMeanAbsoluteError", module=metrics.__name__,
                        per_slice_thresholds=[tfma.PerSliceMetricThreshold(
                            slicing_specs=[OVERALL], threshold=bound)]),
      tfma.MetricConfig(class_name="MaeWithNoiseMargin", module=metrics.__name__,
                        config=json.dumps({"margin": gate.noise_margin}),
                        per_slice_thresholds=[tfma.PerSliceMetricThreshold(
                            slicing_specs=[OVERALL], threshold=change)]),
  ]


def eval_config(gate: GateConfig) -> tfma.EvalConfig:
  configs = gate_metrics(gate) + [
      tfma.MetricConfig(class_name=class_name, module=metrics.__name__)
      for class_name, name in METRICS if name != GATED_METRIC]
  return tfma.EvalConfig(
      model_specs=[tfma.ModelSpec(
          signature_name=contract.EVAL_SIGNATURE,
          preprocessing_function_names=[contract.TRANSFORM_SIGNATURE],
          label_key=f.LABEL,
          prediction_key=contract.PREDICTION_KEY)],
      slicing_specs=[OVERALL] + [tfma.SlicingSpec(feature_keys=[feature])
                                            for feature in SLICE_FEATURES],
      metrics_specs=[tfma.MetricsSpec(metrics=configs)])
