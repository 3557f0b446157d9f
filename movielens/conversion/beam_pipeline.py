"""The conversion's Beam transforms: ratings.dat -> parsed events -> CSV shards.

Runs on any Beam runner. users.dat and movies.dat are small catalogs, parsed at launch
(`run.parse_catalogs`) and handed to the transforms; ratings.dat is read and parsed in
Beam, in chunks of lines spread over the workers, grouped by user, and written as one
shard per (split, user id modulo the shard count), users in id order.
"""
import collections
import dataclasses
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from movielens import constants as c
from movielens import parse
from movielens.conversion import span_bounds
from movielens.conversion import summary
from movielens.conversion.config import ConversionConfig
from movielens.conversion.splits import event_splits

_CHUNK_LINES = 20_000  # ratings.dat lines per Beam element before parsing
SKIPPED_TAG = "skipped"

# (timestamp, line_number, movie_id, rating): a parsed rating, compact for shuffling.
Event = Tuple[int, int, int, int]


def skip_record(error: parse.MovieLensFormatError) -> summary.SkipRecord:
  return (error.file_name, error.line_number, error.reason.value, str(error))


def read_line_chunks(path: str) -> Iterator[List[Tuple[int, str]]]:
  """Numbered lines of a file in chunks, so parsing can spread over workers."""
  chunk: List[Tuple[int, str]] = []
  for numbered_line in parse.read_lines(path, FileSystems.open):
    chunk.append(numbered_line)
    if len(chunk) == _CHUNK_LINES:
      yield chunk
      chunk = []
  if chunk:
    yield chunk


class ParseRatings(beam.DoFn):
  """Parses and checks ratings; emits (user_id, Event). Bad lines raise or go to `skipped`."""

  def __init__(self, path: str, users: Dict[int, parse.User],
               movies: Dict[int, parse.Movie], strict: bool,
               skipped_ids: Dict[str, Dict[int, str]]):
    self._path = path
    self._users = users
    self._movies = movies
    self._strict = strict
    self._skipped_ids = skipped_ids  # parse.SkipReport.skipped_ids of the catalogs

  def process(self, chunk: List[Tuple[int, str]]):
    for line_number, line in chunk:
      try:
        rating = parse.parse_rating(line, self._path, line_number)
        parse.check_rating_references(rating, self._users, self._movies, self._path,
                                      self._skipped_ids)
      except parse.MovieLensFormatError as error:
        if self._strict:
          raise
        yield beam.pvalue.TaggedOutput(SKIPPED_TAG, skip_record(error))
        continue
      yield rating.user_id, (rating.timestamp, line_number, rating.movie_id, rating.rating)


def _join(values: Sequence[str]) -> str:
  return c.HISTORY_SEPARATOR.join(values)


def user_rows(user: parse.User, events: Sequence[Event], config: ConversionConfig,
              bounds: Optional[span_bounds.SpanBounds] = None) -> Dict[str, List[str]]:
  """CSV lines of one user's events, by split. `events` must be in chronological order.
  In span mode (`bounds`) only the events in the span have rows; every earlier event is
  in their histories."""
  timestamps = [e[0] for e in events]
  splits = (span_bounds.event_splits(timestamps, bounds) if bounds
            else event_splits(timestamps, config))
  movie_ids = [str(e[2]) for e in events]
  ratings = [str(e[3]) for e in events]
  timestamps = [str(e[0]) for e in events]
  prefix = f"{user.user_id},{user.sex},{user.age_group},{user.occupation}"
  rows: Dict[str, List[str]] = {split: [] for split in config.splits}
  for i, (timestamp, _, movie_id, rating) in enumerate(events):
    if splits[i] is None:
      continue
    start = max(0, i - config.history_length)
    rows[splits[i]].append(
        f"{prefix},{movie_id},{timestamp},{rating},{_join(movie_ids[start:i])},"
        f"{_join(ratings[start:i])},{_join(timestamps[start:i])}")
  return rows


