"""`create_pipeline`: CSV rows -> tf.Examples -> statistics, schema, validation ->
transformed features -> trained BST -> evaluation and blessing -> pushed model.

Data flow, one folder (artifact) per component under the pipeline root:
    CsvExampleGen -> StatisticsGen -> ExampleValidator (against ImportSchemaGen's curated
    schema) -> AnomalyGate -> Transform (transform.preprocessing.preprocessing_fn)
    -> [Tuner (trainer.tuning.tuner_fn), only with tuning_trials]
    -> Trainer (trainer.task.run_fn) -> Evaluator (TFMA, baseline: the latest blessed
    model) -> Pusher (blessed models only, to config.serving_model_dir; TFX's, with
    components.pusher's executor: unique versions, whole pushes)
    Trainer -> RankingEvaluator (HR@K, NDCG@K of the next movie, beside popularity)

The splits have one job each: the Transform's analyzers see train only; the Trainer fits
on train and chooses (early stopping, the kept epoch; the Tuner: hyperparameters) on
validation; eval is read only by the Evaluator, which gates on it, and by the
RankingEvaluator, which reports on it.
"""
import logging
from typing import List, Optional, Tuple

from tfx import v1 as tfx
from tfx.dsl.components.base import base_node
from tfx.proto import example_gen_pb2
from tfx.proto import transform_pb2
from tfx.types import standard_component_specs as keys

from components.anomaly_gate import AnomalyGate
from components.pusher import Pusher
from components.ranking_evaluator import RankingEvaluator
from movielens import constants as c
from movielens import conversion
from pipeline import evaluation
from pipeline import nodes
from pipeline.config import PipelineConfig
from trainer import tuning

PREPROCESSING_FN = "transform.preprocessing.preprocessing_fn"
RUN_FN = "trainer.task.run_fn"
TUNER_FN = "trainer.tuning.tuner_fn"


def _input_config() -> example_gen_pb2.Input:
  """The conversion already split the data: its folders become ExampleGen's splits."""
  return tfx.proto.Input(splits=[
      tfx.proto.Input.Split(name=split, pattern=f"{split}/*") for split in c.SPLITS])


def _tuner_and_trainer(config: PipelineConfig, transformed_examples, transform_graph
                       ) -> Tuple[Optional[base_node.BaseNode], base_node.BaseNode]:
  """The Trainer, fitting on train and choosing its epoch on validation, and before it
  the Tuner when `tuning_trials` asks for one (None otherwise)."""
  train_args = tfx.proto.TrainArgs(splits=[c.TRAIN_SPLIT], num_steps=config.train_steps)
  eval_args = tfx.proto.EvalArgs(splits=[c.VALIDATION_SPLIT], num_steps=config.eval_steps)
  tuner = tfx.components.Tuner(
      tuner_fn=TUNER_FN, examples=transformed_examples, transform_graph=transform_graph,
      train_args=train_args, eval_args=eval_args,
      custom_config=tuning.tuner_custom_config(config.trainer, config.tuning_trials),
  ).with_id(nodes.TUNER) if config.tuning_trials else None
  trainer = tfx.components.Trainer(
      run_fn=RUN_FN, examples=transformed_examples, transform_graph=transform_graph,
      hyperparameters=tuner.outputs[keys.BEST_HYPERPARAMETERS_KEY] if tuner else None,
      train_args=train_args, eval_args=eval_args,
      custom_config=config.trainer.to_custom_config()).with_id(nodes.TRAINER)
  return tuner, trainer


