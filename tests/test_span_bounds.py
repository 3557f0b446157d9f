"""Span mode of the conversion: the ratings cut by time, one span per conversion."""
import pandas as pd
import pytest

from movielens import constants as c
from movielens.conversion import ConversionConfig
from movielens.conversion import span_bounds
from movielens.conversion.beam_pipeline import CountRatingsPerTimestamp
from tests.conftest import read_split, run_small_conversion


def _config(**settings) -> ConversionConfig:
  return ConversionConfig(input_dir="", output_dir="", **settings)


def test_bounds_by_count_cut_equal_counts_and_keep_ties_together():
  pairs = [(t, 1) for t in range(100, 110)] + [(110, 5)]  # 15 ratings, 5 at t=110
  bounds = [span_bounds.span_bounds(pairs, _config(spans=3, span=k)) for k in range(3)]
  assert [b.start for b in bounds] == [100, 105, 110]
  assert [b.end for b in bounds] == [105, 110, None]
  assert [b.ratings for b in bounds] == [5, 5, 5]
  assert all(b.num_spans == 3 for b in bounds)


def test_bounds_by_days_are_calendar_periods():
  day = span_bounds.DAY_SECONDS
  pairs = [(0, 3), (day // 2, 1), (2 * day + 1, 2)]
  first, second = (span_bounds.span_bounds(pairs, _config(span_days=2, span=k)) for k in (0, 1))
  assert (first.start, first.end, first.ratings) == (0, 2 * day, 4)
  assert (second.start, second.end, second.ratings, second.num_spans) == (2 * day, None, 2, 2)


def test_validation_is_the_spans_last_ratings():
  bounds = span_bounds.span_bounds([(t, 1) for t in range(100)],
                             _config(span_days=1000, span=0, validation_fraction=0.1))
  assert bounds.validation_start == 90
  assert [bounds.split_of(t) for t in (0, 89, 90, 99)] == [
      c.TRAIN_SPLIT, c.TRAIN_SPLIT, c.VALIDATION_SPLIT, c.VALIDATION_SPLIT]


def test_ratings_per_timestamp_merge_exactly_across_bundles():
  count = CountRatingsPerTimestamp()
  def bundle(times):
    accumulator = count.create_accumulator()
    for t in times:
      accumulator = count.add_input(accumulator, (1, (t, 0, 7, 4)))  # (user, Event)
    return accumulator
  merged = count.merge_accumulators([bundle([5, 3, 5]), bundle([]), bundle([3, 9])])
  assert count.extract_output(merged) == [(3, 2), (5, 2), (9, 1)]


@pytest.mark.parametrize("settings,message", [
    (dict(spans=3, span=3), "span must be one of 0..2"),
    (dict(spans=3), "span must be one of"),
    (dict(spans=2, span_days=7, span=0), "exclude each other"),
    (dict(span=0), "only in span mode"),
    (dict(spans=2, span=0, time_cutoff=2, validation_time_cutoff=1), "exclude each other"),
])
def test_span_settings_are_checked(settings, message):
  with pytest.raises(ValueError, match=message):
    _config(**settings).validate()


@pytest.fixture(scope="module")
def three_spans(small_movielens, tmp_path_factory):
  root = str(tmp_path_factory.mktemp("spans"))
  summaries = [run_small_conversion(small_movielens, c.span_dir(root, k), spans=3, span=k)
               for k in range(3)]
  return root, summaries


def _rows(folder, splits):
  return pd.concat([read_split(folder, split).assign(split=split) for split in splits],
                   ignore_index=True)


def test_spans_partition_the_ratings_in_time_and_keep_cross_span_history(
    three_spans, small_movielens, tmp_path):
  root, summaries = three_spans
  by_span = [_rows(c.span_dir(root, k), c.SPAN_SPLITS) for k in range(3)]
  run_small_conversion(small_movielens, str(tmp_path))
  whole = _rows(str(tmp_path), c.SPLITS)
  columns = list(c.CSV_COLUMNS)
  # Every rating is in exactly one span, with the same history as in the one-span
  # conversion: histories reach back across spans.
  spanned = pd.concat(by_span, ignore_index=True)[columns]
  assert len(spanned) == len(whole)
  assert (spanned.sort_values(columns).reset_index(drop=True)
          .equals(whole[columns].sort_values(columns).reset_index(drop=True)))
  assert any(len(row.split()) == c.HISTORY_LENGTH
             for row in by_span[2][c.HISTORY_MOVIE_IDS])
  times = [rows[c.TARGET_TIMESTAMP].astype(int) for rows in by_span]
  for earlier, later in zip(times, times[1:]):
    assert earlier.max() < later.min()
  for rows in by_span:  # train, then validation, in time
    split_times = rows[c.TARGET_TIMESTAMP].astype(int)
    assert (split_times[rows.split == c.TRAIN_SPLIT].max()
            < split_times[rows.split == c.VALIDATION_SPLIT].min())
  counts = [sum(s["rows"].values()) for s in summaries]
  assert max(counts) - min(counts) <= 0.05 * sum(counts)
  assert [s["span"]["bounds"]["span"] for s in summaries] == [0, 1, 2]


def test_a_span_past_the_last_is_refused_by_name(small_movielens, tmp_path):
  with pytest.raises(ValueError, match="span 40 does not exist: the ratings make"):
    run_small_conversion(small_movielens, str(tmp_path / "s"), span_days=100000, span=40)
