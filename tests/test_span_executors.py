"""Span mode's executors route the window's files by span (components.span_executors), no run."""
from tfx.components.trainer import fn_args_utils
from tfx.types import artifact_utils
from tfx.types import standard_artifacts

from components import span_executors
from movielens import constants as c


def _examples(span: int) -> standard_artifacts.Examples:
  examples = standard_artifacts.Examples()
  examples.uri = f"/examples/{span}"
  examples.split_names = artifact_utils.encode_split_names(list(c.SPAN_SPLITS))
  examples.set_int_custom_property(span_executors.SPAN_PROPERTY, span)
  return examples


def test_validation_is_the_newest_spans_last_part_and_the_rest_trains():
  window = [_examples(4), _examples(2), _examples(3)]  # in no particular order
  fn_args = span_executors.routed(fn_args_utils.FnArgs(), window)
  split = lambda span, name: f"/examples/{span}/Split-{name}/*"
  assert fn_args.eval_files == [split(4, c.VALIDATION_SPLIT)]
  assert sorted(fn_args.train_files) == sorted(
      [split(k, c.TRAIN_SPLIT) for k in (2, 3, 4)]
      + [split(k, c.VALIDATION_SPLIT) for k in (2, 3)])
