"""Parsing of ratings.dat, users.dat and movies.dat: exact values, every error kind."""
import os

import pytest

from movielens import parse
from tests.conftest import write_dat_files

USERS = ["1::F::1::10::48067", "2::M::56::16::70072", "3::M::25::15::55117-1234"]
MOVIES = ["1::Toy Story (1995)::Animation|Children's|Comedy",
          "2::Misérables, Les (1995)::Drama|Musical",
          "3::Heat (1995)::Action|Crime|Thriller"]
RATINGS = ["1::1::5::978300760", "1::2::3::978302109", "2::3::4::978298413",
           "3::1::1::978297000"]


def test_parses_each_file_exactly(tmp_path):
  ml = parse.load_movielens(write_dat_files(tmp_path, RATINGS, USERS, MOVIES))
  assert ml.users[3] == parse.User(3, "M", 25, 15, "55117-1234")
  assert ml.movies[2] == parse.Movie(2, "Misérables, Les (1995)", ("Drama", "Musical"))
  assert ml.ratings.values.tolist() == [
      [1, 1, 5, 978300760, 1], [1, 2, 3, 978302109, 2], [2, 3, 4, 978298413, 3],
      [3, 1, 1, 978297000, 4]]
  assert ml.skipped.total == 0


def test_titles_are_latin1(tmp_path):
  directory = write_dat_files(tmp_path, RATINGS, USERS, MOVIES)
  with open(os.path.join(directory, "movies.dat"), "rb") as f:
    assert "Misérables".encode("latin-1") in f.read()  # one byte 0xE9, not UTF-8's two
  assert parse.load_movielens(directory).movies[2].title.startswith("Misérables")


def test_windows_line_endings_are_accepted(tmp_path):
  directory = write_dat_files(tmp_path, [r + "\r" for r in RATINGS], USERS, MOVIES)
  assert len(parse.load_movielens(directory).ratings) == len(RATINGS)


def test_utf8_files_are_detected_and_read_as_utf8(tmp_path):
  directory = write_dat_files(tmp_path, RATINGS, USERS, MOVIES)
  with open(os.path.join(directory, "movies.dat"), "w", encoding="utf-8") as f:
    f.write("".join(line + "\n" for line in MOVIES))  # "é" as UTF-8's two bytes
  assert parse.load_movielens(directory).movies[2].title == "Misérables, Les (1995)"


def test_a_byte_order_mark_is_accepted_and_said(tmp_path, caplog):
  directory = write_dat_files(tmp_path, RATINGS, USERS, MOVIES)
  path = os.path.join(directory, "ratings.dat")
  with open(path, "rb") as f:
    content = f.read()
  with open(path, "wb") as f:
    f.write(parse.UTF8_BOM + content)
  assert len(parse.load_movielens(directory).ratings) == len(RATINGS)  # strict: none lost
  assert f"{path}: a UTF-8 byte-order mark starts the file" in caplog.text


def test_empty_lines_at_the_end_are_not_lines_but_one_between_records_is_bad(tmp_path):
  directory = write_dat_files(tmp_path, RATINGS + ["", ""], USERS, MOVIES)
  assert len(parse.load_movielens(directory).ratings) == len(RATINGS)  # strict mode
  directory = write_dat_files(tmp_path / "middle", RATINGS[:1] + [""] + RATINGS[1:], USERS,
                              MOVIES)
  with pytest.raises(parse.MovieLensFormatError, match=r"ratings\.dat:2: "):
    parse.load_movielens(directory)


