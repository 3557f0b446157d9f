"""Beam pipeline: a MovieLens directory -> CSV shards that CsvExampleGen reads directly.

One CSV row per rating event: the user's features, the target movie, its rating and
timestamp, and the user's previous `history_length` ratings (movie ids, ratings,
timestamps; oldest first; space-separated). A user's events are ordered by timestamp, ties
by line order in ratings.dat, so the output is deterministic, byte for byte.

Each user's events are split chronologically: the last `eval_fraction` go to eval/, the
`validation_fraction` just before them to validation/, the rest to train/ (or, by time:
events at or after `time_cutoff` go to eval/, those at or after `validation_time_cutoff`
before it to validation/). So a train row never sees a validation or eval event, and a
validation row never an eval event; every row's history holds everything that happened
before it, as it would at serving time. Validation serves every model choice (early
stopping, tuning); eval only the gate and the reported numbers.

Output, under `output_dir`:
    train/part-NNNNN-of-MMMMM.csv   every shard has the header row
    validation/part-NNNNN-of-MMMMM.csv
    eval/part-NNNNN-of-MMMMM.csv
    catalog/movies.csv               movie_id,title,genres: the catalog the model owns
    skipped_lines.txt                file:line: reason: detail, for each skipped line
    summary.json                     rows per split, users, movies, skipped lines, inputs,
                                     and the sha256 of every file above

On a local disk the output is written whole or not at all: into `<output_dir>.partial`,
then moved into place, one conversion at a time (a lock, `<output_dir>.lock`; a second
one waits), so readers never see a half-written or mixed folder, and `is_current`
checks every file against its recorded checksum before the folder is reused.

Runs on any Beam runner: pass the usual pipeline options (`--runner=DataflowRunner ...`);
the default is DirectRunner. users.dat and movies.dat are small catalogs and are parsed at
launch, which also fails fast on a bad line; ratings.dat is read and processed in Beam.
"""
from pipeline import environment  # noqa: F401  (first: this module is a command too)

import argparse
import contextlib
import csv
import dataclasses
import fcntl
import hashlib
import io
import json
import logging
import math
import os
import shutil
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from movielens import constants as c
from movielens import generate
from movielens import parse

_CHUNK_LINES = 20_000  # ratings.dat lines per Beam element before parsing
SKIPPED_TAG = "skipped"

# (timestamp, line_number, movie_id, rating): a parsed rating, compact for shuffling.
Event = Tuple[int, int, int, int]
# (file name, line number, reason, full message) of a skipped line.
SkipRecord = Tuple[str, int, str, str]


@dataclasses.dataclass(frozen=True)
class ConversionConfig:
  """What to convert, where to, and how. Paths may be on any Beam filesystem."""
  input_dir: str
  output_dir: str
  history_length: int = c.HISTORY_LENGTH  # K previous ratings per row (the Transform
                                          # keeps the last W <= K)
  eval_fraction: float = 0.1  # each user's last fraction of events go to eval
  validation_fraction: float = 0.05  # the fraction just before eval goes to validation
  time_cutoff: Optional[int] = None  # instead: events at/after this Unix time go to eval,
  validation_time_cutoff: Optional[int] = None  # and those from this one on to validation
  num_shards: int = 4
  strict: bool = True  # False: skip bad lines, count and list them

  def validate(self) -> None:
    if self.history_length < 1:
      raise ValueError(f"history_length must be at least 1, got {self.history_length}")
    if (self.time_cutoff is None) != (self.validation_time_cutoff is None):
      raise ValueError("time_cutoff and validation_time_cutoff go together: validation is "
                       "the period [validation_time_cutoff, time_cutoff)")
    if self.time_cutoff is None:
      for name in ("eval_fraction", "validation_fraction"):
        if not 0 < getattr(self, name) < 1:
          raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
      if self.eval_fraction + self.validation_fraction >= 1:
        raise ValueError("eval_fraction + validation_fraction must be below 1, got "
                         f"{self.eval_fraction} + {self.validation_fraction}")
    elif not self.validation_time_cutoff < self.time_cutoff:
      raise ValueError(f"validation_time_cutoff ({self.validation_time_cutoff}) must be "
                       f"before time_cutoff ({self.time_cutoff})")
    if self.num_shards < 1:
      raise ValueError(f"num_shards must be at least 1, got {self.num_shards}")

  def settings(self) -> Dict[str, object]:
    """The knobs that shape the output (paths aside), recorded in the summary."""
    return {"history_length": self.history_length, "eval_fraction": self.eval_fraction,
            "validation_fraction": self.validation_fraction,
            "time_cutoff": self.time_cutoff,
            "validation_time_cutoff": self.validation_time_cutoff,
            "num_shards": self.num_shards, "strict": self.strict}


