"""The Beam conversion to CSV: order, windows, splits, leakage, determinism, errors."""
import csv
import dataclasses
import filecmp
import glob
import json
import math
import os
import re
import subprocess
import sys

import pandas as pd
import pytest

from movielens import constants as c
from movielens import conversion
from movielens.conversion import config as conversion_config
from movielens import generate
from movielens import parse
from tests.conftest import read_split, run_small_conversion, write_dat_files

USERS = ["1::F::1::10::48067", "2::M::56::16::70072"]
MOVIES = ["1::Heat (1995)::Action", "2::Casino (1995)::Drama", "3::Sabrina (1995)::Comedy",
          "4::Balto, The (1995)::Animation|Children's"]
# User 1's lines are out of time order; movies 3 and 2 tie at t=100 (line order: 3 first).
RATINGS = ["1::3::4::100", "1::1::5::50", "1::2::3::100", "2::1::2::10", "1::4::1::200"]


def test_rows_hold_the_history_in_order(tmp_path):
  data = write_dat_files(tmp_path / "in", RATINGS, USERS, MOVIES)
  summary = run_small_conversion(data, str(tmp_path / "out"), history_length=2)
  train = read_split(str(tmp_path / "out"), c.TRAIN_SPLIT)
  validation = read_split(str(tmp_path / "out"), c.VALIDATION_SPLIT)
  evaluation = read_split(str(tmp_path / "out"), c.EVAL_SPLIT)
  assert list(train.columns) == list(c.CSV_COLUMNS)
  assert train.values.tolist() == [
      ["1", "F", "1", "10", "1", "50", "5", "", "", ""],
      ["1", "F", "1", "10", "3", "100", "4", "1", "5", "50"],
      ["2", "M", "56", "16", "1", "10", "2", "", "", ""],  # one event: train only
  ]
  assert validation.values.tolist() == [  # just before eval: ceil(5% of 4) = 1 event
      ["1", "F", "1", "10", "2", "100", "3", "1 3", "5 4", "50 100"]]
  assert evaluation.values.tolist() == [  # the window keeps the last 2 events
      ["1", "F", "1", "10", "4", "200", "1", "3 2", "4 3", "100 100"]]
  assert summary["rows"] == {"train": 3, "validation": 1, "eval": 1}
  assert (summary["users"], summary["movies"], summary["skipped_total"]) == (2, 4, 0)


@pytest.fixture(scope="module")
def converted(small_movielens, tmp_path_factory):
  output = str(tmp_path_factory.mktemp("csv"))
  return output, run_small_conversion(small_movielens, output)


def expected_rows(data_dir: str, history_length: int, eval_fraction: float,
                  validation_fraction: float) -> pd.DataFrame:
  """An independent pandas reference of what the conversion must write."""
  ml = parse.load_movielens(data_dir)
  events = ml.ratings.sort_values(["user_id", "timestamp", "line_number"])
  rows = []
  for user_id, group in events.groupby("user_id", sort=True):
    user = ml.users[user_id]
    n = len(group)
    num_eval = min(n - 1, math.ceil(n * eval_fraction))
    num_validation = min(n - 1 - num_eval, math.ceil(n * validation_fraction))
    history = list(zip(group.movie_id, group.rating, group.timestamp))
    for i, (movie_id, rating, timestamp) in enumerate(history):
      window = history[max(0, i - history_length):i]
      rows.append({
          "split": ("eval" if i >= n - num_eval else
                    "validation" if i >= n - num_eval - num_validation else "train"),
          c.USER_ID: str(user_id), c.SEX: user.sex, c.AGE_GROUP: str(user.age_group),
          c.OCCUPATION: str(user.occupation), c.TARGET_MOVIE_ID: str(movie_id),
          c.TARGET_TIMESTAMP: str(timestamp), c.RATING: str(rating),
          c.HISTORY_MOVIE_IDS: " ".join(str(e[0]) for e in window),
          c.HISTORY_RATINGS: " ".join(str(e[1]) for e in window),
          c.HISTORY_TIMESTAMPS: " ".join(str(e[2]) for e in window)})
  return pd.DataFrame(rows)