def create_components(config: PipelineConfig) -> List[base_node.BaseNode]:
  example_gen = tfx.components.CsvExampleGen(
      input_base=config.csv_dir, input_config=_input_config()).with_id(nodes.EXAMPLE_GEN)
  examples = example_gen.outputs[keys.EXAMPLES_KEY]
  statistics_gen = tfx.components.StatisticsGen(examples=examples).with_id(
      nodes.STATISTICS_GEN)
  statistics = statistics_gen.outputs[keys.STATISTICS_KEY]
  schema_gen = tfx.components.ImportSchemaGen(schema_file=config.schema_path).with_id(
      nodes.SCHEMA_GEN)
  schema = schema_gen.outputs[keys.SCHEMA_KEY]
  example_validator = tfx.components.ExampleValidator(
      statistics=statistics, schema=schema).with_id(nodes.EXAMPLE_VALIDATOR)
  anomaly_gate = AnomalyGate(anomalies=example_validator.outputs[keys.ANOMALIES_KEY],
                             statistics=statistics, csv_dir=config.csv_dir
                             ).with_id(nodes.ANOMALY_GATE)

  transform = tfx.components.Transform(
      examples=examples, schema=schema,
      preprocessing_fn=PREPROCESSING_FN, custom_config=config.transform_custom_config(),
      # Eval is not transformed: the Evaluator and the RankingEvaluator read it raw,
      # through the model's own Transform graph.
      splits_config=transform_pb2.SplitsConfig(
          analyze=[c.TRAIN_SPLIT], transform=[c.TRAIN_SPLIT, c.VALIDATION_SPLIT]),
      disable_statistics=not config.transform_statistics).with_id(nodes.TRANSFORM)
  transform.add_upstream_node(anomaly_gate)  # no Transform, hence no training, on bad data
  transformed_examples = transform.outputs[keys.TRANSFORMED_EXAMPLES_KEY]
  transform_graph = transform.outputs[keys.TRANSFORM_GRAPH_KEY]

  tuner, trainer = _tuner_and_trainer(config, transformed_examples, transform_graph)
  model = trainer.outputs[keys.MODEL_KEY]

  baseline_model = tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
      model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
      model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
  ).with_id(nodes.BASELINE_RESOLVER)
  evaluator = tfx.components.Evaluator(
      examples=examples, example_splits=[c.EVAL_SPLIT], model=model,
      baseline_model=baseline_model.outputs[keys.MODEL_KEY],
      eval_config=evaluation.eval_config(config.gate)).with_id(nodes.EVALUATOR)

  pusher = Pusher(
      model=model, model_blessing=evaluator.outputs[keys.BLESSING_KEY],
      push_destination=tfx.proto.PushDestination(
          filesystem=tfx.proto.PushDestination.Filesystem(
              base_directory=config.serving_model_dir))).with_id(nodes.PUSHER)
  ranking_evaluator = RankingEvaluator(
      examples=examples, model=model, transform_graph=transform_graph,
      negatives=config.ranking.negatives, k=config.ranking.k, seed=config.ranking.seed,
  ).with_id(nodes.RANKING_EVALUATOR)
  return [example_gen, statistics_gen, schema_gen, example_validator, anomaly_gate,
          transform] + ([tuner] if tuner else []) + [
              trainer, baseline_model, evaluator, pusher, ranking_evaluator]


def check_csv(config: PipelineConfig) -> None:
  """The CSV must be converted and hold the Transform's window (PipelineConfig.check_csv).
  A remote CSV folder (gs://...) is checked by the AnomalyGate when the pipeline runs, not
  here: the machine that compiles a Kubeflow pipeline may not reach the bucket."""
  if not conversion.is_local(config.csv_dir):
    logging.info("CSV %s is remote: its summary is checked when the pipeline runs",
                 config.csv_dir)
    return
  config.check_csv(conversion.read_summary(config.csv_dir))


def create_pipeline(config: PipelineConfig) -> tfx.dsl.Pipeline:
  check_csv(config)
  metadata = (tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)
              if config.metadata_path else None)
  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config.pipeline_root,
      components=create_components(config),
      enable_cache=config.enable_cache,
      metadata_connection_config=metadata,
      beam_pipeline_args=list(config.beam_pipeline_args))