def _path(*parts: str) -> str:
  return FileSystems.join(*parts)


def _skip_record(error: parse.MovieLensFormatError) -> SkipRecord:
  return (error.file_name, error.line_number, error.reason.value, str(error))


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


# --- Reading and parsing ratings.dat -----------------------------------------------------


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
               movies: Dict[int, parse.Movie], strict: bool):
    self._path = path
    self._users = users
    self._movies = movies
    self._strict = strict

  def process(self, chunk: List[Tuple[int, str]]):
    for line_number, line in chunk:
      try:
        rating = parse.parse_rating(line, self._path, line_number)
        parse.check_rating_references(rating, self._users, self._movies, self._path)
      except parse.MovieLensFormatError as error:
        if self._strict:
          raise
        yield beam.pvalue.TaggedOutput(SKIPPED_TAG, _skip_record(error))
        continue
      yield rating.user_id, (rating.timestamp, line_number, rating.movie_id, rating.rating)


# --- One user's events -> CSV rows -------------------------------------------------------


def _join(values: Sequence[str]) -> str:
  return c.HISTORY_SEPARATOR.join(values)


def user_rows(user: parse.User, events: Sequence[Event], config: ConversionConfig
              ) -> Dict[str, List[str]]:
  """CSV lines of one user's events, by split. `events` must be in chronological order."""
  splits = event_splits([e[0] for e in events], config)
  movie_ids = [str(e[2]) for e in events]
  ratings = [str(e[3]) for e in events]
  timestamps = [str(e[0]) for e in events]
  prefix = f"{user.user_id},{user.sex},{user.age_group},{user.occupation}"
  rows: Dict[str, List[str]] = {split: [] for split in c.SPLITS}
  for i, (timestamp, _, movie_id, rating) in enumerate(events):
    start = max(0, i - config.history_length)
    rows[splits[i]].append(
        f"{prefix},{movie_id},{timestamp},{rating},{_join(movie_ids[start:i])},"
        f"{_join(ratings[start:i])},{_join(timestamps[start:i])}")
  return rows


class BuildUserRows(beam.DoFn):
  """Orders one user's events, drops duplicates, splits them and formats CSV rows.

  Emits ((split, shard), (user_id, text)) per split with rows, plus one stats record
  (user_id, {split: rows}, movie ids) for the summary.
  """
  STATS_TAG = "stats"

  def __init__(self, path: str, users: Dict[int, parse.User], config: ConversionConfig):
    self._path = path
    self._users = users
    self._config = config

  def process(self, element: Tuple[int, Iterable[Event]]):
    user_id, events = element
    ratings = [parse.Rating(user_id, movie_id, rating, timestamp, line_number)
               for timestamp, line_number, movie_id, rating in events]
    kept, duplicates = parse.split_duplicate_ratings(ratings, self._path)
    for error in duplicates:
      if self._config.strict:
        raise error
      yield beam.pvalue.TaggedOutput(SKIPPED_TAG, _skip_record(error))
    ordered = sorted((r.timestamp, r.line_number, r.movie_id, r.rating) for r in kept)
    rows = user_rows(self._users[user_id], ordered, self._config)
    shard = user_id % self._config.num_shards
    for split, lines in rows.items():
      if lines:
        yield (split, shard), (user_id, "\n".join(lines))
    yield beam.pvalue.TaggedOutput(self.STATS_TAG, (
        {split: len(lines) for split, lines in rows.items()}, [e[2] for e in ordered]))


