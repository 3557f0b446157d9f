"""predict, recommend and the HTML report, on the model a real pipeline run pushed."""
import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from matplotlib import image as matplotlib_image
import numpy as np
import pytest

from components import reference_models
from movielens import constants as c
from movielens import contract
from movielens import parse
from results import report_page
from results import runs
from serving import history
from serving import model as serving_model
from serving import recommend
from tests.conftest import eval_examples, serving_values
from trainer import summary as training_summary
from transform import features as f
from transform.config import TransformConfig

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(module, *args, stdin=None):
  return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                        timeout=300, cwd=REPO, input=stdin)


@pytest.fixture(scope="module")
def served(pipeline_runs):
  good = pipeline_runs["good"]
  return {"serving_dir": good["config"].serving_model_dir,
          "model": serving_model.RatingModel(good["outcome"].pushed_to),
          "requests": [serving_values(e) for e in eval_examples(good["components"], limit=20)]}


def test_latest_version_is_the_pushed_one(pipeline_runs, served):
  assert serving_model.version_dir(served["serving_dir"]) == (
      pipeline_runs["good"]["outcome"].pushed_to)
  with pytest.raises(serving_model.NoModelError, match="no version 7"):
    serving_model.version_dir(served["serving_dir"], 7)


def test_predict_scores_json_lines(tmp_path, served):
  path = tmp_path / "requests.jsonl"
  path.write_text("".join(json.dumps(r) + "\n" for r in served["requests"]))
  result = run_module("serving.predict", str(path), "--serving-dir", served["serving_dir"])
  assert result.returncode == 0, result.stderr[-2000:]
  lines = [json.loads(line) for line in result.stdout.splitlines()]
  assert [line["record"] for line in lines] == list(range(1, 21))
  assert [(line[c.USER_ID], line[c.TARGET_MOVIE_ID]) for line in lines] == [
      (r[c.USER_ID][0], r[c.TARGET_MOVIE_ID][0]) for r in served["requests"]]
  assert all(isinstance(line[contract.NEXT_MOVIE_KEY], float) for line in lines)
  expected = served["model"].predict(
      [contract.request_from_row(r, "test", 1) for r in served["requests"]])
  np.testing.assert_allclose([line["predicted_rating"] for line in lines], expected, atol=1e-4)
  assert result.stderr == ""  # known movies, good requests: nothing of TensorFlow's either

  as_csv = run_module("serving.predict", str(path), "--output", "csv", "--serving-dir",
                      served["serving_dir"])
  rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
  assert [{k: v for k, v in row.items()} for row in rows] == [
      {**{k: str(v) for k, v in line.items()}, "unknown_movie_ids": ""} for line in lines]


def test_predict_names_the_movies_the_model_never_trained_on(tmp_path, served):
  unknown = max(served["model"].known_movie_ids) + 1
  request = {**served["requests"][0], c.TARGET_MOVIE_ID: [unknown]}
  path = tmp_path / "requests.jsonl"
  path.write_text(json.dumps(served["requests"][1]) + "\n" + json.dumps(request) + "\n")
  result = run_module("serving.predict", str(path), "--serving-dir", served["serving_dir"])
  assert result.returncode == 0, result.stderr[-2000:]
  first, second = [json.loads(line) for line in result.stdout.splitlines()]
  assert "unknown_movie_ids" not in first and second["unknown_movie_ids"] == [unknown]
  assert result.stderr.splitlines() == [
      f"warning: {path}: 1 of 2 requests name movies the model never trained on, scored as "
      f"unknown movies (unknown_movie_ids in the output): record 2: {unknown}"]


def test_predict_scores_the_pipelines_own_csv(pipeline_csv, served):
  shard = sorted(os.listdir(os.path.join(pipeline_csv, c.EVAL_SPLIT)))[0]
  path = os.path.join(pipeline_csv, c.EVAL_SPLIT, shard)
  result = run_module("serving.predict", path, "--serving-dir", served["serving_dir"])
  assert result.returncode == 0, result.stderr[-2000:]
  lines = [json.loads(line) for line in result.stdout.splitlines()]
  with open(path) as shard_file:
    assert len(lines) == sum(1 for _ in shard_file) - 1  # every row but the header
  assert all(1 <= line["predicted_rating"] <= 5 and 1 <= line[c.RATING] <= 5
             for line in lines)


