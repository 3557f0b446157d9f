"""The whole pipeline on LocalDagRunner: gate, push, serving, lineage, cache, anomalies."""
import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from tfx import v1 as tfx
from tfx.types import standard_component_specs as keys

from components import ranking_metrics
from components import reference_models
from components.anomaly_gate import DataAnomalyError
from movielens import constants as c
from movielens import contract
from pipeline import definition
from pipeline import nodes
from pipeline.evaluation import GATED_METRIC
from results import runs
from tests.conftest import (GOOD_TRAINER, TEST_GATE_BOUND, eval_examples, pipeline_config,
                            read_split, serving_values)
from transform.config import TransformConfig

pytestmark = pytest.mark.slow  # real pipelines and runners: the full tier only

EXPECTED_COMPONENTS = [nodes.EXAMPLE_GEN, nodes.STATISTICS_GEN, nodes.SCHEMA_GEN,
                       nodes.EXAMPLE_VALIDATOR, nodes.DISTRIBUTION_VALIDATOR,
                       nodes.ANOMALY_GATE, nodes.TRANSFORM, nodes.TRAINER,
                       nodes.BASELINE_RESOLVER, nodes.EVALUATOR, nodes.PUSHER,
                       nodes.RANKING_EVALUATOR, nodes.REFERENCE_MODELS]


def test_every_component_succeeds_and_the_model_is_blessed_and_pushed(pipeline_runs):
  good = pipeline_runs["good"]
  assert sorted(good["components"]) == sorted(EXPECTED_COMPONENTS)
  assert {run.state for run in good["components"].values()} == {"COMPLETE"}
  outcome = good["outcome"]
  assert outcome.blessed and not outcome.failures
  assert outcome.baseline_mae is None  # the first run: the bound alone gated
  assert outcome.mae < TEST_GATE_BOUND
  assert os.path.dirname(outcome.pushed_to) == good["config"].serving_model_dir
  assert os.path.isfile(os.path.join(outcome.pushed_to, "saved_model.pb"))


def test_tfma_metrics_match_the_models_own_predictions(pipeline_runs):
  """TFMA's MAE and RMSE, recomputed from the pushed model on the same eval examples."""
  good = pipeline_runs["good"]
  examples = eval_examples(good["components"])
  model = tf.saved_model.load(good["outcome"].pushed_to)
  predictions, labels = _predictions_and_labels(model, examples)
  errors = predictions - labels
  metrics = runs.overall_metrics(good["outcome"].evaluation_uri)[""]
  assert metrics["example_count"] == len(examples)
  assert metrics[GATED_METRIC] == pytest.approx(np.abs(errors).mean(), abs=1e-6)
  assert metrics["root_mean_squared_error"] == pytest.approx(
      np.sqrt((errors ** 2).mean()), abs=1e-6)
  assert metrics["mean_prediction"] == pytest.approx(predictions.mean(), abs=1e-5)


def _predictions_and_labels(model, examples):
  """The loaded model's predicted ratings of pipeline examples, and their true ratings."""
  predictions = model.signatures[contract.EVAL_SIGNATURE](examples=tf.constant(examples))[
      contract.PREDICTION_KEY].numpy().ravel()
  labels = np.array([tf.train.Example.FromString(e).features.feature[c.RATING]
                     .int64_list.value[0] for e in examples], dtype=float)
  return predictions, labels


def _mae(model, examples) -> float:
  predictions, labels = _predictions_and_labels(model, examples)
  return float(np.abs(predictions - labels).mean())


def test_the_trainer_chose_on_validation_and_the_gate_judged_eval(pipeline_runs):
  """The kept epoch is the best on the validation split, whose MAE the pushed weights
  reproduce; the Evaluator's MAE is the eval split's."""
  good = pipeline_runs["good"]
  outcome, components = good["outcome"], good["components"]
  training = outcome.training
  per_epoch = training["per_epoch"]["val_mae"]
  assert training["epochs_run"] == len(per_epoch) >= 2
  assert training["validation_mae"] == per_epoch[training["kept_epoch"] - 1] == min(per_epoch)
  model = tf.saved_model.load(outcome.pushed_to)
  validation_mae = _mae(model, eval_examples(components, split=c.VALIDATION_SPLIT))
  eval_mae = _mae(model, eval_examples(components))
  assert training["validation_mae"] == pytest.approx(validation_mae, abs=1e-5)
  assert outcome.mae == pytest.approx(eval_mae, abs=1e-6)
  assert abs(validation_mae - eval_mae) > 1e-3  # two different sets of rows