def test_rows_equal_an_independent_reference(converted, small_movielens):
  output, _ = converted
  expected = expected_rows(small_movielens, history_length=c.HISTORY_LENGTH, eval_fraction=0.1,
                           validation_fraction=0.05)
  for split in c.SPLITS:
    actual = read_split(output, split)
    want = expected[expected.split == split].drop(columns="split")
    key = [c.USER_ID, c.TARGET_TIMESTAMP, c.TARGET_MOVIE_ID]
    sort = lambda df: df.sort_values(key, key=lambda s: s.astype(int)).reset_index(drop=True)
    pd.testing.assert_frame_equal(sort(actual), sort(want))


def test_split_sizes_per_user(converted, small_movielens):
  output, summary = converted
  splits = {split: read_split(output, split) for split in c.SPLITS}
  events = parse.load_movielens(small_movielens).ratings.groupby("user_id").size()
  eval_per_user = splits["eval"].groupby(c.USER_ID).size()
  validation_per_user = splits["validation"].groupby(c.USER_ID).size()
  for user_id, n in events.items():  # every generated user has at least 20 ratings
    assert eval_per_user[str(user_id)] == math.ceil(0.1 * n)
    assert validation_per_user[str(user_id)] == math.ceil(0.05 * n)
  assert sum(summary["rows"].values()) == events.sum()
  assert {split: len(rows) for split, rows in splits.items()} == summary["rows"]
  assert 0.09 < len(splits["eval"]) / events.sum() < 0.12
  assert 0.045 < len(splits["validation"]) / events.sum() < 0.07


@pytest.mark.parametrize("earlier,later", [("train", "validation"), ("train", "eval"),
                                           ("validation", "eval")])
def test_no_row_sees_a_later_splits_event(converted, earlier, later):
  """Per user, every split comes after the one before it, and no history reaches ahead."""
  output, _ = converted
  before, after = read_split(output, earlier), read_split(output, later)
  later_events = set(zip(after[c.USER_ID], after[c.TARGET_MOVIE_ID]))
  last_before = before.groupby(c.USER_ID)[c.TARGET_TIMESTAMP].apply(
      lambda s: s.astype(int).max())
  first_after = after.groupby(c.USER_ID)[c.TARGET_TIMESTAMP].apply(
      lambda s: s.astype(int).min())
  assert (last_before <= first_after.reindex(last_before.index)).all()
  for user_id, history in zip(before[c.USER_ID], before[c.HISTORY_MOVIE_IDS]):
    assert not any((user_id, movie) in later_events for movie in history.split())


def _all_files(directory):
  return sorted(os.path.relpath(p, directory)
                for p in glob.glob(os.path.join(directory, "**", "*"), recursive=True)
                if os.path.isfile(p))


def test_output_is_byte_identical_across_runs_and_runner_modes(converted, small_movielens,
                                                               tmp_path):
  first, _ = converted
  again = str(tmp_path / "again")
  conversion.run_conversion(
      conversion.ConversionConfig(input_dir=small_movielens, output_dir=again),
      ["--direct_running_mode=multi_processing", "--direct_num_workers=2"])
  files = _all_files(first)
  assert files == _all_files(again)
  assert len([f for f in files if f.endswith(".csv")]) == 3 * 4 + 1  # shards + catalog
  match, mismatch, errors = filecmp.cmpfiles(first, again, files, shallow=False)
  assert not mismatch and not errors


