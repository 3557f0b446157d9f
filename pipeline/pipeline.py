"""`create_pipeline`: CSV rows -> tf.Examples -> statistics, schema, validation ->
transformed features -> trained BST -> evaluation and blessing -> pushed model.

Data flow, one folder (artifact) per component under the pipeline root:
    CsvExampleGen -> StatisticsGen -> ExampleValidator (against ImportSchemaGen's curated
    schema) -> AnomalyGate -> Transform (transform.preprocessing.preprocessing_fn)
    -> Trainer (trainer.task.run_fn) -> Evaluator (TFMA, baseline: the latest blessed
    model) -> Pusher (blessed models only, to config.serving_model_dir)
    Trainer -> RankingEvaluator (HR@K, NDCG@K of the next movie, beside popularity)
"""
from typing import List

from tfx import v1 as tfx
from tfx.dsl.components.base import base_node
from tfx.proto import example_gen_pb2

from components.anomaly_gate import AnomalyGate
from components.ranking_evaluator import RankingEvaluator
from movielens import constants as c
from pipeline import evaluation
from pipeline.config import PipelineConfig

PREPROCESSING_FN = "transform.preprocessing.preprocessing_fn"
RUN_FN = "trainer.task.run_fn"
BASELINE_RESOLVER = "latest_blessed_model_resolver"


def _input_config() -> example_gen_pb2.Input:
  """The conversion already split the data: train/ and eval/ become ExampleGen's splits."""
  return tfx.proto.Input(splits=[
      tfx.proto.Input.Split(name=split, pattern=f"{split}/*") for split in c.SPLITS])


def create_components(config: PipelineConfig) -> List[base_node.BaseNode]:
  example_gen = tfx.components.CsvExampleGen(input_base=config.csv_dir,
                                             input_config=_input_config())
  statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
  schema_gen = tfx.components.ImportSchemaGen(schema_file=config.schema_path)
  example_validator = tfx.components.ExampleValidator(
      statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
  anomaly_gate = AnomalyGate(anomalies=example_validator.outputs["anomalies"])

  transform = tfx.components.Transform(
      examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
      preprocessing_fn=PREPROCESSING_FN, custom_config=config.transform_custom_config(),
      disable_statistics=not config.transform_statistics)
  transform.add_upstream_node(anomaly_gate)  # no Transform, hence no training, on bad data

  trainer = tfx.components.Trainer(
      run_fn=RUN_FN,
      examples=transform.outputs["transformed_examples"],
      transform_graph=transform.outputs["transform_graph"],
      train_args=tfx.proto.TrainArgs(num_steps=config.train_steps),
      eval_args=tfx.proto.EvalArgs(num_steps=config.eval_steps),
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
          transform, trainer, baseline_model, evaluator, pusher, ranking_evaluator]


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