# (file, replaced line index, bad line, expected reason, text expected in the message)
BAD_LINES = [
    ("ratings.dat", 1, "1::2::3", parse.SkipReason.MALFORMED, "expected 4"),
    ("ratings.dat", 1, "1::2::x::978302109", parse.SkipReason.MALFORMED, "Rating"),
    ("ratings.dat", 1, "1::2::-3::978302109", parse.SkipReason.MALFORMED, "Rating"),
    ("ratings.dat", 1, "1::2:: 3::978302109", parse.SkipReason.MALFORMED, "Rating"),
    ("ratings.dat", 1, "1::2::6::978302109", parse.SkipReason.RATING_OUT_OF_RANGE, "6"),
    ("ratings.dat", 1, "1::2::0::978302109", parse.SkipReason.RATING_OUT_OF_RANGE, "0"),
    ("ratings.dat", 1, "9::2::3::978302109", parse.SkipReason.UNKNOWN_USER, "UserID 9"),
    ("ratings.dat", 1, "1::99::3::978302109", parse.SkipReason.UNKNOWN_MOVIE, "MovieID 99"),
    ("ratings.dat", 1, "1::1::3::978302109", parse.SkipReason.DUPLICATE_RATING, "line 1"),
    ("users.dat", 1, "2::X::56::16::70072", parse.SkipReason.UNKNOWN_CODE, "Gender"),
    ("users.dat", 1, "2::M::30::16::70072", parse.SkipReason.UNKNOWN_CODE, "Age 30"),
    ("users.dat", 1, "2::M::56::21::70072", parse.SkipReason.UNKNOWN_CODE, "Occupation 21"),
    ("users.dat", 1, "2::M::56::16", parse.SkipReason.MALFORMED, "expected 5"),
    ("users.dat", 1, "1::M::56::16::70072", parse.SkipReason.DUPLICATE_ID, "UserID 1"),
    ("movies.dat", 1, "2::Les (1995)::Drama|Cartoon", parse.SkipReason.UNKNOWN_CODE, "Cartoon"),
    ("movies.dat", 1, "2::Les (1995)", parse.SkipReason.MALFORMED, "expected 3"),
    ("movies.dat", 1, "2::::Drama", parse.SkipReason.MALFORMED, "Title"),
    ("movies.dat", 1, "1::Again (1995)::Drama", parse.SkipReason.DUPLICATE_ID, "MovieID 1"),
]


def _files_with(file_name, index, bad_line):
  files = {"ratings.dat": list(RATINGS), "users.dat": list(USERS),
           "movies.dat": list(MOVIES)}
  files[file_name][index] = bad_line
  return files["ratings.dat"], files["users.dat"], files["movies.dat"]


@pytest.mark.parametrize("file_name,index,bad_line,reason,detail", BAD_LINES)
def test_strict_mode_names_file_line_and_reason(tmp_path, file_name, index, bad_line,
                                                reason, detail):
  directory = write_dat_files(tmp_path, *_files_with(file_name, index, bad_line))
  with pytest.raises(parse.MovieLensFormatError) as raised:
    parse.load_movielens(directory)
  error = raised.value
  assert (error.file_name, error.line_number, error.reason) == (file_name, index + 1, reason)
  message = str(error)
  assert message.startswith(f"{os.path.join(directory, file_name)}:{index + 1}: {reason.value}")
  assert detail in message


@pytest.mark.parametrize("file_name,index,bad_line,reason,detail", BAD_LINES)
def test_lenient_mode_skips_and_counts_the_line(tmp_path, file_name, index, bad_line,
                                                reason, detail):
  directory = write_dat_files(tmp_path, *_files_with(file_name, index, bad_line))
  ml = parse.load_movielens(directory, strict=False)
  counts = ml.skipped.counts()
  assert counts[file_name][reason.value] == 1
  if file_name == "users.dat":  # user 2's line was replaced: their one rating is orphaned
    assert counts["ratings.dat"] == {"rating for an unknown user": 1}
  if file_name == "movies.dat":  # likewise movie 2's
    assert counts["ratings.dat"] == {"rating for an unknown movie": 1}
  # Nothing is lost: every rating line is either kept or counted as skipped.
  assert len(ml.ratings) + sum(counts["ratings.dat"].values()) == len(RATINGS)
  assert ml.skipped.total == sum(sum(v.values()) for v in counts.values())


def test_lenient_counts_many_kinds_at_once(tmp_path):
  ratings = RATINGS + ["1::3::7::978300000", "1::3::2", "4::1::3::978300000",
                       "2::3::5::978300001", "1::3::5::978300002"]
  directory = write_dat_files(tmp_path, ratings, USERS, MOVIES)
  ml = parse.load_movielens(directory, strict=False)
  assert ml.skipped.counts() == {"ratings.dat": {
      "duplicate (user, movie) rating": 1, "malformed line": 1,
      "rating for an unknown user": 1, "rating outside 1-5": 1}}
  assert len(ml.ratings) == len(RATINGS) + 1  # only 1::3::5 is new and valid
  assert [e.line_number for e in ml.skipped.errors] == [5, 6, 7, 8]


def test_error_is_recovered_from_runner_text():
  error = parse.MovieLensFormatError("gs://b/ratings.dat", 12,
                                     parse.SkipReason.RATING_OUT_OF_RANGE, "Rating 9")
  wrapped = f"Traceback...\nRuntimeError: movielens.parse.{type(error).__name__}: {error} " \
            "[while running 'ParseRatings/ParDo(ParseRatings)']\n"
  recovered = parse.MovieLensFormatError.find_in(wrapped)
  assert str(recovered) == "gs://b/ratings.dat:12: rating outside 1-5: Rating 9"
  assert parse.MovieLensFormatError.find_in("RuntimeError: something else") is None
