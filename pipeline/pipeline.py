"""`create_pipeline`: CSV rows -> tf.Examples -> statistics, schema, validation ->
transformed features -> trained BST.

Data flow, one folder (artifact) per step under the pipeline root:
    CsvExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator
                  -> Transform (transform.preprocessing.preprocessing_fn)
                  -> Trainer (trainer.task.run_fn)
"""
from tfx import v1 as tfx
from tfx.proto import example_gen_pb2

from movielens import constants as c
from pipeline.config import PipelineConfig

PREPROCESSING_FN = "transform.preprocessing.preprocessing_fn"
RUN_FN = "trainer.task.run_fn"


def _input_config() -> example_gen_pb2.Input:
  """The conversion already split the data: train/ and eval/ become ExampleGen's splits."""
  return tfx.proto.Input(splits=[
      tfx.proto.Input.Split(name=split, pattern=f"{split}/*") for split in c.SPLITS])


def create_components(config: PipelineConfig):
  example_gen = tfx.components.CsvExampleGen(input_base=config.csv_dir,
                                             input_config=_input_config())
  statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
  schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"],
                                        infer_feature_shape=False)
  example_validator = tfx.components.ExampleValidator(
      statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
  transform = tfx.components.Transform(
      examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
      preprocessing_fn=PREPROCESSING_FN, custom_config=config.transform_custom_config())
  trainer = tfx.components.Trainer(
      run_fn=RUN_FN,
      examples=transform.outputs["transformed_examples"],
      transform_graph=transform.outputs["transform_graph"],
      schema=transform.outputs["post_transform_schema"],
      train_args=tfx.proto.TrainArgs(num_steps=config.train_steps),
      eval_args=tfx.proto.EvalArgs(num_steps=config.eval_steps),
      custom_config=config.trainer.to_custom_config())
  return [example_gen, statistics_gen, schema_gen, example_validator, transform, trainer]


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
