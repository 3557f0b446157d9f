"""Exact parsing of the MovieLens 1M `.dat` files.

The files are `::`-separated and latin-1 encoded, as ml-1m's are (UTF-8 is detected, and
read as such: `read_lines`):

    ratings.dat  UserID::MovieID::Rating::Timestamp
    users.dat    UserID::Gender::Age::Occupation::Zip-code
    movies.dat   MovieID::Title::Genres          (Genres is `|`-separated)

Strict by default: the first bad line raises `MovieLensFormatError`, whose message names
the file, the line number and the reason. In lenient mode the same checks run, the bad line
is skipped, and the error is recorded in a `SkipReport` so that every skipped line is
counted and reported, never silently lost.

The line parsers here are shared by `load_movielens` (pure Python, for tests, baselines and
benchmarks) and by the Beam conversion (`conversion/`), so both accept exactly the same
input.
"""
import codecs
import collections
import dataclasses
import enum
import functools
import io
import logging
import os
import re
from typing import BinaryIO, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

import pandas as pd

from movielens import constants as c


class SkipReason(str, enum.Enum):
  """Why a line was rejected. The value is what error messages and reports print."""
  MALFORMED = "malformed line"
  UNKNOWN_CODE = "unknown code"
  RATING_OUT_OF_RANGE = "rating outside 1-5"
  TIMESTAMP_OUT_OF_RANGE = "timestamp out of range"
  CUT_OFF = "no line end"
  UNKNOWN_USER = "rating for an unknown user"
  UNKNOWN_MOVIE = "rating for an unknown movie"
  DUPLICATE_RATING = "duplicate (user, movie) rating"
  DUPLICATE_ID = "duplicate id"


class MovieLensFormatError(ValueError):
  """A line of a MovieLens file that does not follow the format.

  The message reads `<path>:<line>: <reason>: <detail>` so that it points an editor (and a
  person) straight at the line.
  """

  def __init__(self, path: str, line_number: int, reason: SkipReason, detail: str):
    self.path = path
    self.line_number = line_number
    self.reason = SkipReason(reason)
    self.detail = detail
    super().__init__(f"{path}:{line_number}: {self.reason.value}: {detail}")

  @classmethod
  def find_in(cls, text: str) -> Optional["MovieLensFormatError"]:
    """The first such error quoted in `text`, or None.

    Beam runners re-raise a worker's exception as a RuntimeError that quotes the original
    in its text; this recovers it so the caller sees the file, line and reason, not a
    runner traceback.
    """
    reasons = "|".join(re.escape(reason.value) for reason in SkipReason)
    match = re.search(rf"MovieLensFormatError: (.+?):(\d+): ({reasons}): (.*?)"
                      rf"(?: \[while running .*\])?$", text, flags=re.MULTILINE)
    if not match:
      return None
    path, line_number, reason, detail = match.groups()
    return cls(path, int(line_number), SkipReason(reason), detail)

  @property
  def file_name(self) -> str:
    return os.path.basename(self.path)

  def __reduce__(self):  # Beam pickles exceptions across worker boundaries.
    return (MovieLensFormatError, (self.path, self.line_number, self.reason, self.detail))


@dataclasses.dataclass(frozen=True)
class User:
  user_id: int
  sex: str
  age_group: int
  occupation: int
  zip_code: str


@dataclasses.dataclass(frozen=True)
class Movie:
  movie_id: int
  title: str
  genres: Tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Rating:
  user_id: int
  movie_id: int
  rating: int
  timestamp: int
  line_number: int  # breaks timestamp ties: ratings keep the file's order


def count_by_file_and_reason(skips: Iterable[Tuple[str, str]]) -> Dict[str, Dict[str, int]]:
  """{file name: {reason: count}}, sorted, from (file name, reason) pairs."""
  result: Dict[str, Dict[str, int]] = {}
  for (file_name, reason), count in sorted(collections.Counter(skips).items()):
    result.setdefault(file_name, {})[reason] = count
  return result