class BuildUserRows(beam.DoFn):
  """Orders one user's events, drops duplicates, splits them and formats CSV rows.

  Emits ((split, shard), (user_id, text)) per split with rows, plus one stats record
  (shard, {split: rows}, target movie ids, ratings kept) for the summary.
  """
  STATS_TAG = "stats"

  def __init__(self, path: str, users: Dict[int, parse.User], config: ConversionConfig):
    self._path = path
    self._users = users
    self._config = config

  def process(self, element: Tuple[int, Iterable[Event]], span=None):
    user_id, events = element
    bounds = span_bounds.SpanBounds(**span["bounds"]) if span and span["bounds"] else None
    if self._config.span_mode and bounds is None:
      return  # the span does not exist: summary.json says why, and nothing is written
    ratings = [parse.Rating(user_id, movie_id, rating, timestamp, line_number)
               for timestamp, line_number, movie_id, rating in events]
    kept, duplicates = parse.split_duplicate_ratings(ratings, self._path)
    for error in duplicates:
      if self._config.strict:
        raise error
      yield beam.pvalue.TaggedOutput(SKIPPED_TAG, skip_record(error))
    ordered = sorted((r.timestamp, r.line_number, r.movie_id, r.rating) for r in kept)
    rows = user_rows(self._users[user_id], ordered, self._config, bounds)
    shard = user_id % self._config.num_shards
    for split, lines in rows.items():
      if lines:
        yield (split, shard), (user_id, "\n".join(lines))
    yield beam.pvalue.TaggedOutput(self.STATS_TAG, (
        shard, {split: len(lines) for split, lines in rows.items()},
        [int(line.split(",", 5)[4]) for lines in rows.values() for line in lines],
        len(ordered)))


class SummarizeRows(beam.CombineFn):
  """Rows built per split and per shard of each split, users with rows, distinct target
  movies, and the ratings that reached BuildUserRows: what the shards must hold once
  written, and what ratings.dat must account for (run.check_shards, run.check_ratings)."""

  def __init__(self, splits: Sequence[str], num_shards: int):
    self._splits = tuple(splits)
    self._num_shards = num_shards

  def create_accumulator(self):
    return ({split: [0] * self._num_shards for split in self._splits},
            {"users": 0, "ratings": 0}, set())

  def add_input(self, accumulator, stats):
    shard_rows, totals, movies = accumulator
    shard, split_rows, movie_ids, ratings = stats
    for split, rows in split_rows.items():
      shard_rows[split][shard] += rows
    totals["users"] += bool(movie_ids)  # a user with rows
    totals["ratings"] += ratings
    movies.update(movie_ids)
    return accumulator

  def merge_accumulators(self, accumulators):
    merged_rows, merged_totals, merged_movies = self.create_accumulator()
    for shard_rows, totals, movies in accumulators:
      for split, rows in shard_rows.items():
        merged_rows[split] = [a + b for a, b in zip(merged_rows[split], rows)]
      for key, value in totals.items():
        merged_totals[key] += value
      merged_movies |= movies
    return merged_rows, merged_totals, merged_movies

  def extract_output(self, accumulator):
    shard_rows, totals, movies = accumulator
    return {"rows": {split: sum(shard_rows[split]) for split in self._splits},
            "shard_rows": shard_rows, "movies": len(movies), **totals}


class CountRatingsPerTimestamp(beam.CombineFn):
  """{timestamp: ratings at it} over every parsed rating, for the span bounds: one
  dictionary per bundle, merged, rather than one shuffled element per distinct time."""

  def create_accumulator(self) -> collections.Counter:
    return collections.Counter()

  def add_input(self, accumulator: collections.Counter, user_event) -> collections.Counter:
    accumulator[user_event[1][0]] += 1
    return accumulator

  def merge_accumulators(self, accumulators) -> collections.Counter:
    accumulators = iter(accumulators)
    merged = next(accumulators)
    for accumulator in accumulators:
      merged.update(accumulator)
    return merged

  def extract_output(self, accumulator: collections.Counter) -> List[Tuple[int, int]]:
    return sorted(accumulator.items())


def shard_name(split: str, shard: int, num_shards: int) -> str:
  """A shard's file, relative to the conversion's folder (as summary.json's `files`)."""
  return f"{split}/part-{shard:05d}-of-{num_shards:05d}.csv"