class SummarizeRows(beam.CombineFn):
  """Rows per split, users with rows, distinct target movies."""

  def create_accumulator(self):
    return dict({split: 0 for split in c.SPLITS}, users=0), set()

  def add_input(self, accumulator, stats):
    counts, movies = accumulator
    split_rows, movie_ids = stats
    for split, rows in split_rows.items():
      counts[split] += rows
    counts["users"] += 1
    movies.update(movie_ids)
    return counts, movies

  def merge_accumulators(self, accumulators):
    merged_counts, merged_movies = self.create_accumulator()
    for counts, movies in accumulators:
      for key, value in counts.items():
        merged_counts[key] += value
      merged_movies |= movies
    return merged_counts, merged_movies

  def extract_output(self, accumulator):
    counts, movies = accumulator
    return {"rows": {s: counts[s] for s in c.SPLITS}, "users": counts["users"],
            "movies": len(movies)}


def shard_path(output_dir: str, split: str, shard: int, num_shards: int) -> str:
  return _path(output_dir, split, f"part-{shard:05d}-of-{num_shards:05d}.csv")


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


# --- Catalog, summary and input fingerprints ---------------------------------------------


def write_catalog(movies: Dict[int, parse.Movie], output_dir: str) -> None:
  buffer = io.StringIO()
  writer = csv.writer(buffer, lineterminator="\n")
  writer.writerow(c.CATALOG_COLUMNS)
  for movie_id in sorted(movies):
    movie = movies[movie_id]
    writer.writerow((movie.movie_id, movie.title, c.GENRE_SEPARATOR.join(movie.genres)))
  with FileSystems.create(_path(output_dir, c.CATALOG_DIR, c.CATALOG_FILE)) as f:
    f.write(buffer.getvalue().encode("utf-8"))


def file_digest(path: str) -> Dict[str, object]:
  """sha256 and size of a file on any Beam filesystem."""
  digest, size = hashlib.sha256(), 0
  with FileSystems.open(path) as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
      size += len(block)
  return {"sha256": digest.hexdigest(), "bytes": size}


def fingerprint_inputs(input_dir: str) -> Dict[str, Dict[str, object]]:
  """sha256 and size of each input file: tells whether a conversion is stale."""
  return {name: file_digest(_path(input_dir, name)) for name in c.DATA_FILES}


def _relative(path: str, output_dir: str) -> str:
  return path[len(output_dir.rstrip("/")) + 1:]


def output_files(output_dir: str) -> List[str]:
  """The data files a conversion wrote (every shard and the catalog), relative to
  output_dir, as they are on disk now."""
  found = FileSystems.match([_path(output_dir, folder, "*")
                             for folder in (*c.SPLITS, c.CATALOG_DIR)])
  return sorted(_relative(m.path, output_dir) for result in found
                for m in result.metadata_list)


def write_summary(shards_written: int, rows_summary, beam_skipped: List[SkipRecord],
                  launch_skipped: List[SkipRecord], header: Dict[str, object],
                  output_dir: str) -> None:
  """Written last: its first input, the count of shards written, exists only once every
  shard is."""
  del shards_written
  skipped = sorted(list(launch_skipped) + list(beam_skipped),
                   key=lambda r: (c.DATA_FILES.index(r[0]) if r[0] in c.DATA_FILES else 99,
                                  r[1]))
  counts = parse.count_by_file_and_reason((file_name, reason)
                                          for file_name, _, reason, _ in skipped)
  files = {name: file_digest(_path(output_dir, name)) for name in output_files(output_dir)}
  summary = dict(header, **rows_summary, skipped=counts, skipped_total=len(skipped),
                 files=files)
  with FileSystems.create(_path(output_dir, c.SKIPPED_FILE)) as f:
    f.write("".join(f"{message}\n" for *_, message in skipped).encode("utf-8"))
  with FileSystems.create(_path(output_dir, c.SUMMARY_FILE)) as f:
    f.write((json.dumps(summary, indent=2, sort_keys=True) + "\n").encode("utf-8"))


# --- The pipeline ------------------------------------------------------------------------