def test_a_shard_that_lost_rows_on_the_way_to_its_file_is_refused_and_nothing_published(
    small_movielens, tmp_path, monkeypatch):
  from movielens.conversion import beam_pipeline
  from movielens.conversion import run as conversion_run
  write_shard = beam_pipeline.write_shard

  def write_shard_losing_a_user(element, output_dir, num_shards):
    (split, shard), blocks = element
    if (split, shard) == (c.VALIDATION_SPLIT, 2):
      blocks = sorted(blocks)[1:]  # the fault: the shard's first user never reaches the file
    return write_shard(((split, shard), blocks), output_dir, num_shards)

  monkeypatch.setattr(beam_pipeline, "write_shard", write_shard_losing_a_user)
  output = tmp_path / "csv"
  with pytest.raises(conversion_run.LostRowsError,
                     match=r"^CSV shard validation/part-00002-of-00004.csv \(split validation, "
                           r"shard 2\) holds [\d,]+ rows, not the [\d,]+ built for it: rows "
                           r"were lost on the way to the files, so nothing was published"):
    run_small_conversion(small_movielens, str(output))
  assert sorted(os.listdir(tmp_path)) == ["csv.lock"]  # no folder, no .partial: starts clean
  monkeypatch.setattr(beam_pipeline, "write_shard", write_shard)
  assert run_small_conversion(small_movielens, str(output))["rows"]["validation"] > 0


def test_ratings_lost_before_the_rows_were_built_are_found_and_nothing_published(
    small_movielens, tmp_path, monkeypatch):
  from movielens.conversion import beam_pipeline
  from movielens.conversion import run as conversion_run
  read_line_chunks = beam_pipeline.read_line_chunks

  def chunks_losing_a_line(path):
    for number, chunk in enumerate(read_line_chunks(path)):
      yield chunk[1:] if number == 0 else chunk  # the fault: a rating never parsed

  monkeypatch.setattr(beam_pipeline, "read_line_chunks", chunks_losing_a_line)
  ratings_path = os.path.join(small_movielens, c.RATINGS_FILE)
  with pytest.raises(conversion_run.LostRowsError, match=(
      rf"^{re.escape(ratings_path)} has 10,002 rating lines, but 10,001 reached the rows or "
      r"the skipped lines: ratings were lost inside the conversion, so nothing was published")):
    run_small_conversion(small_movielens, str(tmp_path / "csv"))
  assert sorted(os.listdir(tmp_path)) == ["csv.lock"]


@pytest.mark.slow
def test_conversions_of_300k_ratings_on_a_loaded_machine_are_whole_every_time(tmp_path):
  """The default Beam settings (pipeline.config.LOCAL_BEAM_ARGS) with both cores held by
  busy loops: each conversion passes its own shard check, and its files hold one row per
  rating."""
  from pipeline.config import LOCAL_BEAM_ARGS  # pylint: disable=g-import-not-at-top
  data = generate.generate_movielens(str(tmp_path / "raw"),
                                     generate.GeneratorConfig.scaled(0.3, seed=3))
  ratings = sum(1 for _ in open(os.path.join(data, c.RATINGS_FILE), "rb"))
  busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
  try:
    for attempt in range(3):
      config = conversion.ConversionConfig(input_dir=data,
                                           output_dir=str(tmp_path / f"csv{attempt}"))
      summary = conversion.run_conversion(config, list(LOCAL_BEAM_ARGS))
      assert sum(summary["rows"].values()) == ratings
      written = sum(len(read_split(config.output_dir, split)) for split in c.SPLITS)
      assert written == ratings
  finally:
    for process in busy:
      process.kill()


def test_time_cutoff_split(small_movielens, tmp_path):
  ratings = parse.load_movielens(small_movielens).ratings
  validation_cutoff, cutoff = (int(ratings.timestamp.quantile(q)) for q in (0.7, 0.8))
  summary = run_small_conversion(small_movielens, str(tmp_path), time_cutoff=cutoff,
                                 validation_time_cutoff=validation_cutoff)
  times = {split: read_split(str(tmp_path), split)[c.TARGET_TIMESTAMP].astype(int)
           for split in c.SPLITS}
  assert (times["train"] < validation_cutoff).all()
  assert ((times["validation"] >= validation_cutoff) & (times["validation"] < cutoff)).all()
  assert (times["eval"] >= cutoff).all()
  assert summary["rows"] == {
      "train": (ratings.timestamp < validation_cutoff).sum(),
      "validation": ratings.timestamp.between(validation_cutoff, cutoff - 1).sum(),
      "eval": (ratings.timestamp >= cutoff).sum()}