def shard_path(output_dir: str, split: str, shard: int, num_shards: int) -> str:
  return FileSystems.join(output_dir, shard_name(split, shard, num_shards))


def write_shard(element, output_dir: str, num_shards: int) -> str:
  """Writes one shard: the header, then its users' rows in user-id order."""
  (split, shard), user_blocks = element
  path = shard_path(output_dir, split, shard, num_shards)
  with FileSystems.create(path) as f:
    f.write((",".join(c.CSV_COLUMNS) + "\n").encode("utf-8"))
    for _, text in sorted(user_blocks):
      f.write(text.encode("utf-8"))
      f.write(b"\n")
  return path


def span_summary(timestamp_counts, config: ConversionConfig) -> Dict[str, object]:
  """The span's bounds, or why it has none: recorded in summary.json (run_conversion
  raises on the error after the pipeline, so no exception crosses the runner)."""
  try:
    return {"bounds": dataclasses.asdict(span_bounds.span_bounds(timestamp_counts, config)),
            "error": None}
  except ValueError as error:
    return {"bounds": None, "error": str(error)}


def build_pipeline(pipeline: beam.Pipeline, config: ConversionConfig,
                   users: Dict[int, parse.User], movies: Dict[int, parse.Movie],
                   catalog_report: parse.SkipReport, header: Dict[str, object]) -> None:
  """Adds the ratings conversion to `pipeline`; users and movies are already parsed, their
  skipped lines in `catalog_report`."""
  launch_skipped = [skip_record(error) for error in catalog_report.errors]
  ratings_path = FileSystems.join(config.input_dir, c.RATINGS_FILE)
  parsed = (
      pipeline
      | "RatingsPath" >> beam.Create([ratings_path])
      | "ReadRatingChunks" >> beam.FlatMap(read_line_chunks)
      | "SpreadChunks" >> beam.Reshuffle()
      | "ParseRatings" >> beam.ParDo(
          ParseRatings(ratings_path, users, movies, config.strict,
                       catalog_report.skipped_ids)).with_outputs(
              SKIPPED_TAG, main="ratings"))
  span = None
  if config.span_mode:
    span = beam.pvalue.AsSingleton(
        parsed.ratings
        | "RatingsPerTimestamp" >> beam.CombineGlobally(CountRatingsPerTimestamp())
        | "SpanBounds" >> beam.Map(span_summary, config))
  built = (
      parsed.ratings
      | "GroupByUser" >> beam.GroupByKey()
      | "BuildUserRows" >> beam.ParDo(BuildUserRows(ratings_path, users, config),
                                      span).with_outputs(
          SKIPPED_TAG, BuildUserRows.STATS_TAG, main="rows"))

  # Every shard of every split is written, even when empty, so the file set is fixed.
  all_shards = [((split, shard), None) for split in config.splits
                for shard in range(config.num_shards)]
  shards_written = (
      (built.rows, pipeline | "AllShards" >> beam.Create(all_shards))
      | "MergeShardKeys" >> beam.Flatten()
      | "GroupByShard" >> beam.GroupByKey()
      | "DropPlaceholders" >> beam.MapTuple(
          lambda key, blocks: (key, [b for b in blocks if b is not None]))
      | "WriteShards" >> beam.Map(write_shard, config.output_dir, config.num_shards)
      | "AllShardsWritten" >> beam.combiners.Count.Globally())

  rows_summary = (
      built[BuildUserRows.STATS_TAG]
      | "SummarizeRows" >> beam.CombineGlobally(
          SummarizeRows(config.splits, config.num_shards)))
  beam_skipped = (
      (parsed[SKIPPED_TAG], built[SKIPPED_TAG])
      | "MergeSkipped" >> beam.Flatten()
      | "ListSkipped" >> beam.combiners.ToList())
  _ = (
      shards_written
      | "WriteSummary" >> beam.Map(
          summary.write_summary, beam.pvalue.AsSingleton(rows_summary),
          beam.pvalue.AsSingleton(beam_skipped), launch_skipped, header, config.output_dir,
          span))