def build_pipeline(pipeline: beam.Pipeline, config: ConversionConfig,
                   users: Dict[int, parse.User], movies: Dict[int, parse.Movie],
                   launch_skipped: List[SkipRecord], header: Dict[str, object]) -> None:
  """Adds the ratings conversion to `pipeline`; users and movies are already parsed."""
  ratings_path = _path(config.input_dir, c.RATINGS_FILE)
  parsed = (
      pipeline
      | "RatingsPath" >> beam.Create([ratings_path])
      | "ReadRatingChunks" >> beam.FlatMap(read_line_chunks)
      | "SpreadChunks" >> beam.Reshuffle()
      | "ParseRatings" >> beam.ParDo(
          ParseRatings(ratings_path, users, movies, config.strict)).with_outputs(
              SKIPPED_TAG, main="ratings"))
  built = (
      parsed.ratings
      | "GroupByUser" >> beam.GroupByKey()
      | "BuildUserRows" >> beam.ParDo(BuildUserRows(ratings_path, users, config)).with_outputs(
          SKIPPED_TAG, BuildUserRows.STATS_TAG, main="rows"))

  # Every shard of every split is written, even when empty, so the file set is fixed.
  all_shards = [((split, shard), None) for split in c.SPLITS
                for shard in range(config.num_shards)]
  shards_written = (
      (built.rows, pipeline | "AllShards" >> beam.Create(all_shards))
      | "MergeShardKeys" >> beam.Flatten()
      | "GroupByShard" >> beam.GroupByKey()
      | "DropPlaceholders" >> beam.MapTuple(
          lambda key, blocks: (key, [b for b in blocks if b is not None]))
      | "WriteShards" >> beam.Map(write_shard, config.output_dir, config.num_shards)
      | "AllShardsWritten" >> beam.combiners.Count.Globally())

  rows_summary = (built[BuildUserRows.STATS_TAG]
                  | "SummarizeRows" >> beam.CombineGlobally(SummarizeRows()))
  beam_skipped = (
      (parsed[SKIPPED_TAG], built[SKIPPED_TAG])
      | "MergeSkipped" >> beam.Flatten()
      | "ListSkipped" >> beam.combiners.ToList())
  _ = (
      shards_written
      | "WriteSummary" >> beam.Map(
          write_summary, beam.pvalue.AsSingleton(rows_summary),
          beam.pvalue.AsSingleton(beam_skipped), launch_skipped, header, config.output_dir))


def parse_catalogs(config: ConversionConfig
                   ) -> Tuple[Dict[int, parse.User], Dict[int, parse.Movie], List[SkipRecord]]:
  """users.dat and movies.dat, parsed at launch (strict: the first bad line raises)."""
  report = None if config.strict else parse.SkipReport()
  users = parse.load_users(_path(config.input_dir, c.USERS_FILE), report, FileSystems.open)
  movies = parse.load_movies(_path(config.input_dir, c.MOVIES_FILE), report, FileSystems.open)
  skipped = [_skip_record(e) for e in report.errors] if report else []
  return users, movies, skipped


def summary_header(config: ConversionConfig) -> Dict[str, object]:
  return {
      "input_dir": config.input_dir,
      "synthetic": generate.is_synthetic(config.input_dir),
      "inputs": fingerprint_inputs(config.input_dir),
      "settings": config.settings(),
  }


def read_summary(output_dir: str) -> Optional[Dict[str, object]]:
  path = _path(output_dir, c.SUMMARY_FILE)
  if not FileSystems.exists(path):
    return None
  with FileSystems.open(path) as f:
    return json.loads(f.read().decode("utf-8"))


def staleness(config: ConversionConfig) -> Optional[str]:
  """Why output_dir cannot be reused as the conversion of these inputs with these
  settings; None when it can: the same inputs and settings, and every file it wrote still
  there, unchanged, with no other beside it."""
  summary = read_summary(config.output_dir)
  if summary is None:
    return "not converted yet"
  if summary.get("inputs") != fingerprint_inputs(config.input_dir):
    return "the input files changed"
  if summary.get("settings") != config.settings():
    return "the conversion settings changed"
  recorded, found = summary.get("files", {}), output_files(config.output_dir)
  for name in sorted(set(recorded) | set(found)):
    if name not in found:
      return f"{name} is missing"
    if name not in recorded:
      return f"{name} is not from the last conversion"
    if file_digest(_path(config.output_dir, name)) != recorded[name]:
      return f"{name} changed since it was written"
  return None