def test_every_slice_is_evaluated(pipeline_runs):
  """Each slice's count, MAE and mean rating are its own examples' (pipeline.metrics sums
  each example once and TFMA copies the sums into every slice the example is in)."""
  import tensorflow_model_analysis as tfma
  good = pipeline_runs["good"]
  result = tfma.load_eval_result(good["outcome"].evaluation_uri)
  sliced_by = {column for key, _ in result.slicing_metrics for column, _ in key}
  assert sliced_by == {c.SEX, c.AGE_GROUP, c.OCCUPATION, "history_length_bucket",
                       "target_popularity_bucket", c.RATING}
  by_sex = {dict(key)[c.SEX]: {name: value["doubleValue"] for name, value in m[""][""].items()}
            for key, m in result.slicing_metrics if key and key[0][0] == c.SEX}
  examples = eval_examples(good["components"])
  predictions, labels = _predictions_and_labels(
      tf.saved_model.load(good["outcome"].pushed_to), examples)
  sexes = np.array([tf.train.Example.FromString(e).features.feature[c.SEX]
                    .bytes_list.value[0].decode() for e in examples])
  assert sorted(by_sex) == sorted(set(sexes))
  for sex, metrics in by_sex.items():
    rows = sexes == sex
    assert metrics["example_count"] == rows.sum()
    assert metrics[GATED_METRIC] == pytest.approx(
        np.abs(predictions[rows] - labels[rows]).mean(), abs=1e-6)
    assert metrics["mean_label"] == pytest.approx(labels[rows].mean(), abs=1e-9)


def test_a_worse_model_is_not_blessed_nor_pushed(pipeline_runs):
  good, worse = pipeline_runs["good"]["outcome"], pipeline_runs["worse"]["outcome"]
  assert worse.baseline_mae == pytest.approx(good.mae)  # compared with the blessed model
  assert worse.mae > good.mae + 0.05
  assert worse.mae < TEST_GATE_BOUND  # so the comparison, not the bound, refused it
  assert not worse.blessed and worse.pushed_to is None
  assert len(worse.failures) == 1 and "last blessed model" in worse.failures[0]
  serving_dir = pipeline_runs["worse"]["config"].serving_model_dir
  assert os.listdir(serving_dir) == [os.path.basename(good.pushed_to)]


def test_the_gate_judges_the_change_beyond_the_noise_of_the_paired_eval_rows(pipeline_runs):
  """The refusal's noise margin is z standard errors of the per-row difference of the two
  models' absolute errors, recomputed here from both models on the same eval examples."""
  worse = pipeline_runs["worse"]
  examples = eval_examples(worse["components"])
  errors = {}
  for name in ("good", "worse"):
    predictions, labels = _predictions_and_labels(
        tf.saved_model.load(pipeline_runs[name]["outcome"].model_dir), examples)
    errors[name] = np.abs(predictions - labels)
  difference = errors["worse"] - errors["good"]
  standard_error = difference.std(ddof=1) / np.sqrt(len(difference))
  gate = worse["config"].gate
  assert worse["outcome"].noise == pytest.approx(-gate.noise_margin * standard_error, abs=1e-6)
  assert worse["outcome"].noise > 0
  change = difference.mean()
  assert f"a change of {change:+.4f}" in worse["outcome"].failures[0]
  assert "worse beyond noise" in worse["outcome"].failures[0]


def test_the_same_data_and_seed_train_the_same_model_from_scratch(tmp_path, pipeline_raw,
                                                                  pipeline_runs):
  """A second run from scratch (its own conversion, ExampleGen and Transform, whose files
  Beam writes in another order each time) trains the first run's model again."""
  from movielens import conversion
  csv_dir = str(tmp_path / "csv")
  conversion.run_conversion(conversion.ConversionConfig(pipeline_raw, csv_dir))
  config = pipeline_config(str(tmp_path / "pipeline"), csv_dir, **GOOD_TRAINER)
  tfx.orchestration.LocalDagRunner().run(definition.create_pipeline(config))
  again = runs.outcome(runs.component_runs(runs.connect(config.metadata_path)))
  first = pipeline_runs["good"]["outcome"]
  print(f"eval MAE {first.mae:.6f}, from scratch again {again.mae:.6f}")
  assert again.training["per_epoch"]["val_mae"] == pytest.approx(
      first.training["per_epoch"]["val_mae"], abs=1e-6)
  assert again.mae == pytest.approx(first.mae, abs=1e-6)