@pytest.mark.parametrize("change, message", [
    ({c.SEX: "X"}, "record 2: field 'sex': expected M or F, got 'X'"),
    ({c.USER_ID: "seven"}, "record 2: field 'user_id': expected an integer, got 'seven'"),
    ({c.HISTORY_RATINGS: [9.0]}, "record 2: field 'history_ratings'"),
    ({"genre": "Drama"}, "record 2: field 'genre': not a field of the serving contract"),
    ({c.USER_ID: 10 ** 30}, "record 2: field 'user_id': expected an id from 1 to "
     "9223372036854775807, got 1000000000000000000000000000000"),
    ({c.TARGET_TIMESTAMP: float("inf")}, "record 2: field 'target_timestamp': expected an "
     "integer, got inf"),
    ({c.AGE_GROUP: 7}, "record 2: field 'age_group': expected one of 1, 18, 25, 35, 45, 50, "
     "56, got 7"),
])
def test_predict_names_the_bad_record_and_field(tmp_path, served, change, message):
  records = [served["requests"][0], {**served["requests"][1], **change}]
  path = tmp_path / "bad.jsonl"
  path.write_text("".join(json.dumps(r) + "\n" for r in records))
  result = run_module("serving.predict", str(path), "--serving-dir", served["serving_dir"])
  assert result.returncode == 1 and result.stdout == ""
  assert f"{path}: {message}" in result.stderr


def test_requests_reject_missing_fields_and_misaligned_histories(served):
  request = dict(served["requests"][0])
  del request[c.TARGET_MOVIE_ID]
  with pytest.raises(contract.InvalidRequestError, match="field 'target_movie_id': missing"):
    contract.request_from_row(request, "src", 3)
  misaligned = {**served["requests"][0], c.HISTORY_RATINGS: [4.0] * 99}
  with pytest.raises(contract.InvalidRequestError, match="src: record 4: history_movie_ids, .* differ in length"):
    contract.request_from_row(misaligned, "src", 4)


def test_the_history_index_gives_each_user_the_parsed_history(tmp_path, pipeline_raw):
  """Built once, then read back: the same histories, oldest first, as parsing ratings.dat
  (ties in time in file order)."""
  data = parse.load_movielens(pipeline_raw)
  built = history.load(pipeline_raw, str(tmp_path))
  path = history.index_path(pipeline_raw, str(tmp_path))
  assert os.listdir(tmp_path) == [os.path.basename(path)]
  read_back = history.load(pipeline_raw, str(tmp_path))
  for user_id, ratings in data.ratings.groupby("user_id"):
    expected = ratings.sort_values(["timestamp", "line_number"])
    for index in (built, read_back):
      movie_ids, stars, times = index.history(user_id)
      assert movie_ids.tolist() == expected.movie_id.tolist()
      assert stars.tolist() == expected.rating.tolist()
      assert times.tolist() == expected.timestamp.tolist()
  with pytest.raises(LookupError, match="user 999999 has no ratings"):
    built.history(999999)