def is_current(config: ConversionConfig) -> bool:
  return staleness(config) is None


def is_local(path: str) -> bool:
  """A path on this machine's disk (not gs://, s3://...): where locks and renames work."""
  return "://" not in path


@contextlib.contextmanager
def _one_at_a_time(output_dir: str):
  """Holds `<output_dir>.lock` (local disks): a second conversion into the same folder
  waits for the first instead of interleaving its files with it."""
  if not is_local(output_dir):
    yield
    return
  lock_path = os.path.abspath(output_dir).rstrip("/") + ".lock"
  os.makedirs(os.path.dirname(lock_path), exist_ok=True)
  with open(lock_path, "w") as lock:
    try:
      fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      logging.warning("another conversion is writing %s: waiting for it", output_dir)
      fcntl.flock(lock, fcntl.LOCK_EX)
    yield


def _remove(output_dir: str) -> None:
  if is_local(output_dir):
    shutil.rmtree(output_dir, ignore_errors=True)
    return
  stale = [_path(output_dir, name) for name in
           (*c.SPLITS, c.CATALOG_DIR, c.SUMMARY_FILE, c.SKIPPED_FILE)]
  existing = [path for path in stale if FileSystems.exists(path)]
  if existing:
    FileSystems.delete(existing)


def _move_into_place(staging: str, output_dir: str) -> None:
  """Replaces output_dir by the finished staging folder: two renames, so output_dir is at
  every moment the old conversion, the new one, or absent (converted again next time)."""
  if staging == output_dir:
    return
  previous = output_dir.rstrip("/") + ".previous"
  _remove(previous)
  if os.path.exists(output_dir):
    os.rename(output_dir, previous)
  os.rename(staging, output_dir)
  _remove(previous)


def run_conversion(config: ConversionConfig, beam_args: Sequence[str] = (),
                   reuse: bool = False) -> Dict[str, object]:
  """Converts `config.input_dir` and returns the summary it wrote; with `reuse`, returns
  the existing one instead when output_dir is current (checked once the lock is held, so
  a conversion another process just finished is not done again).

  Raises parse.MovieLensFormatError on the first bad line in strict mode, ValueError when
  no rating is left to convert.
  """
  config.validate()
  for name in c.DATA_FILES:
    if not FileSystems.exists(_path(config.input_dir, name)):
      raise FileNotFoundError(f"{_path(config.input_dir, name)} does not exist: "
                              "convert needs ratings.dat, users.dat and movies.dat")
  with _one_at_a_time(config.output_dir):
    if reuse and is_current(config):
      return read_summary(config.output_dir)
    staging = (config.output_dir.rstrip("/") + ".partial" if is_local(config.output_dir)
               else config.output_dir)
    _remove(staging)
    try:
      summary = _convert(dataclasses.replace(config, output_dir=staging), beam_args)
    except BaseException:
      if staging != config.output_dir:
        _remove(staging)
      raise
    _move_into_place(staging, config.output_dir)
  logging.info("converted %s: %s; %s lines skipped", config.input_dir,
               ", ".join(f"{summary['rows'][split]} {split} rows" for split in c.SPLITS),
               summary["skipped_total"])
  return summary


def _convert(config: ConversionConfig, beam_args: Sequence[str]) -> Dict[str, object]:
  """The conversion itself, into config.output_dir."""
  users, movies, launch_skipped = parse_catalogs(config)
  header = summary_header(config)
  write_catalog(movies, config.output_dir)
  try:
    with beam.Pipeline(options=PipelineOptions(list(beam_args))) as pipeline:
      build_pipeline(pipeline, config, users, movies, launch_skipped, header)
  except Exception as runner_error:  # the runner wraps errors raised on its workers
    format_error = parse.MovieLensFormatError.find_in(str(runner_error))
    if format_error is None:
      raise
    raise format_error from None
  summary = read_summary(config.output_dir)
  if not sum(summary["rows"].values()):
    FileSystems.delete([_path(config.output_dir, c.SUMMARY_FILE)])  # never reused as current
    raise ValueError(f"{_path(config.input_dir, c.RATINGS_FILE)}: no ratings to convert"
                     + (f" ({summary['skipped_total']} lines skipped)"
                        if summary["skipped_total"] else ""))
  return summary


