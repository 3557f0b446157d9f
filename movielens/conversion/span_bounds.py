"""Span mode: the ratings cut by time into spans, as production data arrives.

A span is a period of time: `spans` N cuts the ratings into N periods holding about equal
rating counts (ties at a boundary stay together), `span_days` D into calendar periods of
D days from the first rating. The conversion of span k writes the ratings of span k only,
each with its history reaching back across every earlier span, in two splits by time:
train, then validation (the span's last `validation_fraction` of ratings). The pipeline
run that ingests span k evaluates on all of it; later runs train on it (pipeline.spans).

The bounds are computed from every rating's timestamp, in exact integer arithmetic, so
the conversion of each span cuts the same boundaries whatever the runner.
"""
import bisect
import dataclasses
from typing import Iterable, List, Optional, Sequence, Tuple

from movielens import constants as c
from movielens.conversion.config import ConversionConfig

DAY_SECONDS = 86_400


@dataclasses.dataclass(frozen=True)
class SpanBounds:
  """Span `span` of `num_spans`: ratings at times [start, end) (end None: open), those
  from `validation_start` on in validation."""
  span: int
  num_spans: int
  start: int
  end: Optional[int]
  validation_start: int
  ratings: int

  def split_of(self, timestamp: int) -> Optional[str]:
    """The split of a rating at `timestamp`, None when it is outside this span."""
    if timestamp < self.start or (self.end is not None and timestamp >= self.end):
      return None
    return c.VALIDATION_SPLIT if timestamp >= self.validation_start else c.TRAIN_SPLIT


def _starts_by_count(times: Sequence[int], cumulative: Sequence[int], spans: int) -> List[int]:
  """The first time of each of `spans` spans of about equal rating counts."""
  total = cumulative[-1]
  starts = [times[0]]
  for j in range(1, spans):
    # The first time with at least j/spans of the ratings before it.
    index = bisect.bisect_left(cumulative, -(-j * total // spans))
    starts.append(times[min(index + 1, len(times) - 1)])
  return starts


def _starts_by_days(times: Sequence[int], days: int) -> List[int]:
  width = days * DAY_SECONDS
  return [times[0] + j * width for j in range((times[-1] - times[0]) // width + 1)]


def span_bounds(timestamp_counts: Iterable[Tuple[int, int]], config: ConversionConfig
                ) -> SpanBounds:
  """The bounds of `config.span` from (timestamp, ratings at it) pairs of every rating.

  Raises ValueError when the span does not exist or holds no rating.
  """
  pairs = sorted(timestamp_counts)
  if not pairs:
    raise ValueError("no ratings to cut into spans")
  times = [t for t, _ in pairs]
  cumulative, running = [], 0
  for _, count in pairs:
    running += count
    cumulative.append(running)
  starts = (_starts_by_days(times, config.span_days) if config.span_days
            else _starts_by_count(times, cumulative, config.spans))
  if config.span >= len(starts):
    raise ValueError(f"span {config.span} does not exist: the ratings make {len(starts)} "
                     f"spans (0..{len(starts) - 1})")
  start = starts[config.span]
  end = starts[config.span + 1] if config.span + 1 < len(starts) else None
  first = bisect.bisect_left(times, start)
  last = len(times) if end is None else bisect.bisect_left(times, end)
  before = cumulative[first - 1] if first else 0
  ratings = (cumulative[last - 1] if last else 0) - before
  if not ratings:
    raise ValueError(f"span {config.span} ({start} to {end}) holds no rating: choose "
                     "longer spans")
  # Validation: the span's last validation_fraction of ratings, at least one time step in.
  train_ratings = ratings - max(1, round(ratings * config.validation_fraction))
  index = bisect.bisect_left(cumulative, before + train_ratings + 1, first, last)
  validation_start = times[max(index, first + 1)] if last - first > 1 else end or start + 1
  return SpanBounds(span=config.span, num_spans=len(starts), start=start, end=end,
                    validation_start=validation_start, ratings=ratings)


def event_splits(timestamps: Sequence[int], bounds: SpanBounds) -> List[Optional[str]]:
  """The split of each of one user's events in the span, None outside it."""
  return [bounds.split_of(t) for t in timestamps]
