"""Which split each of a user's events goes to.

Each user's events are split chronologically: the last `eval_fraction` go to eval/, the
`validation_fraction` just before them to validation/, the rest to train/ (or, by time:
events at or after `time_cutoff` go to eval/, those at or after `validation_time_cutoff`
before it to validation/). So a train row never sees a validation or eval event, and a
validation row never an eval event; every row's history holds everything that happened
before it, as it would at serving time. Validation serves every model choice (early
stopping, tuning); eval only the gate and the reported numbers.
"""
import math
from typing import List, Sequence, Tuple

from movielens import constants as c
from movielens.conversion.config import ConversionConfig


def split_sizes(num_events: int, eval_fraction: float, validation_fraction: float
                ) -> Tuple[int, int, int]:
  """(train, validation, eval) event counts of one user, in that order in time.

  Eval gets ceil(eval_fraction * n), validation ceil(validation_fraction * n) of what is
  left, and train keeps at least one event (so a user's first rating always trains).
  """
  num_eval = max(0, min(num_events - 1, math.ceil(num_events * eval_fraction)))
  num_validation = max(0, min(num_events - num_eval - 1,
                              math.ceil(num_events * validation_fraction)))
  return num_events - num_eval - num_validation, num_validation, num_eval


def event_splits(timestamps: Sequence[int], config: ConversionConfig) -> List[str]:
  """The split of each of one user's events, given in chronological order."""
  if config.time_cutoff is None:
    num_train, num_validation, num_eval = split_sizes(
        len(timestamps), config.eval_fraction, config.validation_fraction)
    return ([c.TRAIN_SPLIT] * num_train + [c.VALIDATION_SPLIT] * num_validation
            + [c.EVAL_SPLIT] * num_eval)
  return [c.EVAL_SPLIT if t >= config.time_cutoff
          else c.VALIDATION_SPLIT if t >= config.validation_time_cutoff
          else c.TRAIN_SPLIT for t in timestamps]