@pytest.mark.parametrize("settings,message", [
    (dict(time_cutoff=100), "time_cutoff and validation_time_cutoff go together"),
    (dict(time_cutoff=100, validation_time_cutoff=100),
     r"validation_time_cutoff \(100\) must be before time_cutoff \(100\)"),
    (dict(validation_fraction=0.0), r"validation_fraction must be in \(0, 1\), got 0.0"),
    (dict(eval_fraction=0.5, validation_fraction=0.5),
     "eval_fraction \\+ validation_fraction must be below 1, got 0.5 \\+ 0.5"),
])
def test_split_settings_are_checked(tmp_path, settings, message):
  data = write_dat_files(tmp_path / "in", RATINGS, USERS, MOVIES)
  with pytest.raises(ValueError, match=message):
    run_small_conversion(data, str(tmp_path / "out"), **settings)


def test_every_shard_exists_even_when_empty(tmp_path):
  data = write_dat_files(tmp_path / "in", RATINGS, USERS, MOVIES)
  run_small_conversion(data, str(tmp_path / "out"), num_shards=5)
  for split in c.SPLITS:
    shards = sorted(glob.glob(str(tmp_path / "out" / split / "*.csv")))
    assert len(shards) == 5
    for shard in shards:
      assert open(shard).readline().strip() == ",".join(c.CSV_COLUMNS)


def test_catalog_keeps_titles_and_genres(tmp_path):
  data = write_dat_files(tmp_path / "in", RATINGS, USERS, MOVIES)
  run_small_conversion(data, str(tmp_path / "out"))
  with open(tmp_path / "out" / c.CATALOG_DIR / c.CATALOG_FILE, encoding="utf-8") as f:
    rows = list(csv.reader(f))
  assert rows[0] == list(c.CATALOG_COLUMNS)
  assert rows[4] == ["4", "Balto, The (1995)", "Animation|Children's"]


@pytest.mark.parametrize("bad_line,line_number,reason", [
    ("1::2::9::100", 3, "rating outside 1-5"),
    ("1::1::4::300", 3, "duplicate (user, movie) rating"),  # found after grouping by user
    ("3::1::4::100", 3, "rating for an unknown user"),
])
def test_strict_errors_from_beam_workers_name_file_and_line(tmp_path, bad_line, line_number,
                                                            reason):
  ratings = list(RATINGS)
  ratings[line_number - 1] = bad_line
  data = write_dat_files(tmp_path / "in", ratings, USERS, MOVIES)
  with pytest.raises(parse.MovieLensFormatError) as raised:
    run_small_conversion(data, str(tmp_path / "out"))
  assert str(raised.value).startswith(
      f"{os.path.join(data, 'ratings.dat')}:{line_number}: {reason}")


def test_lenient_conversion_counts_and_lists_every_skipped_line(tmp_path):
  ratings = RATINGS + ["1::9::4::100", "1::1::4::300", "bad line", "2::2::0::5"]
  users = USERS + ["3::F::99::1::12345"]
  movies = MOVIES + ["5::Nixon (1995)::Biography"]
  data = write_dat_files(tmp_path / "in", ratings, users, movies)
  summary = run_small_conversion(data, str(tmp_path / "out"), strict=False)
  assert summary["skipped"] == {
      "movies.dat": {"unknown code": 1},
      "ratings.dat": {"duplicate (user, movie) rating": 1, "malformed line": 1,
                      "rating for an unknown movie": 1, "rating outside 1-5": 1},
      "users.dat": {"unknown code": 1}}
  assert summary["skipped_total"] == 6
  assert sum(summary["rows"].values()) == len(RATINGS)
  listed = open(tmp_path / "out" / c.SKIPPED_FILE).read().splitlines()
  assert [line.split(": ")[0].rsplit("/", 1)[1] for line in listed] == [
      "ratings.dat:6", "ratings.dat:7", "ratings.dat:8", "ratings.dat:9", "users.dat:3",
      "movies.dat:5"]