class SkipReport:
  """Counts (and keeps) the lines skipped in lenient mode, per file and reason."""

  def __init__(self):
    self.errors: List[MovieLensFormatError] = []
    # file name -> id -> where its line was skipped: a rating of a skipped user or movie
    # is skipped too, and says why (the id is in the file, its line was bad).
    self.skipped_ids: Dict[str, Dict[int, str]] = {}

  def record(self, error: MovieLensFormatError, record_id: Optional[int] = None) -> None:
    self.errors.append(error)
    if record_id is not None:
      self.skipped_ids.setdefault(error.file_name, {}).setdefault(
          record_id, f"{error.file_name}:{error.line_number}: {error.reason.value}")

  def counts(self) -> Dict[str, Dict[str, int]]:
    return count_by_file_and_reason((e.file_name, e.reason.value) for e in self.errors)

  @property
  def total(self) -> int:
    return len(self.errors)


# --- Line parsers ------------------------------------------------------------------------


def split_fields(line: str, expected: int, path: str, line_number: int) -> List[str]:
  """The fields of a line as read_lines gives it, line end included: every line of a
  MovieLens file ends with one, so a line without is where a cut-off file stops."""
  if not line.endswith("\n"):
    raise MovieLensFormatError(
        path, line_number, SkipReason.CUT_OFF,
        f"the file ends inside this line (cut off?): {line[:120]!r}")
  fields = line.rstrip("\r\n").split(c.FIELD_SEPARATOR)
  if len(fields) != expected:
    raise MovieLensFormatError(
        path, line_number, SkipReason.MALFORMED,
        f"expected {expected} '{c.FIELD_SEPARATOR}'-separated fields, found {len(fields)}: "
        f"{line.rstrip(chr(13) + chr(10))[:120]!r}")
  return fields


def parse_int(text: str, field: str, path: str, line_number: int) -> int:
  # str.isdecimal() alone would accept non-ASCII digits; int() alone accepts " 5" and "+5".
  if not (text.isascii() and text.isdecimal()):
    raise MovieLensFormatError(path, line_number, SkipReason.MALFORMED,
                               f"{field} is not a non-negative integer: {text!r}")
  return int(text)


def parse_user(line: str, path: str, line_number: int) -> User:
  user_id, sex, age, occupation, zip_code = split_fields(line, 5, path, line_number)
  user = User(
      user_id=parse_int(user_id, "UserID", path, line_number),
      sex=sex,
      age_group=parse_int(age, "Age", path, line_number),
      occupation=parse_int(occupation, "Occupation", path, line_number),
      zip_code=zip_code,
  )
  if user.sex not in c.SEXES:
    raise MovieLensFormatError(path, line_number, SkipReason.UNKNOWN_CODE,
                               f"Gender {sex!r} is not one of {', '.join(c.SEXES)}")
  if user.age_group not in c.AGE_GROUPS:
    raise MovieLensFormatError(path, line_number, SkipReason.UNKNOWN_CODE,
                               f"Age {age} is not one of {c.AGE_GROUPS}")
  if user.occupation not in c.OCCUPATIONS:
    raise MovieLensFormatError(path, line_number, SkipReason.UNKNOWN_CODE,
                               f"Occupation {occupation} is not in 0-{c.OCCUPATIONS[-1]}")
  if not zip_code:
    raise MovieLensFormatError(path, line_number, SkipReason.MALFORMED, "empty Zip-code")
  return user


def parse_movie(line: str, path: str, line_number: int) -> Movie:
  movie_id, title, genres = split_fields(line, 3, path, line_number)
  if not title.strip():
    raise MovieLensFormatError(path, line_number, SkipReason.MALFORMED, "empty Title")
  genre_list = tuple(genres.split(c.GENRE_SEPARATOR))
  unknown = [g for g in genre_list if g not in c.GENRES]
  if unknown:
    raise MovieLensFormatError(path, line_number, SkipReason.UNKNOWN_CODE,
                               f"unknown genre(s) {unknown} in {genres!r}")
  return Movie(movie_id=parse_int(movie_id, "MovieID", path, line_number), title=title,
               genres=genre_list)


