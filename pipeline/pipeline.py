"""`create_pipeline`: CSV rows -> tf.Examples -> statistics, schema, validation ->
transformed features -> trained BST -> evaluation and blessing -> pushed model.

Data flow, one folder (artifact) per component under the pipeline root:
    CsvExampleGen -> StatisticsGen -> ExampleValidator (against ImportSchemaGen's curated
    schema) -> AnomalyGate -> Transform (transform.preprocessing.preprocessing_fn)
    -> [Tuner (trainer.tuning.tuner_fn), only with tuning_trials]
    -> Trainer (trainer.task.run_fn) -> Evaluator (TFMA, baseline: the latest blessed
    model) -> Pusher (blessed models only, to config.serving_model_dir)
    Trainer -> RankingEvaluator (HR@K, NDCG@K of the next movie, beside popularity)

The splits have one job each: the Transform's analyzers see train only; the Trainer fits
on train and chooses (early stopping, the kept epoch; the Tuner: hyperparameters) on
validation; eval is read only by the Evaluator, which gates on it, and by the
RankingEvaluator, which reports on it.
"""
from typing import List

from tfx import v1 as tfx
from tfx.dsl.components.base import base_node
from tfx.proto import example_gen_pb2
from tfx.proto import transform_pb2

from components.anomaly_gate import AnomalyGate
from components.ranking_evaluator import RankingEvaluator
from movielens import constants as c
from pipeline import evaluation
from pipeline.config import PipelineConfig
from trainer import tuning

PREPROCESSING_FN = "transform.preprocessing.preprocessing_fn"
RUN_FN = "trainer.task.run_fn"
TUNER_FN = "trainer.tuning.tuner_fn"
BASELINE_RESOLVER = "latest_blessed_model_resolver"


def _input_config() -> example_gen_pb2.Input:
  """The conversion already split the data: its folders become ExampleGen's splits."""
  return tfx.proto.Input(splits=[
      tfx.proto.Input.Split(name=split, pattern=f"{split}/*") for split in c.SPLITS])


def create_components(config: PipelineConfig) -> List[base_node.BaseNode]:
  example_gen = tfx.components.CsvExampleGen(input_base=config.csv_dir,
                                             input_config=_input_config())
  statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
  schema_gen = tfx.components.ImportSchemaGen(schema_file=config.schema_path)
  example_validator = tfx.components.ExampleValidator(
      statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
  anomaly_gate = AnomalyGate(anomalies=example_validator.outputs["anomalies"],
                             statistics=statistics_gen.outputs["statistics"],
                             csv_dir=config.csv_dir)

  transform = tfx.components.Transform(
      examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
      preprocessing_fn=PREPROCESSING_FN, custom_config=config.transform_custom_config(),
      # Eval is not transformed: the Evaluator and the RankingEvaluator read it raw,
      # through the model's own Transform graph.
      splits_config=transform_pb2.SplitsConfig(
          analyze=[c.TRAIN_SPLIT], transform=[c.TRAIN_SPLIT, c.VALIDATION_SPLIT]),
      disable_statistics=not config.transform_statistics)
  transform.add_upstream_node(anomaly_gate)  # no Transform, hence no training, on bad data

  train_args = tfx.proto.TrainArgs(splits=[c.TRAIN_SPLIT], num_steps=config.train_steps)
  eval_args = tfx.proto.EvalArgs(splits=[c.VALIDATION_SPLIT], num_steps=config.eval_steps)
  tuner = tfx.components.Tuner(
      tuner_fn=TUNER_FN,
      examples=transform.outputs["transformed_examples"],
      transform_graph=transform.outputs["transform_graph"],
      train_args=train_args, eval_args=eval_args,
      custom_config=tuning.tuner_custom_config(config.trainer, config.tuning_trials),
  ) if config.tuning_trials else None
  trainer = tfx.components.Trainer(
      run_fn=RUN_FN,
      examples=transform.outputs["transformed_examples"],
      transform_graph=transform.outputs["transform_graph"],
      hyperparameters=tuner.outputs["best_hyperparameters"] if tuner else None,
      train_args=train_args, eval_args=eval_args,
      custom_config=config.trainer.to_custom_config())

  baseline_model = tfx.dsl.Resolver(
      strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
      model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
      model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
  ).with_id(BASELINE_RESOLVER)
  evaluator = tfx.components.Evaluator(
      examples=example_gen.outputs["examples"],
      example_splits=[c.EVAL_SPLIT],
      model=trainer.outputs["model"],
      baseline_model=baseline_model.outputs["model"],
      eval_config=evaluation.eval_config(config.gate))

  pusher = tfx.components.Pusher(
      model=trainer.outputs["model"],
      model_blessing=evaluator.outputs["blessing"],
      push_destination=tfx.proto.PushDestination(
          filesystem=tfx.proto.PushDestination.Filesystem(
              base_directory=config.serving_model_dir)))
  ranking_evaluator = RankingEvaluator(
      examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
      transform_graph=transform.outputs["transform_graph"],
      negatives=config.ranking.negatives, k=config.ranking.k, seed=config.ranking.seed)
  return [example_gen, statistics_gen, schema_gen, example_validator, anomaly_gate,
          transform] + ([tuner] if tuner else []) + [
              trainer, baseline_model, evaluator, pusher, ranking_evaluator]


def create_pipeline(config: PipelineConfig) -> tfx.dsl.Pipeline:
  metadata = (tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)
              if config.metadata_path else None)
  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config.pipeline_root,
      components=create_components(config),
      enable_cache=config.enable_cache,
      metadata_connection_config=metadata,
      beam_pipeline_args=list(config.beam_pipeline_args))
