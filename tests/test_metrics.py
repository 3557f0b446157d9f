"""The gate's noise margin: TFMA's computations of pipeline.metrics, run by hand on extracts
holding a candidate's and a baseline's predictions, against NumPy."""
import statistics

import numpy as np
import pytest
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types

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