def parse_rating(line: str, path: str, line_number: int) -> Rating:
  user_id, movie_id, rating, timestamp = split_fields(line, 4, path, line_number)
  parsed = Rating(
      user_id=parse_int(user_id, "UserID", path, line_number),
      movie_id=parse_int(movie_id, "MovieID", path, line_number),
      rating=parse_int(rating, "Rating", path, line_number),
      timestamp=parse_int(timestamp, "Timestamp", path, line_number),
      line_number=line_number,
  )
  if not c.MIN_RATING <= parsed.rating <= c.MAX_RATING:
    raise MovieLensFormatError(path, line_number, SkipReason.RATING_OUT_OF_RANGE,
                               f"Rating {parsed.rating}")
  if parsed.timestamp > c.MAX_TIMESTAMP:
    raise MovieLensFormatError(path, line_number, SkipReason.TIMESTAMP_OUT_OF_RANGE,
                               f"Timestamp {parsed.timestamp} is after {c.MAX_TIMESTAMP} "
                               "(2038-01-19), the last second a MovieLens timestamp can hold")
  return parsed


def check_rating_references(rating: Rating, known_users: Mapping[int, object],
                            known_movies: Mapping[int, object], path: str,
                            skipped_ids: Optional[Mapping[str, Mapping[int, str]]] = None
                            ) -> None:
  """Raises unless the rating's user and movie were defined (and kept) in their files;
  `skipped_ids` (SkipReport.skipped_ids) tells an id whose line was skipped from one that
  is not there at all."""
  for known, record_id, file_name, field, reason in (
      (known_users, rating.user_id, c.USERS_FILE, "UserID", SkipReason.UNKNOWN_USER),
      (known_movies, rating.movie_id, c.MOVIES_FILE, "MovieID", SkipReason.UNKNOWN_MOVIE)):
    if record_id not in known:
      skipped_at = (skipped_ids or {}).get(file_name, {}).get(record_id)
      raise MovieLensFormatError(path, rating.line_number, reason, (
          f"{field} {record_id}'s own line was skipped ({skipped_at})" if skipped_at
          else f"{field} {record_id} is not in {file_name}"))


def split_duplicate_ratings(
    user_ratings: Iterable[Rating], path: str
) -> Tuple[List[Rating], List[MovieLensFormatError]]:
  """Keeps the first rating of each movie by one user (in file order); reports the rest.

  Takes one user's ratings. Returns (kept ratings in file order, one error per duplicate).
  """
  first_line: Dict[int, int] = {}
  kept, duplicates = [], []
  for rating in sorted(user_ratings, key=lambda r: r.line_number):
    if rating.movie_id in first_line:
      duplicates.append(MovieLensFormatError(
          path, rating.line_number, SkipReason.DUPLICATE_RATING,
          f"UserID {rating.user_id} already rated MovieID {rating.movie_id} at line "
          f"{first_line[rating.movie_id]}"))
    else:
      first_line[rating.movie_id] = rating.line_number
      kept.append(rating)
  return kept, duplicates


def handle(error: MovieLensFormatError, report: Optional[SkipReport],
           record_id: Optional[int] = None) -> None:
  """Strict mode (no report) raises the error; lenient mode records it (and the id the
  bad line defined, if it has one)."""
  if report is None:
    raise error
  report.record(error, record_id)


# --- Whole files -------------------------------------------------------------------------


UTF8_BOM = b"\xef\xbb\xbf"


def file_encoding(path: str, open_binary: Callable[[str], BinaryIO]) -> str:
  """"utf-8-sig" for a file that starts with UTF-8's byte-order mark (the codec skips it),
  "utf-8" for one that is valid UTF-8 holding non-ASCII text (a catalog saved by today's
  editors), else c.FILE_ENCODING, ml-1m's own latin-1 (in which any bytes decode)."""
  decoder = codecs.getincrementaldecoder("utf-8")()
  non_ascii = False
  with open_binary(path) as raw:
    first = raw.read(len(UTF8_BOM))
    if first == UTF8_BOM:
      return "utf-8-sig"
    chunk = first
    while chunk:
      non_ascii = non_ascii or not chunk.isascii()
      try:
        decoder.decode(chunk)
      except UnicodeDecodeError:
        return c.FILE_ENCODING
      chunk = raw.read(1 << 20)
  return "utf-8" if non_ascii else c.FILE_ENCODING


