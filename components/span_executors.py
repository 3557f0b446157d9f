"""Span mode's executors: TFX's StatisticsGen, Transform, Tuner and Trainer, told about
spans (docs/pipeline.md, "Span mode"). StatisticsGen and the Transform's analyzer cache
carry the span of the examples they read, so TFX's span resolvers find them; the Trainer
and the Tuner validate on the newest training span's last part, so no training row is
later than a validation row.
"""
from typing import Any, Dict, List

from tfx import types
from tfx import v1 as tfx
from tfx.components.statistics_gen import executor as tfx_statistics_gen
from tfx.components.transform import executor as tfx_transform
from tfx.components.trainer import executor as tfx_trainer
from tfx.components.trainer import fn_args_utils
from tfx.components.tuner import executor as tfx_tuner
from tfx.components.util import udf_utils
from tfx.dsl.components.base import executor_spec
from tfx.types import artifact_utils
from tfx.types import standard_component_specs as keys
from tfx.utils import io_utils

from movielens import constants as c

SPAN_PROPERTY = "span"  # set by ExampleGen on every Examples artifact


def span_of(artifact: types.Artifact) -> int:
  return artifact.get_int_custom_property(SPAN_PROPERTY)


class StatisticsExecutor(tfx_statistics_gen.Executor):
  """TFX's StatisticsGen executor; the statistics carry their examples' span."""

  def Do(self, input_dict, output_dict, exec_properties):
    super().Do(input_dict, output_dict, exec_properties)
    examples = artifact_utils.get_single_instance(input_dict[keys.EXAMPLES_KEY])
    statistics = artifact_utils.get_single_instance(output_dict[keys.STATISTICS_KEY])
    statistics.set_int_custom_property(SPAN_PROPERTY, span_of(examples))


class TransformExecutor(tfx_transform.Executor):
  """TFX's Transform executor; its analyzer cache carries the newest span analyzed."""

  def Do(self, input_dict, output_dict, exec_properties):
    super().Do(input_dict, output_dict, exec_properties)
    cache = output_dict.get(keys.UPDATED_ANALYZER_CACHE_KEY)
    if cache:
      artifact_utils.get_single_instance(cache).set_int_custom_property(
          SPAN_PROPERTY, max(span_of(e) for e in input_dict[keys.EXAMPLES_KEY]))


def split_files(examples: List[types.Artifact], split: str) -> List[str]:
  return [io_utils.all_files_pattern(uri)
          for uri in artifact_utils.get_split_uris(examples, split)]


def route_by_span(examples: List[types.Artifact]) -> Dict[str, List[str]]:
  """{"train": file patterns, "validation": file patterns} of the spans in `examples`."""
  ordered = sorted(examples, key=span_of)
  return {
      c.TRAIN_SPLIT: (split_files(ordered, c.TRAIN_SPLIT)
                      + split_files(ordered[:-1], c.VALIDATION_SPLIT)),
      c.VALIDATION_SPLIT: split_files(ordered[-1:], c.VALIDATION_SPLIT),
  }


def routed(fn_args: fn_args_utils.FnArgs, examples: List[types.Artifact]
           ) -> fn_args_utils.FnArgs:
  """`fn_args` with its train and eval files routed by span (route_by_span)."""
  files = route_by_span(examples)
  fn_args.train_files = files[c.TRAIN_SPLIT]
  fn_args.eval_files = files[c.VALIDATION_SPLIT]
  return fn_args


class TrainerExecutor(tfx_trainer.GenericExecutor):
  """TFX's GenericExecutor with the span routing above."""

  def _GetFnArgs(self, input_dict: Dict[str, List[types.Artifact]],
                 output_dict: Dict[str, List[types.Artifact]],
                 exec_properties: Dict[str, Any]) -> fn_args_utils.FnArgs:
    return routed(super()._GetFnArgs(input_dict, output_dict, exec_properties),
                  input_dict[keys.EXAMPLES_KEY])


class TunerExecutor(tfx_tuner.Executor):
  """TFX's Tuner executor (its `search`, step by step) with the span routing above."""

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]],
         exec_properties: Dict[str, Any]) -> None:
    if tfx_tuner.get_tune_args(exec_properties):
      raise ValueError("TuneArgs is not supported by this Tuner's Executor.")
    fn_args = routed(fn_args_utils.get_common_fn_args(input_dict, exec_properties,
                                                      self._get_tmp_dir()),
                     input_dict[keys.EXAMPLES_KEY])
    result = udf_utils.get_fn(exec_properties, "tuner_fn")(fn_args)
    result.tuner.search_space_summary()
    result.tuner.search(**result.fit_kwargs)
    result.tuner.results_summary()
    tfx_tuner.write_best_hyperparameters(result.tuner, output_dict)


class StatisticsGen(tfx.components.StatisticsGen):
  """TFX's StatisticsGen, run by StatisticsExecutor."""
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(StatisticsExecutor)


class Transform(tfx.components.Transform):
  """TFX's Transform, run by TransformExecutor."""
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(TransformExecutor)


class Tuner(tfx.components.Tuner):
  """TFX's Tuner, run by TunerExecutor."""
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(TunerExecutor)


class Trainer(tfx.components.Trainer):
  """TFX's Trainer, run by TrainerExecutor."""
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(TrainerExecutor)