def with_lenient_hint(error: parse.MovieLensFormatError) -> ValueError:
  """A strict-mode format error as the commands that take --lenient report it."""
  return ValueError(f"{error} (--lenient skips such lines, counting each kind)")


def add_conversion_flags(parser: argparse.ArgumentParser) -> None:
  """The conversion's knobs as command-line flags (shared with local_runner.py)."""
  group = parser.add_argument_group("conversion to CSV")
  group.add_argument("--history-length", type=int, default=c.HISTORY_LENGTH,
                     help=f"previous ratings kept per row (default {c.HISTORY_LENGTH}: the "
                          "BST's window)")
  group.add_argument("--eval-fraction", type=float, default=0.1,
                     help="each user's last fraction of ratings held out for eval "
                     "(default 0.1)")
  group.add_argument("--validation-fraction", type=float, default=0.05,
                     help="each user's fraction of ratings just before the eval ones, held "
                     "out for validation: early stopping and every model choice "
                     "(default 0.05)")
  group.add_argument("--time-cutoff", type=int,
                     help="split by time instead: ratings at/after this Unix time go to eval "
                     "(needs --validation-time-cutoff)")
  group.add_argument("--validation-time-cutoff", type=int,
                     help="with --time-cutoff: ratings from this Unix time until the eval "
                     "cutoff go to validation")
  group.add_argument("--num-shards", type=int, default=4, help="CSV files per split")
  group.add_argument("--lenient", action="store_true",
                     help="skip bad lines (counted in summary.json, listed in "
                     "skipped_lines.txt) instead of stopping at the first")


def config_from_flags(args: argparse.Namespace, input_dir: str,
                      output_dir: str) -> ConversionConfig:
  return ConversionConfig(
      input_dir=input_dir, output_dir=output_dir, history_length=args.history_length,
      eval_fraction=args.eval_fraction, validation_fraction=args.validation_fraction,
      time_cutoff=args.time_cutoff, validation_time_cutoff=args.validation_time_cutoff,
      num_shards=args.num_shards, strict=not args.lenient)


def main(argv: Sequence[str]) -> None:
  from pipeline import cli, flags  # pylint: disable=g-import-not-at-top  (the command only)
  parser = argparse.ArgumentParser(
      description="Convert a MovieLens 1M directory into CSV shards for CsvExampleGen. "
      "Unknown flags are Beam pipeline options (e.g. --runner, --direct_num_workers).")
  parser.add_argument("--input-dir", required=True,
                      help="folder with ratings.dat, users.dat, movies.dat")
  parser.add_argument("--output-dir", required=True,
                      help="folder for train/, validation/, eval/, ...")
  add_conversion_flags(parser)
  cli.add_debug_flag(parser)
  args, beam_args = flags.parse_args_and_beam_args(parser, argv)
  try:
    summary = run_conversion(config_from_flags(args, args.input_dir, args.output_dir),
                             beam_args)
  except parse.MovieLensFormatError as error:
    raise with_lenient_hint(error) from None
  print(json.dumps({k: summary[k] for k in ("rows", "users", "movies", "skipped")}, indent=2))


def command() -> None:
  """The command, as `python -m movielens.convert` and as setup.py's installed script."""
  from pipeline import cli  # pylint: disable=g-import-not-at-top
  logging.basicConfig(level=logging.WARNING)  # the summary goes to stdout
  cli.run(main)


if __name__ == "__main__":
  # Through the imported module: Beam workers unpickle this module's functions by
  # reference, and a function of __main__ would lose its globals on the way.
  from movielens import convert
  convert.command()