def test_a_rating_of_a_skipped_movie_gives_the_true_reason(tmp_path):
  # Movie 5 is in movies.dat, but its line was skipped: its rating must not say otherwise.
  movies = MOVIES + ["5::Nixon (1995)::Biography"]
  data = write_dat_files(tmp_path / "in", RATINGS + ["1::5::4::400"], USERS, movies)
  run_small_conversion(data, str(tmp_path / "out"), strict=False)
  listed = open(tmp_path / "out" / c.SKIPPED_FILE).read().splitlines()
  rating_line = f"{os.path.join(data, 'ratings.dat')}:{len(RATINGS) + 1}"
  assert [line for line in listed if line.startswith(rating_line)] == [
      f"{rating_line}: rating for an unknown movie: MovieID 5's own line was skipped "
      "(movies.dat:5: unknown code)"]
  parsed = parse.load_movielens(data, strict=False)  # the pure parser says the same
  assert [str(error) for error in parsed.skipped.errors
          if str(error).startswith(rating_line)] == [
              line for line in listed if line.startswith(rating_line)]


def test_summary_detects_stale_output(tmp_path):
  data = write_dat_files(tmp_path / "in", RATINGS, USERS, MOVIES)
  config = conversion.ConversionConfig(input_dir=data, output_dir=str(tmp_path / "out"))
  assert not conversion.is_current(config)
  conversion.run_conversion(config)
  assert conversion.is_current(config)
  summary = json.load(open(tmp_path / "out" / c.SUMMARY_FILE))
  assert summary["synthetic"] is False
  assert set(summary["inputs"]) == set(c.DATA_FILES)
  assert not conversion.is_current(conversion.ConversionConfig(data, str(tmp_path / "out"),
                                                         history_length=5))
  with open(os.path.join(data, c.RATINGS_FILE), "a") as f:
    f.write("2::2::5::20\n")
  assert not conversion.is_current(config)


def test_missing_input_file_is_named(tmp_path):
  data = write_dat_files(tmp_path / "in", RATINGS, USERS, MOVIES)
  os.remove(os.path.join(data, c.USERS_FILE))
  with pytest.raises(FileNotFoundError, match="users.dat"):
    run_small_conversion(data, str(tmp_path / "out"))


def test_the_settings_that_choose_the_eval_rows_are_the_span_cut_the_cutoff_or_the_fraction():
  """What two conversions of the same ratings must share for one's models never to have
  trained on the other's eval rows (local_run.checks refuses a store that mixes them)."""
  config = conversion.ConversionConfig("in", "out")
  settings = dataclasses.asdict(config)
  eval_rows = conversion_config.eval_rows_settings
  assert eval_rows(settings) == {"eval_fraction": 0.1}
  assert eval_rows(config.settings()) == {"eval_fraction": 0.1}  # as a summary holds them
  assert eval_rows(dataclasses.replace(config, spans=3, span=1).settings()) == {"spans": 3}
  assert eval_rows(dict(settings, history_length=3, validation_fraction=0.2,
                        num_shards=2)) == {"eval_fraction": 0.1}  # the same eval rows
  assert eval_rows(dict(settings, time_cutoff=5, validation_time_cutoff=4)) == {
      "time_cutoff": 5}
  assert eval_rows(dict(settings, spans=3, eval_fraction=0.3)) == {"spans": 3}
  assert eval_rows(dict(settings, span_days=7)) == {"span_days": 7}
