"""The gate's noise margin: TFMA's computations of pipeline.metrics, run by hand on extracts
holding a candidate's and a baseline's predictions, against NumPy."""
import statistics

import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.metrics import metric_util

from pipeline import metrics
from pipeline.config import GateConfig

ROWS = 200


def eval_config(with_baseline: bool) -> tfma.EvalConfig:
  config = tfma.EvalConfig(model_specs=[tfma.ModelSpec(name="candidate")])
  if with_baseline:
    config.model_specs.add(name="baseline", is_baseline=True)
  return config


def extracts(labels, candidate, baseline=None):
  for i, label in enumerate(labels):
    predictions = ({"candidate": np.array([candidate[i]]), "baseline": np.array([baseline[i]])}
                   if baseline is not None else {"candidate": np.array([candidate[i]])})
    yield {"labels": np.array([label]), "predictions": predictions,
           "example_weights": np.array([1.0])}


def computed(metric: metric_types.Metric, config: tfma.EvalConfig, rows) -> dict:
  """{metric key: value}: each computation's preprocessor and combiner over the rows, then
  the derived metrics, as TFMA's evaluator runs them."""
  rows = list(rows)
  model_names = [spec.name for spec in config.model_specs]
  results = {}
  computations = metric.computations(eval_config=config, model_names=model_names)
  for computation in computations:
    if isinstance(computation, metric_types.MetricComputation):
      combiner = computation.combiner
      accumulator = combiner.create_accumulator()
      for row in rows:
        for preprocessed in computation.preprocessors[0].process(row):
          accumulator = combiner.add_input(accumulator, preprocessed)
      results.update(combiner.extract_output(accumulator))
  for computation in computations:
    if isinstance(computation, metric_types.DerivedMetricComputation):
      results.update(computation.result(results))
  return {key.model_name: value for key, value in results.items()
          if key.name == metric.kwargs["name"]}


@pytest.fixture
def ratings():
  rng = np.random.default_rng(3)
  labels = rng.integers(1, 6, ROWS).astype(float)
  candidate = np.clip(labels + rng.normal(0, 0.8, ROWS), 1, 5)
  baseline = np.clip(labels + rng.normal(0, 0.9, ROWS), 1, 5)
  return labels, candidate, baseline


def test_the_margin_moves_the_mae_by_standard_errors_of_the_paired_difference(ratings):
  labels, candidate, baseline = ratings
  difference = np.abs(candidate - labels) - np.abs(baseline - labels)
  standard_error = difference.std(ddof=1) / np.sqrt(ROWS)
  z = statistics.NormalDist().inv_cdf(0.95)
  values = computed(metrics.MaeWithNoiseMargin(margin=-z), eval_config(True),
                    extracts(labels, candidate, baseline))
  assert values["candidate"] == pytest.approx(
      np.abs(candidate - labels).mean() - z * standard_error, abs=1e-9)
  assert values["baseline"] == pytest.approx(np.abs(baseline - labels).mean(), abs=1e-9)
  # So TFMA's diff, candidate minus baseline, is the change's lower confidence bound.
  assert values["candidate"] - values["baseline"] == pytest.approx(
      difference.mean() - z * standard_error, abs=1e-9)


def test_without_a_baseline_it_is_the_mae(ratings):
  labels, candidate, _ = ratings
  values = computed(metrics.MaeWithNoiseMargin(margin=-1.645), eval_config(False),
                    extracts(labels, candidate))
  assert values["candidate"] == pytest.approx(np.abs(candidate - labels).mean(), abs=1e-9)


def test_the_same_predictions_have_no_noise(ratings):
  labels, candidate, _ = ratings
  values = computed(metrics.MaeWithNoiseMargin(margin=1.645), eval_config(True),
                    extracts(labels, candidate, candidate))
  assert values["candidate"] == pytest.approx(values["baseline"], abs=1e-12)


@pytest.mark.parametrize("gate, margin, bound", [
    (GateConfig(), -1.6449, 0.0),                          # refused only if surely worse
    (GateConfig(mae_max_increase=0.01), -1.6449, 0.01),
    (GateConfig(mae_min_improvement=0.0), 1.6449, 0.0),   # blessed only if surely better
    (GateConfig(mae_min_improvement=0.002, confidence=0.5), 0.0, -0.002),
])
def test_the_gate_config_says_which_side_of_the_noise_it_takes(gate, margin, bound):
  assert gate.noise_margin == pytest.approx(margin, abs=1e-4)
  assert gate.mae_change_bound == bound


def test_the_count_is_the_number_of_examples(ratings):
  labels, candidate, baseline = ratings
  values = computed(metrics.RatingCount(), eval_config(True),
                    extracts(labels, candidate, baseline))
  assert values == {"candidate": ROWS, "baseline": ROWS}


def evaluator_extracts(two_models: bool):
  """One example as TFMA's Evaluator hands it to the metrics: the label and each model's
  outputs, per model name when it scores two models."""
  outputs = lambda score: {"predicted_rating": np.array([score], np.float32),
                           "next_movie_score": np.array([0.7], np.float32)}
  if two_models:
    return {"labels": {"candidate": np.array([4.0]), "baseline": np.array([4.0])},
            "predictions": {"candidate": outputs(3.5), "baseline": outputs(4.25)}}
  return {"labels": np.array([4.0]), "predictions": outputs(3.5)}


@pytest.mark.parametrize("two_models", [False, True])
@pytest.mark.parametrize("example_weighted", [False, True])
def test_the_preprocessor_reads_what_tfmas_own_conversion_reads(two_models, example_weighted):
  config = tfma.EvalConfig(model_specs=[tfma.ModelSpec(
      name="candidate" if two_models else "", prediction_key="predicted_rating")])
  if two_models:  # the baseline read under another key: each model's own is read
    config.model_specs.add(name="baseline", is_baseline=True, prediction_key="next_movie_score")
  example = evaluator_extracts(two_models)
  for spec in config.model_specs:
    preprocessor = metrics._RatingSumsPreprocessor(config, spec.name, "", example_weighted)
    ours = list(preprocessor._label_prediction_weight(example, spec.name))
    tfmas = [tuple(float(np.asarray(v).flat[0]) for v in values)
             for values in metric_util.to_label_prediction_example_weight(
                 metric_util.to_standard_metric_inputs(example), eval_config=config,
                 model_name=spec.name, example_weighted=example_weighted)]
    assert ours == tfmas
    # Unweighted, as the pipeline's metrics are, it reads them itself.
    assert (preprocessor._single_rating(example, spec.name) is None) == example_weighted
