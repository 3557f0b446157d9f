"""The Trainer's executor in span mode: validation is the newest training span's last part.

The Trainer of the run that ingests span k receives the Examples of the spans before it
(pipeline.definition's span resolver), each with a train and a validation split in time
(movielens.conversion.spans). TFX's Trainer would fit on every span's train split and
validate on every span's validation split, so an older span's validation rows would be
earlier than a newer span's training rows. This executor reads each artifact's span and
hands run_fn, in the FnArgs TFX builds:
    train_files  every span's train split, and the validation split of all but the newest
    eval_files   the newest span's validation split: the latest ratings before span k
so no training row is later than a validation row. Everything else is TFX's GenericExecutor.
"""
from typing import Any, Dict, List

from tfx import types
from tfx.components.trainer import executor as tfx_trainer
from tfx.components.trainer import fn_args_utils
from tfx.types import artifact_utils
from tfx.types import standard_component_specs as keys
from tfx.utils import io_utils

from movielens import constants as c

SPAN_PROPERTY = "span"  # set by ExampleGen on every Examples artifact


def span_of(examples: types.Artifact) -> int:
  return examples.get_int_custom_property(SPAN_PROPERTY) or int(examples.span or 0)


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


class Executor(tfx_trainer.GenericExecutor):
  """TFX's GenericExecutor with the span routing above."""

  def _GetFnArgs(self, input_dict: Dict[str, List[types.Artifact]],
                 output_dict: Dict[str, List[types.Artifact]],
                 exec_properties: Dict[str, Any]) -> fn_args_utils.FnArgs:
    fn_args = super()._GetFnArgs(input_dict, output_dict, exec_properties)
    files = route_by_span(input_dict[keys.EXAMPLES_KEY])
    fn_args.train_files = files[c.TRAIN_SPLIT]
    fn_args.eval_files = files[c.VALIDATION_SPLIT]
    return fn_args