def test_recommend_ranks_unrated_movies(tmp_path, pipeline_raw, served):
  data = parse.load_movielens(pipeline_raw)
  user_id = int(data.ratings.user_id.iloc[0])
  assert served["model"].window == TransformConfig().window  # read back from the model
  index = history.load(pipeline_raw, str(tmp_path / "index"))
  user = recommend.user_request(data.users, index, user_id, served["model"].window)
  assert user["rated"] == set(data.ratings[data.ratings.user_id == user_id].movie_id)
  assert len(user[c.HISTORY_MOVIE_IDS]) == min(len(user["rated"]), served["model"].window)
  at = max(user[c.HISTORY_TIMESTAMPS]) + 1
  for by, key in recommend.ORDERS.items():
    top, scored = recommend.recommend(served["model"], user, data.movies, top=5, by=by)
    assert scored == len(data.movies) - len(user["rated"])
    assert len(top) == 5 and not {m["movie_id"] for m in top} & user["rated"]
    scores = [m[key] for m in top]
    assert scores == sorted(scores, reverse=True)
    assert top[0]["title"] == data.movies[top[0]["movie_id"]].title
    # The best candidate's scores are what the model gives that very request.
    alone = served["model"].score_all([{**user, c.TARGET_MOVIE_ID: top[0]["movie_id"],
                                        c.TARGET_TIMESTAMP: at}])
    for output in recommend.ORDERS.values():
      assert alone[output][0] == pytest.approx(top[0][output], abs=1e-4)

  result = run_module("serving.recommend", "--data-dir", pipeline_raw, "--user-id",
                      str(user_id), "--top", "3", "--serving-dir", served["serving_dir"],
                      "--index-dir", str(tmp_path / "index"))
  assert result.returncode == 0, result.stderr[-2000:]
  assert f"{scored:,} unrated movies scored" in result.stdout
  assert f"ranked by {contract.NEXT_MOVIE_KEY}" in result.stdout  # the default
  assert re.search(r"^  1\. +-?\d+\.\d\d +\d\.\d\d  .+\(movie \d+\)$", result.stdout, re.M)
  by_rating = run_module("serving.recommend", "--data-dir", pipeline_raw, "--user-id",
                         str(user_id), "--by", "rating", "--serving-dir", served["serving_dir"],
                         "--index-dir", str(tmp_path / "index"))
  assert f"ranked by {contract.PREDICTION_KEY}" in by_rating.stdout
  as_json = json.loads(run_module(
      "serving.recommend", "--data-dir", pipeline_raw, "--user-id", str(user_id), "--top",
      "3", "--json", "--serving-dir", served["serving_dir"], "--index-dir",
      str(tmp_path / "index")).stdout)
  assert (as_json[c.USER_ID], as_json["ranked_by"], as_json["candidates"]) == (
      user_id, contract.NEXT_MOVIE_KEY, scored)
  assert [m["movie_id"] for m in as_json["movies"]] == [
      int(line.rsplit("(movie ", 1)[1].rstrip(")")) for line in result.stdout.splitlines()
      if "(movie " in line]
  unknown = sorted(set(user[c.HISTORY_MOVIE_IDS]) - served["model"].known_movie_ids)
  assert as_json["unknown_movie_ids"] == unknown
  assert ("warning: the history names" in result.stderr) == bool(unknown)
  # A history naming a movie the model never trained on: ranked, but said.
  unknown_id = max(served["model"].known_movie_ids) + 1
  request = tmp_path / "user.json"
  request.write_text(json.dumps({
      **{key: user[key] for key in contract.USER_FIELDS}, c.HISTORY_MOVIE_IDS: [unknown_id],
      c.HISTORY_RATINGS: [4.0], c.HISTORY_TIMESTAMPS: [978300760]}))
  with_unknown = run_module("serving.recommend", "--data-dir", pipeline_raw, "--request",
                            str(request), "--serving-dir", served["serving_dir"])
  assert with_unknown.returncode == 0, with_unknown.stderr[-2000:]
  assert with_unknown.stderr.strip() == (
      "warning: the history names 1 movie(s) the model never trained on, read as unknown "
      f"movies: {unknown_id}")


def test_recommend_refuses_an_unknown_user_before_loading_the_model(pipeline_raw, served):
  result = subprocess.run(
      [sys.executable, "-X", "importtime", "-m", "serving.recommend", "--data-dir",
       pipeline_raw, "--user-id", "999999", "--serving-dir", served["serving_dir"]],
      cwd=REPO, capture_output=True, text=True, timeout=120)
  assert result.returncode == 1
  assert (f"error: user 999999 is not in {pipeline_raw}/{c.USERS_FILE}"
          in result.stderr.splitlines())
  assert not re.search(r"\| +tensorflow$", result.stderr, re.M)  # the model never loaded