def test_the_second_run_reuses_the_cache_up_to_the_trainer(pipeline_runs):
  states = {name: run.state for name, run in pipeline_runs["worse"]["components"].items()}
  for cached in (nodes.EXAMPLE_GEN, nodes.STATISTICS_GEN, nodes.SCHEMA_GEN,
                 nodes.EXAMPLE_VALIDATOR, nodes.ANOMALY_GATE, nodes.TRANSFORM):
    assert states[cached] == "CACHED", cached
  assert states[nodes.TRAINER] == "COMPLETE"  # its custom_config changed
  graph = lambda run: pipeline_runs[run]["components"][nodes.TRANSFORM].output(
      keys.TRANSFORM_GRAPH_KEY)
  assert graph("worse").uri == graph("good").uri


def test_mlmd_records_the_lineage_of_the_pushed_model(pipeline_runs):
  """Pushed model <- Pusher <- Trainer's model <- Trainer <- Transform <- CsvExampleGen."""
  config = pipeline_runs["good"]["config"]
  store = runs.connect(config.metadata_path)
  pushed = pipeline_runs["good"]["components"][nodes.PUSHER].output(keys.PUSHED_MODEL_KEY)

  def producer_inputs(artifact_id):
    producing = [e for e in store.get_events_by_artifact_ids([artifact_id])
                 if e.type == e.OUTPUT]
    execution, = store.get_executions_by_id([producing[0].execution_id])
    events = store.get_events_by_execution_ids([execution.id])
    inputs = {e.path.steps[0].key: e.artifact_id for e in events if e.type == e.INPUT}
    return store.get_execution_types_by_id([execution.type_id])[0].name, inputs

  pusher_type, pusher_inputs = producer_inputs(pushed.id)
  assert pusher_type.endswith("Pusher") and {"model", "model_blessing"} <= set(pusher_inputs)
  trainer_type, trainer_inputs = producer_inputs(pusher_inputs["model"])
  assert trainer_type.endswith("Trainer")
  transform_type, transform_inputs = producer_inputs(trainer_inputs["examples"])
  assert transform_type.endswith("Transform")
  example_gen_type, _ = producer_inputs(transform_inputs["examples"])
  assert example_gen_type.endswith("CsvExampleGen")


def test_saved_model_cli_serves_the_pushed_model(pipeline_runs):
  """As TF Serving would: the pushed folder, the serve tag, tf.Examples in, a rating out."""
  pushed = pipeline_runs["good"]["outcome"].pushed_to
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  request = serving_values(eval_examples(pipeline_runs["good"]["components"])[0])
  result = subprocess.run(
      [cli, "run", "--dir", pushed, "--tag_set", "serve", "--signature_def",
       contract.SERVING_SIGNATURE, "--input_examples", f"examples=[{json.dumps(request)}]"],
      capture_output=True, text=True, timeout=180)
  assert result.returncode == 0, result.stderr[-3000:]
  assert f"Result for output key {contract.PREDICTION_KEY}" in result.stdout
  value = float(result.stdout.split(contract.PREDICTION_KEY)[-1].strip(": \n[]"))
  assert c.MIN_RATING <= value <= c.MAX_RATING

  shown = subprocess.run([cli, "show", "--dir", pushed, "--all"], capture_output=True,
                         text=True, timeout=180)
  assert shown.returncode == 0, shown.stderr[-3000:]
  for signature in (contract.SERVING_SIGNATURE, contract.EVAL_SIGNATURE,
                    contract.TRANSFORM_SIGNATURE):
    assert f"signature_def['{signature}']" in shown.stdout


