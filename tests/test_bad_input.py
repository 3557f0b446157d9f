"""Bad input gets one line naming what is wrong, and exit 1; a run is safe to repeat or to
start twice. One test per kind of failure, each asserting the message a user reads."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import kubeflow_v2_runner
import local_runner
from local_run import config as local_config
from local_run import pipeline_run
from movielens import constants as c
from movielens import contract
from movielens import conversion
from movielens import parse
from serving import model as serving_model
from serving import recommend
from tests.conftest import write_dat_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USERS = ["1::F::1::10::48067", "2::M::56::16::70072"]
MOVIES = ["1::Heat (1995)::Action", "2::Casino (1995)::Drama", "3::Sabrina (1995)::Comedy"]
RATINGS = ["1::3::4::978300100", "1::1::5::978300050", "1::2::3::978300200",
           "2::1::2::978300010", "2::3::1::978300020"]


def run(*command, timeout=300):
  return subprocess.run([sys.executable, *command], capture_output=True, text=True,
                        timeout=timeout, cwd=REPO)


def one_line_error(result) -> str:
  """The command failed with exit 1 and one line on stderr (no traceback, no TensorFlow
  start-up log); returns that line."""
  assert result.returncode == 1, result.stderr[-3000:]
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1, result.stderr[-3000:]
  return lines[0]


# --- Flags -----------------------------------------------------------------------------------

def test_a_misspelled_flag_is_refused_with_the_nearest_known_one():
  with pytest.raises(ValueError, match=r"^unknown flag --mae_bound: not one of this "
                     r"command's \(--help\) nor a Beam pipeline option; did you mean "
                     r"--mae-bound\?$"):
    local_runner.parse_args(["--synthetic", "--mae_bound", "0.1"])
  beam = ["--direct_num_workers=2", "--runner=FlinkRunner", "--flink_master=h:8081",
          "--environment_type=LOOPBACK"]
  assert local_runner.parse_args(["--synthetic", *beam])[1] == beam  # Beam's own pass


def test_the_runner_says_it_in_one_line(tmp_path):
  result = run("local_runner.py", "--synthetic", "--mae_bound", "0.1", "--output-dir",
               str(tmp_path))
  assert one_line_error(result) == (
      "error: unknown flag --mae_bound: not one of this command's (--help) nor a Beam "
      "pipeline option; did you mean --mae-bound?")
  assert not os.listdir(tmp_path)  # refused before anything was written


def test_a_data_dir_without_the_movielens_files_is_refused_before_anything_is_written(
    tmp_path):
  data_dir, output_dir = tmp_path / "data", tmp_path / "out"
  data_dir.mkdir()
  (data_dir / "ratings.dat").write_text("1::1::5::978300760\n")
  result = run("local_runner.py", "--data-dir", str(data_dir), "--output-dir", str(output_dir))
  assert one_line_error(result) == (
      f"error: --data-dir {data_dir} has no users.dat and no movies.dat (MovieLens needs "
      "ratings.dat, users.dat, movies.dat)")
  assert not output_dir.exists()  # not even a log file
  (data_dir / "ratings.dat").rename(tmp_path / "ratings.dat")
  result = run("local_runner.py", "--data-dir", str(tmp_path / "ratings.dat"),
               "--output-dir", str(output_dir))
  assert one_line_error(result) == (
      f"error: --data-dir {tmp_path / 'ratings.dat'} is a file, not a folder holding "
      "ratings.dat, users.dat, movies.dat")


@pytest.mark.parametrize("scale", ["0", "-1", "nan"])
def test_scale_must_be_a_positive_number(scale):
  with pytest.raises(ValueError, match=f"^--scale must be a positive number, got {scale}$"):
    local_runner.parse_args(["--synthetic", "--scale", scale])


def test_an_output_dir_that_is_a_file_is_refused(tmp_path):
  (tmp_path / "a_file").write_text("")
  with pytest.raises(ValueError, match=f"--output-dir {tmp_path}/a_file is a file"):
    local_runner.parse_args(["--synthetic", "--output-dir", str(tmp_path / "a_file")])


@pytest.mark.parametrize("flags,message", [
    (["--span", "2"], "--replay and --span need span mode"),
    (["--replay"], "--replay and --span need span mode"),
    (["--portable-spans"], "--portable-spans needs span mode"),
    (["--spans", "3", "--replay", "--span", "1"], "--replay runs every span"),
    (["--spans", "3", "--train-spans", "0"], "--train-spans must be at least 1, got 0"),
])
def test_span_flags_that_cannot_work_are_refused_at_parse_time(flags, message, capsys):
  with pytest.raises(SystemExit) as exit_info:
    local_runner.parse_args(["--synthetic", *flags])
  assert exit_info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("epochs", ["0", "-3"])
def test_epochs_must_be_at_least_one(epochs):
  """Refused with the other flags, before any data is prepared."""
  with pytest.raises(ValueError, match=f"^epochs must be at least 1, got {epochs}$"):
    local_runner.parse_args(["--synthetic", "--epochs", epochs])


@pytest.mark.parametrize("flag, value, message", [
    ("--mae-bound", "nan", r"--mae-bound\) must be a positive number, got nan"),
    ("--mae-bound", "-1", r"--mae-bound\) must be a positive number, got -1"),
    ("--mae-bound", "0", r"--mae-bound\) must be a positive number, got 0"),
    ("--mae-max-increase", "-5", r"--mae-max-increase\) must be 0 or more, got -5"),
    ("--mae-max-increase", "inf", r"--mae-max-increase\) must be 0 or more, got inf"),
    ("--gate-confidence", "nan", r"--gate-confidence\) must be at least 0.5 and below 1, got nan"),
    ("--gate-confidence", "1", r"--gate-confidence\) must be at least 0.5 and below 1, got 1"),
    ("--gate-confidence", "0.3", r"--gate-confidence\) must be at least 0.5 and below 1, "
     r"got 0.3"),
])
def test_impossible_gate_values_are_refused_before_any_work(flag, value, message):
  for runner in (local_runner.parse_args,
                 lambda argv: kubeflow_v2_runner.parse_args(
                     ["--image", "i", "--pipeline-root", "r", "--csv-dir", "c",
                      "--serving-dir", "s", *argv[1:]])):
    with pytest.raises(ValueError, match=message):
      runner(["--synthetic", flag, value])


def test_a_tune_without_trials_is_refused():
  with pytest.raises(ValueError, match="^--tune-trials must be at least 1, got 0$"):
    local_runner.parse_args(["--synthetic", "--tune", "--tune-trials", "0"])


@pytest.mark.parametrize("flags, message", [
    (["--seed", "-1"], "--seed must be 0 or more, got -1"),
    (["--set", "learning_rate=abc"], "--set learning_rate=abc: learning_rate takes a float, "
     "like 0.002"),
    (["--set", "learning_rate=-1"], "learning_rate must be 0 or more, got -1.0"),
    (["--set", "next_movie_weight=-0.5"], "next_movie_weight must be 0 or more, got -0.5"),
    (["--set", "hidden_units=8,x"], "--set hidden_units=8,x: hidden_units takes "
     "comma-separated integers"),
    (["--tune-trials", "3"], "--tune-trials is for --tune: add --tune, or drop --tune-trials"),
    (["--window", "7", "--history-length", "6"], "--window 7 is longer than the 6 history "
     "events per CSV row (--history-length): pass --window 6 or less, or --history-length 7 "
     "or more"),
    (["--spans", "3", "--span", "99"], "--span 99 is not a span of --spans 3: spans are 0 to 2"),
    (["--spans", "3", "--span", "-1"], "--span must be 0 or more (the first span is 0), got -1"),
])
def test_flags_that_cannot_work_are_refused_naming_the_flag_before_any_work(flags, message):
  with pytest.raises(ValueError) as error:
    local_runner.parse_args(["--synthetic", *flags])
  assert str(error.value) == message


# --- The conversion ------------------------------------------------------------------------

def test_an_empty_ratings_file_is_refused(tmp_path):
  data = write_dat_files(tmp_path / "in", [], USERS, MOVIES)
  config = conversion.ConversionConfig(data, str(tmp_path / "out"))
  with pytest.raises(ValueError, match=f"^{data}/ratings.dat: no ratings to convert$"):
    conversion.run_conversion(config)
  assert not conversion.is_current(config) and not os.path.exists(tmp_path / "out.partial")


def test_a_cut_off_last_line_is_refused(tmp_path):
  data = write_dat_files(tmp_path / "in", RATINGS + ["2::2::5::97830"], USERS, MOVIES)
  ratings = os.path.join(data, c.RATINGS_FILE)
  with open(ratings, "rb+") as f:  # the file ends inside its last line's timestamp
    f.truncate(os.path.getsize(ratings) - 1)
  message = (f"{ratings}:6: no line end: the file ends inside this line (cut off?): "
             "'2::2::5::97830'")
  with pytest.raises(parse.MovieLensFormatError, match=f"^{re.escape(message)}$"):
    parse.load_movielens(data)
  with pytest.raises(parse.MovieLensFormatError, match=f"^{re.escape(message)}$"):  # Beam
    conversion.run_conversion(conversion.ConversionConfig(data, str(tmp_path / "out")))
  lenient = conversion.run_conversion(conversion.ConversionConfig(data, str(tmp_path / "lenient"),
                                                            strict=False))
  assert lenient["skipped"] == {"ratings.dat": {"no line end": 1}}


def test_a_timestamp_past_2038_is_refused(tmp_path):
  data = write_dat_files(tmp_path / "in", RATINGS + ["2::2::5::" + "1" + "0" * 23],
                         USERS, MOVIES)
  with pytest.raises(parse.MovieLensFormatError, match=(
      r":6: timestamp out of range: Timestamp 1" + "0" * 23 + r" is after 2147483647")):
    parse.load_movielens(data)


def test_the_converter_command_says_a_format_error_in_one_line(tmp_path):
  data = write_dat_files(tmp_path / "in", RATINGS[:2] + ["1::2::9::978300200"], USERS,
                         MOVIES)
  result = run("-m", "movielens.convert", "--input-dir", data, "--output-dir",
               str(tmp_path / "out"))
  assert one_line_error(result) == (
      f"error: {data}/ratings.dat:3: rating outside 1-5: Rating 9 (--lenient skips such "
      "lines, counting each kind)")


def test_a_damaged_csv_is_not_reused(tmp_path):
  data = write_dat_files(tmp_path / "in", RATINGS, USERS, MOVIES)
  converted = str(tmp_path / "converted")
  conversion.run_conversion(conversion.ConversionConfig(data, converted))
  shard = "train/part-00000-of-00004.csv"

  def damaged(change) -> str:
    out = str(tmp_path / f"damaged{len(os.listdir(tmp_path))}")
    shutil.copytree(converted, out)
    change(out)
    return conversion.staleness(conversion.ConversionConfig(data, out))

  assert conversion.staleness(conversion.ConversionConfig(data, converted)) is None
  assert damaged(lambda out: open(os.path.join(out, shard), "a").truncate(20)) == (
      f"{shard} changed since it was written")
  assert damaged(lambda out: os.remove(os.path.join(out, shard))) == f"{shard} is missing"
  assert damaged(lambda out: shutil.copy(os.path.join(out, shard), os.path.join(
      out, "train", "part-00000-of-00002.csv"))) == (
          "train/part-00000-of-00002.csv is not from the last conversion")


def test_two_conversions_into_one_folder_leave_one_whole_conversion(tmp_path):
  data = write_dat_files(tmp_path / "in", RATINGS, USERS, MOVIES)
  out = str(tmp_path / "out")
  commands = [[sys.executable, "-m", "movielens.convert", "--input-dir", data,
               "--output-dir", out, "--num-shards", shards] for shards in ("4", "2")]
  started = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for command in commands]
  results = [process.communicate(timeout=300) for process in started]
  assert [process.returncode for process in started] == [0, 0], results
  train = sorted(os.listdir(os.path.join(out, c.TRAIN_SPLIT)))
  num_shards = int(train[0].split("-of-")[1].split(".")[0])
  assert len(train) == num_shards and all(f"-of-{num_shards:05d}" in f for f in train)
  assert conversion.is_current(conversion.ConversionConfig(data, out, num_shards=num_shards))
  assert sum(conversion.read_summary(out)["rows"].values()) == len(RATINGS)
  assert sorted(os.listdir(tmp_path)) == ["in", "out", "out.lock"]


# --- Requests and the serving commands ------------------------------------------------------

REQUEST = {c.USER_ID: 42, c.SEX: "F", c.AGE_GROUP: 25, c.OCCUPATION: 4,
           c.HISTORY_MOVIE_IDS: [1, 260], c.HISTORY_RATINGS: [4.0, 5.0],
           c.HISTORY_TIMESTAMPS: [978300760, 978302109], c.TARGET_MOVIE_ID: 1210,
           c.TARGET_TIMESTAMP: 978303000}


@pytest.mark.parametrize("change, message", [
    ({c.USER_ID: 10 ** 30}, "field 'user_id': expected an id from 1 to 9223372036854775807, "
     "got 1000000000000000000000000000000"),
    ({c.TARGET_TIMESTAMP: float("inf")}, "field 'target_timestamp': expected an integer, "
     "got inf"),
    ({c.TARGET_MOVIE_ID: 0}, "field 'target_movie_id': expected an id from 1 to "
     "9223372036854775807, got 0"),
    ({c.AGE_GROUP: 7}, "field 'age_group': expected one of 1, 18, 25, 35, 45, 50, 56, got 7"),
    ({c.OCCUPATION: 99}, "field 'occupation': expected 0-20, got 99"),
    ({c.HISTORY_TIMESTAMPS: [978300760, 978309999]}, "field 'history_timestamps': 978309999 "
     "is after the target_timestamp 978303000: the history comes before"),
    ({c.HISTORY_RATINGS: [4.0, float("nan")]}, "field 'history_ratings': expected ratings "
     "within 1-5, got nan"),
])
def test_requests_outside_the_contract_name_the_field(change, message):
  assert contract.request_from_row(REQUEST, "src", 3)[c.USER_ID] == 42
  with pytest.raises(contract.InvalidRequestError, match=f"^src: record 3: {message}$"):
    contract.request_from_row({**REQUEST, **change}, "src", 3)


def test_a_json_request_holds_numbers_as_numbers_and_a_csv_row_as_text():
  as_text = {**REQUEST, c.USER_ID: "42"}
  with pytest.raises(contract.InvalidRequestError,
                     match="^src: record 3: field 'user_id': expected an integer, got '42'$"):
    contract.request_from_row(as_text, "src", 3, text=False)
  assert contract.request_from_row(as_text, "src", 3)[c.USER_ID] == 42  # a CSV row's text


def test_json_lines_read_as_csv_are_named_as_such(tmp_path):
  from serving import requests  # pylint: disable=g-import-not-at-top
  data = (json.dumps(REQUEST) + "\n").encode()
  with pytest.raises(ValueError, match=r"^r.csv: line 1 is a JSON object, not a CSV header: "
                                       r"JSON lines are read with --format jsonl$"):
    requests.parse_requests(data, "r.csv", "csv")
  with pytest.raises(contract.InvalidRequestError, match="field 'user_id': expected an integer"):
    requests.parse_requests(json.dumps({**REQUEST, c.USER_ID: "42"}).encode(), "r", "jsonl")


def test_a_version_folder_without_a_model_is_refused(tmp_path):
  (tmp_path / "1700000000").mkdir()
  with pytest.raises(serving_model.NoModelError, match=(
      f"^{tmp_path}/1700000000 has no saved_model.pb: not a model the Pusher wrote$")):
    serving_model.version_dir(str(tmp_path))
  result = run("-m", "serving.predict", "-", "--serving-dir", str(tmp_path))
  assert one_line_error(result) == (
      f"error: {tmp_path}/1700000000 has no saved_model.pb: not a model the Pusher wrote")


def test_recommend_checks_its_flags(tmp_path):
  data = write_dat_files(tmp_path / "in", RATINGS, USERS, MOVIES)
  with pytest.raises(ValueError, match="^--top must be at least 1, got -150$"):
    recommend.parse_args(["--data-dir", data, "--user-id", "1", "--top", "-150"])
  result = run("-m", "serving.recommend", "--data-dir", str(tmp_path / "nowhere"),
               "--user-id", "1")
  assert one_line_error(result) == f"error: --data-dir {tmp_path}/nowhere has no movies.dat"


# --- Runs on one store, and the environment -------------------------------------------------

def test_a_second_run_on_one_pipeline_root_stops_at_once(tmp_path):
  root = str(tmp_path / "tfx")
  with pipeline_run.only_run_on(root):
    with pytest.raises(BlockingIOError, match=(
        f"^another run \\(pid {os.getpid()}\\) is using {root}: wait for it to end, or "
        "give this run its own --output-dir$")):
      with pipeline_run.only_run_on(root):
        pass
  with pipeline_run.only_run_on(root):  # released with the first run
    pass


def test_bootstrap_never_deletes_a_folder_it_did_not_make(tmp_path):
  precious = tmp_path / "precious"
  precious.mkdir()
  (precious / "thesis.tex").write_text("years of work")
  result = subprocess.run(["bash", os.path.join(REPO, "bin", "bootstrap")],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, BST_VENV=str(precious)))
  assert result.returncode == 1
  assert result.stderr.strip() == (
      f"bootstrap: {precious} exists and is not a virtualenv; not deleting it. Point "
      "BST_VENV at a new or virtualenv folder.")
  assert (precious / "thesis.tex").read_text() == "years of work"


def test_the_serving_commands_refuse_a_bad_request_before_loading_tensorflow(tmp_path):
  version = tmp_path / "serving" / "1700000000"
  version.mkdir(parents=True)
  (version / "saved_model.pb").write_bytes(b"never read: the request fails first")
  bad = tmp_path / "bad.jsonl"
  bad.write_text('{"user_id": 1}\n')
  code = ("import sys\nfrom serving import predict\nfrom cli import entry_point\n"
          "try:\n  entry_point.run(predict.main, sys.argv[1:])\nexcept SystemExit as error:\n"
          "  print(error)\n  print([m for m in ('tensorflow', 'tfx', 'apache_beam') "
          "if m in sys.modules])")
  result = run("-c", code, str(bad), "--serving-dir", str(tmp_path / "serving"))
  assert result.stdout.splitlines() == [f"error: {bad}: record 1: field 'sex': missing", "[]"]


# --- Paths and request files ------------------------------------------------------------------

def test_paths_on_the_command_line_are_made_absolute_before_anything_is_recorded(
    tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  args, _ = local_runner.parse_args(["--data-dir", "d", "--output-dir", "o",
                                     "--serving-dir", "s"])
  assert (args.data_dir, args.output_dir, args.serving_dir) == tuple(
      str(tmp_path / name) for name in ("d", "o", "s"))
  config = local_config.pipeline_config(args, str(tmp_path / "csv"), [])
  assert all(os.path.isabs(path) for path in (config.pipeline_root, config.metadata_path,
                                              config.serving_model_dir))


def test_a_symlinked_output_dir_is_resolved_once_at_the_start(tmp_path):
  (tmp_path / "real").mkdir()
  (tmp_path / "link").symlink_to(tmp_path / "real")
  args, _ = local_runner.parse_args(["--output-dir", str(tmp_path / "link")])
  assert args.output_dir == str(tmp_path / "real")  # the cache keys on artifact paths


def test_bin_run_reads_a_relative_output_dir_from_the_callers_folder(tmp_path):
  # --prepare-only with a --data-dir that lacks the files: refused, naming the folder as
  # resolved from the caller's folder, before anything is written anywhere.
  result = subprocess.run([os.path.join(REPO, "bin", "run"), "--data-dir", "raw",
                           "--output-dir", "out", "--prepare-only"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
  assert one_line_error(result) == f"error: --data-dir {tmp_path / 'raw'} does not exist"
  assert not os.path.exists(os.path.join(REPO, "out"))


@pytest.mark.parametrize("content, message", [
    (b"", "{path}: no requests in it"),
    (b"\n\n", "{path}: no requests in it"),
    (b'{"user_id": 1}\n\xc8\xff garbage\n', "{path}: line 2: not UTF-8 text (byte 0xc8): "
     "requests are JSON lines or CSV in UTF-8"),
])
def test_an_empty_or_undecodable_request_file_is_one_line_before_the_model(
    tmp_path, content, message):
  serving = tmp_path / "serving" / "1700000000"
  serving.mkdir(parents=True)
  (serving / "saved_model.pb").write_bytes(b"")  # never loaded: the requests fail first
  path = tmp_path / "requests.jsonl"
  path.write_bytes(content)
  result = run("-m", "serving.predict", str(path), "--serving-dir", str(serving.parent))
  assert one_line_error(result) == "error: " + message.format(path=path)


def test_titles_never_reach_the_terminal_raw():
  assert recommend.printable("Heat\x1b]0;owned\x07 (1995) Misérables") == (
      "Heat\\x1b]0;owned\\x07 (1995) Misérables")


def test_a_reader_that_leaves_early_is_no_error():
  # `bin/recommend ... | head -1`: the command stops quietly, as shell tools do.
  script = ("import sys; from cli import entry_point\n"
            "def main(argv):\n"
            "  for _ in range(100000): print('a line of output')\n"
            "entry_point.run(main, [])\n")
  result = subprocess.run(f"{sys.executable} -c \"{script}\" | head -1", shell=True,
                          cwd=REPO, capture_output=True, text=True, timeout=60)
  assert result.stdout == "a line of output\n"
  assert result.stderr == ""