def test_report_renders_the_runs_own_numbers(tmp_path, pipeline_runs):
  good, worse = pipeline_runs["good"], pipeline_runs["worse"]
  path = report_page.write_report(good["config"].metadata_path, good["run_id"],
                             str(tmp_path / "good.html"))
  page = open(path).read()
  for section in ("Overall", "Gate", "Data", "Ranking", "Slices", "Calibration", "Training"):
    assert f"<h2>{section}</h2>" in page
  assert ": generated (movielens.generate), converted to " in page  # what the run read
  assert re.search(r"<tr><td>train rows</td><td>[\d,]+</td></tr>", page)
  assert f"<td>{good['outcome'].mae:.4f}</td>" in page
  training = good["outcome"].training
  assert (f"<td>validation</td><td>{training['validation_mae']:.4f}</td>"
          f"<td>{training['validation_rmse']:.4f}</td><td>chose the model: the Trainer kept "
          f"epoch {training['kept_epoch']} of the {training['epochs_run']} it ran</td>") in page
  assert f"<td>eval</td><td>{good['outcome'].mae:.4f}</td>" in page
  assert "BLESSED: pushed to" in page
  assert "chance (a random order)" in page and "times chance" in page
  assert "b&#x27;" not in page and "b'" not in page  # values as text, not Python bytes
  # Codes by MovieLens's names; each metric by one name; the references beside the gate.
  by_slice = runs.metrics_by_slice(good["outcome"].evaluation_uri)
  ages = report_page.feature_slices(by_slice, c.AGE_GROUP)
  assert ages and all(f"<td>{label}</td>" in page for label, _ in ages)
  assert {label for label, _ in ages} <= set(c.AGE_GROUP_LABELS.values())
  assert "ExactMeanAbsoluteError" not in page and "mean_absolute_error" not in page
  references = good["outcome"].references
  for name in (reference_models.TRAINING_MEAN, reference_models.BIASES):
    assert f"<td>reference: {name}</td><td>{references[name]['mae']:.4f}</td>" in page
  # A slice under the drawing minimum is named under its chart, with its count.
  small = [(label, m) for label, m in report_page.feature_slices(by_slice, c.OCCUPATION)
           if runs.candidate(m)["example_count"] < report_page.MIN_DRAWN_EXAMPLES]
  for label, m in small:
    assert f"{label} ({int(runs.candidate(m)['example_count'])})" in page
  # Popularity buckets in their order, not as text ("1001+" sorts before "top 100").
  buckets = [name for _, name in f.POPULARITY_RANK_BUCKETS]
  shown = [b for b in buckets if f"<td>{b}</td>" in page]
  assert len(shown) >= 2 and sorted(shown, key=page.index) == shown
  # A slice holding every eval row is said, not drawn (no eval row has a short history here).
  history = report_page.feature_slices(runs.metrics_by_slice(good["outcome"].evaluation_uri),
                                  f.HISTORY_LENGTH_BUCKET)
  if len(history) == 1:
    assert (f"Not drawn: every eval row is in one slice, {history[0][0]}: nothing to "
            "compare.") in page
  worse_page = open(report_page.write_report(worse["config"].metadata_path, worse["run_id"],
                                        str(tmp_path / "worse.html"))).read()
  assert "baseline (last blessed)" in worse_page and "NOT BLESSED" in worse_page
  assert f"<td>{worse['outcome'].mae:.4f}</td><td>{good['outcome'].mae:.4f}</td>" in worse_page
  assert "<th>baseline MAE</th><th>change</th>" in worse_page  # per slice too


def test_calibration_groups_eval_rows_by_predicted_rating(pipeline_runs):
  """As the Evaluator's calibration plot: each bucket holds the rows whose prediction is in it, so
  its mean prediction lies inside; all eval rows are in some bucket."""
  outcome = pipeline_runs["good"]["outcome"]
  buckets = runs.calibration(outcome.evaluation_uri)
  assert len(buckets) >= 2
  for bucket in buckets:
    assert bucket.low <= bucket.mean_prediction < bucket.high
    assert c.MIN_RATING <= bucket.mean_label <= c.MAX_RATING
  overall = runs.candidate(runs.metrics_by_slice(outcome.evaluation_uri)[()])
  assert sum(b.examples for b in buckets) == overall["example_count"]
  assert sum(b.examples * b.mean_label for b in buckets) / overall["example_count"] == (
      pytest.approx(overall["mean_label"], abs=1e-6))


CHROMIUM = shutil.which("chromium")
CHART_BLUE = (0x1f, 0x77, 0xb4)  # matplotlib's first colour: the candidate's bars


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (bin/test installs it)")
def test_report_renders_in_a_headless_browser(tmp_path, pipeline_runs):
  """The page as a browser draws it: a screenshot with the charts' colours in it."""
  good = pipeline_runs["good"]
  page = report_page.write_report(good["config"].metadata_path, good["run_id"],
                             str(tmp_path / "report.html"))
  screenshot = tmp_path / "report.png"
  subprocess.run([CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
                  "--window-size=1100,5000", f"--screenshot={screenshot}",
                  f"file://{page}"], capture_output=True, timeout=120, check=True)
  pixels = (matplotlib_image.imread(screenshot)[..., :3] * 255).round().astype(int)
  assert pixels.shape[:2] == (5000, 1100)
  is_blue = (abs(pixels - np.array(CHART_BLUE)) <= 2).all(axis=-1)
  assert is_blue.sum() > 1000  # the bar charts were drawn
  assert (pixels < 128).all(axis=-1).sum() > 10_000  # and the text