def test_a_schema_anomaly_stops_the_run_before_training(tmp_path, pipeline_csv):
  csv_dir = tmp_path / "csv"
  shutil.copytree(pipeline_csv, csv_dir)
  shard = sorted((csv_dir / c.EVAL_SPLIT).glob("*.csv"))[0]
  rows = pd.read_csv(shard, dtype=str, keep_default_na=False)
  rows.loc[0, c.SEX] = "X"  # not in the schema's domain {F, M}
  rows.to_csv(shard, index=False)
  config = pipeline_config(str(tmp_path), str(csv_dir))
  with pytest.raises(DataAnomalyError, match=r"feature 'sex', split eval: .*X"):
    tfx.orchestration.LocalDagRunner().run(definition.create_pipeline(config))
  store = runs.connect(config.metadata_path)
  ran = {name for name, run in runs.component_runs(store).items()}
  assert nodes.ANOMALY_GATE in ran and not {nodes.TRANSFORM, nodes.TRAINER, nodes.PUSHER} & ran
  assert not os.path.exists(config.serving_model_dir)


def test_examples_that_are_not_the_csv_rows_stop_the_run(tmp_path, pipeline_csv):
  """StatisticsGen's counts per split must equal the rows the conversion wrote."""
  csv_dir = tmp_path / "csv"
  shutil.copytree(pipeline_csv, csv_dir)
  summary_path = csv_dir / c.SUMMARY_FILE
  summary = json.loads(summary_path.read_text())
  written = summary["rows"][c.TRAIN_SPLIT]
  summary["rows"][c.TRAIN_SPLIT] = written + 5  # as if CsvExampleGen had lost 5 rows
  summary_path.write_text(json.dumps(summary))
  config = pipeline_config(str(tmp_path), str(csv_dir))
  with pytest.raises(DataAnomalyError, match=(
      rf"split 'train': CsvExampleGen made {written:,} examples from the {written + 5:,} "
      "rows the conversion wrote")):
    tfx.orchestration.LocalDagRunner().run(definition.create_pipeline(config))
  ran = set(runs.component_runs(runs.connect(config.metadata_path)))
  assert nodes.ANOMALY_GATE in ran and not {nodes.TRANSFORM, nodes.TRAINER} & ran


def test_the_window_is_checked_against_the_csv_when_the_pipeline_is_built(tmp_path,
                                                                            pipeline_csv):
  config = pipeline_config(str(tmp_path), pipeline_csv)
  longer = c.HISTORY_LENGTH + 1
  with pytest.raises(ValueError, match=(
      f"window {longer} is longer than the {c.HISTORY_LENGTH} history events per row of "
      f"{pipeline_csv}")):
    definition.create_pipeline(dataclasses.replace(config, transform=TransformConfig(longer)))
  with pytest.raises(ValueError, match=f"{tmp_path} has no summary.json: convert the data"):
    definition.create_pipeline(dataclasses.replace(config, csv_dir=str(tmp_path)))


def test_ranking_metrics_are_computed_for_every_eval_user(pipeline_runs):
  good = pipeline_runs["good"]
  result = good["outcome"].ranking
  eval_users = {tf.train.Example.FromString(e).features.feature[c.USER_ID].int64_list.value[0]
                for e in eval_examples(good["components"])}
  assert result["users"] + result["users_skipped_too_few_unrated_movies"] == len(eval_users)
  assert result["users"] > 0 and result["negatives"] == good["config"].ranking.negatives
  for scorer in ranking_metrics.SCORERS:
    assert 0 <= result[scorer]["ndcg@10"] <= result[scorer]["hr@10"] <= 1
    assert 1 <= result[scorer]["mean_rank"] <= 1 + result["negatives"]
  # The generator's movie bias makes popularity informative: far better than chance.
  assert result["popularity"]["hr@10"] > 2 * 10 / (1 + result["negatives"])


def test_the_references_are_fit_on_train_and_scored_on_the_eval_rows(pipeline_runs):
  good = pipeline_runs["good"]
  train = read_split(good["config"].csv_dir, c.TRAIN_SPLIT)[c.RATING].astype(float)
  evaluation = read_split(good["config"].csv_dir, c.EVAL_SPLIT)[c.RATING].astype(float)
  result = good["outcome"].references
  mean = result[reference_models.TRAINING_MEAN]
  assert mean["prediction"] == pytest.approx(train.mean())
  assert mean["mae"] == pytest.approx((evaluation - train.mean()).abs().mean())
  # The generator gives users and movies their own levels: the biases explain some of it.
  assert result[reference_models.BIASES]["mae"] < mean["mae"]