def read_lines(path: str, open_binary: Callable[[str], BinaryIO] = None
               ) -> Iterator[Tuple[int, str]]:
  """Yields (1-based line number, line with its line end) of a .dat file, decoded as
  file_encoding finds it (a byte-order mark is skipped and logged); the last line of a
  cut-off file has none (split_fields refuses it). Empty lines at the very end of a file,
  as editors leave them, are not lines; an empty line before a record is one (and bad).

  `open_binary` opens the path for reading bytes (default: the local filesystem); Beam
  passes its FileSystems.open so the same code reads from any filesystem Beam supports.
  """
  open_binary = open_binary or functools.partial(open, mode="rb")
  encoding = file_encoding(path, open_binary)
  if encoding == "utf-8-sig":
    logging.warning("%s: a UTF-8 byte-order mark starts the file; skipped, read as UTF-8",
                    path)
  with open_binary(path) as raw:
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    held: List[Tuple[int, str]] = []  # empty lines, yielded once a record follows them
    for numbered in enumerate(text, start=1):
      if not numbered[1].strip("\r\n"):
        held.append(numbered)
        continue
      yield from held
      held = []
      yield numbered


def _load_by_id(path: str, parse_line: Callable, id_name: str,
                report: Optional[SkipReport], open_binary: Optional[Callable]) -> Dict:
  """Records of a users.dat or movies.dat file by id; a repeated id is a bad line."""
  records: Dict[int, object] = {}
  first_line: Dict[int, int] = {}
  for line_number, line in read_lines(path, open_binary):
    try:
      record = parse_line(line, path, line_number)
      record_id = getattr(record, id_name)
      if record_id in records:
        raise MovieLensFormatError(path, line_number, SkipReason.DUPLICATE_ID,
                                   f"{_ID_FIELDS[id_name]} {record_id} already defined at "
                                   f"line {first_line[record_id]}")
    except MovieLensFormatError as error:
      first_field = line.split(c.FIELD_SEPARATOR, 1)[0].strip()
      handle(error, report, int(first_field) if first_field.isdigit() else None)
      continue
    records[record_id] = record
    first_line[record_id] = line_number
  return records


_ID_FIELDS = {"user_id": "UserID", "movie_id": "MovieID"}


def load_users(path: str, report: Optional[SkipReport] = None,
               open_binary: Callable[[str], BinaryIO] = None) -> Dict[int, User]:
  return _load_by_id(path, parse_user, "user_id", report, open_binary)


def load_movies(path: str, report: Optional[SkipReport] = None,
                open_binary: Callable[[str], BinaryIO] = None) -> Dict[int, Movie]:
  return _load_by_id(path, parse_movie, "movie_id", report, open_binary)


def load_ratings(path: str, users: Mapping[int, User], movies: Mapping[int, Movie],
                 report: Optional[SkipReport] = None) -> pd.DataFrame:
  """Ratings in file order: columns user_id, movie_id, rating, timestamp, line_number."""
  by_user: Dict[int, List[Rating]] = collections.defaultdict(list)
  for line_number, line in read_lines(path):
    try:
      rating = parse_rating(line, path, line_number)
      check_rating_references(rating, users, movies, path,
                              report.skipped_ids if report else None)
    except MovieLensFormatError as error:
      handle(error, report)
      continue
    by_user[rating.user_id].append(rating)
  kept: List[Rating] = []
  for user_ratings in by_user.values():
    user_kept, duplicates = split_duplicate_ratings(user_ratings, path)
    for error in duplicates:
      handle(error, report)
    kept.extend(user_kept)
  kept.sort(key=lambda r: r.line_number)
  columns = [f.name for f in dataclasses.fields(Rating)]
  return pd.DataFrame([dataclasses.astuple(r) for r in kept], columns=columns).astype("int64")


@dataclasses.dataclass
class MovieLens:
  """A parsed MovieLens directory."""
  users: Dict[int, User]
  movies: Dict[int, Movie]
  ratings: pd.DataFrame
  skipped: SkipReport


def load_movielens(data_dir: str, strict: bool = True) -> MovieLens:
  """Parses ratings.dat, users.dat and movies.dat of `data_dir`.

  strict=True raises `MovieLensFormatError` on the first bad line; strict=False skips bad
  lines and returns them, counted by file and reason, in `MovieLens.skipped`.
  """
  report = SkipReport()
  sink = None if strict else report
  users = load_users(os.path.join(data_dir, c.USERS_FILE), sink)
  movies = load_movies(os.path.join(data_dir, c.MOVIES_FILE), sink)
  ratings = load_ratings(os.path.join(data_dir, c.RATINGS_FILE), users, movies, sink)
  return MovieLens(users=users, movies=movies, ratings=ratings, skipped=report)