def test_report_command_lists_runs_and_writes_the_latest(tmp_path, pipeline_runs):
  metadata = pipeline_runs["worse"]["config"].metadata_path
  listed = run_module("results.report", "--metadata", metadata, "--list")
  assert listed.returncode == 0, listed.stderr[-2000:]
  header, *lines = listed.stdout.splitlines()
  assert header.split() == ["run", "started", "eval", "MAE", "verdict"]
  good, worse = pipeline_runs["good"], pipeline_runs["worse"]
  assert [line.split()[0] for line in lines] == [good["run_id"], worse["run_id"]]
  assert re.fullmatch(rf"\S+ +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d +"
                      rf"{good['outcome'].mae:.4f}  blessed, pushed to "
                      rf"{re.escape(good['outcome'].pushed_to)}", lines[0]), lines[0]
  assert lines[1].endswith(f"{worse['outcome'].mae:.4f}  not blessed")
  written = run_module("results.report", "--metadata", metadata, "--output",
                       str(tmp_path / "latest.html"))
  assert written.returncode == 0 and os.path.isfile(written.stdout.strip())
  by_output_dir = run_module("results.report", "--output-dir",
                             os.path.dirname(os.path.dirname(metadata)), "--list")
  assert by_output_dir.stdout == listed.stdout


def test_tensorboard_serves_each_run_under_a_readable_name_with_its_model_choice(
    pipeline_runs):
  root = os.path.dirname(os.path.dirname(pipeline_runs["good"]["config"].metadata_path))
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
  server = subprocess.Popen([sys.executable, "-m", "results.tensorboard", "--output-dir", root,
                             "--port", str(port)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
  expected = set()
  for name in ("good", "worse"):
    training = pipeline_runs[name]["outcome"].training
    settings = " epochs=2 learning_rate=0.0" if name == "worse" else ""
    run = (f"{pipeline_runs[name]['run_id'].replace(':', '.')} kept epoch "
           f"{training['kept_epoch']} validation MAE {training['validation_mae']:.4f}"
           f"{settings}")
    expected |= {f"{run}/train", f"{run}/validation", f"{run}/model_choice"}
  good = pipeline_runs["good"]["outcome"].training
  good_choice = next(run for run in expected if run.startswith(
      pipeline_runs["good"]["run_id"].replace(":", ".")) and run.endswith("/model_choice"))
  served, deadline = [], time.monotonic() + 120
  try:
    while set(served) != expected:
      assert server.poll() is None, server.stderr.read()[-3000:]
      assert time.monotonic() < deadline, f"TensorBoard served {served}, not {expected}"
      time.sleep(1)
      try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs", timeout=5) as page:
          served = json.load(page)
      except OSError:
        pass  # not listening yet
    data = f"http://127.0.0.1:{port}/data/plugin"
    with urllib.request.urlopen(f"{data}/custom_scalars/layout", timeout=5) as page:
      charts = [chart for category in json.load(page)["category"]
                for chart in category["chart"]]
    assert [chart["multiline"]["tag"] for chart in charts] == [["^MAE/"]]
    query = urllib.parse.urlencode({"run": good_choice, "tag": training_summary.KEPT_TAG})
    with urllib.request.urlopen(f"{data}/scalars/scalars?{query}", timeout=5) as page:
      (_, step, value), = json.load(page)  # one point: the kept epoch, counted from 1
    assert (step, value) == (good["kept_epoch"], pytest.approx(good["validation_mae"]))
  finally:
    server.terminate()
    server.wait(timeout=30)


def test_slices_read_as_text_in_their_natural_order():
  names = [b"1001+", b"unseen in training", b"top 100", b"501-1000", b"101-500"]
  by_slice = {((f.TARGET_POPULARITY_BUCKET, name),): {"": {"mae": 1.0}} for name in names}
  by_slice.update({((c.AGE_GROUP, age),): {"": {"mae": 1.0}} for age in (56, 1, 25)})
  assert [label for label, _ in report_page.feature_slices(by_slice, f.TARGET_POPULARITY_BUCKET)
          ] == ["top 100", "101-500", "501-1000", "1001+", "unseen in training"]
  assert [label for label, _ in report_page.feature_slices(by_slice, c.AGE_GROUP)] == [
      "under 18", "25-34", "56+"]  # MovieLens's names for the codes, in the codes' order


def test_requests_take_scalars_bare_or_as_one_element_lists(served):
  bare = {k: (v[0] if k not in contract.LISTS else v) for k, v in served["requests"][0].items()}
  assert (contract.request_from_row(bare, "src", 1)
          == contract.request_from_row(served["requests"][0], "src", 1))
  with pytest.raises(contract.InvalidRequestError, match="field 'user_id': expected one value"):
    contract.request_from_row({**bare, c.USER_ID: [1, 2]}, "src", 1)
