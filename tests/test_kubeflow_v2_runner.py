"""The Kubeflow V2 runner compiles the same pipeline into a PipelineJob JSON, offline."""
import json

import pytest
from google.protobuf import json_format
from tfx import v1 as tfx

import kubeflow_v2_runner
from cli import entry_point
from pipeline import definition
from pipeline import nodes

IMAGE = "europe-docker.pkg.dev/p/r/bst-movielens:test"
BEAM = ["--runner=DataflowRunner", "--project=p", "--region=europe-west4",
        "--temp_location=gs://b/tmp"]


def test_compiles_every_component_with_its_parameters(tmp_path):
  args, beam_args = kubeflow_v2_runner.parse_args([
      "--image", IMAGE, "--pipeline-root", "gs://b/tfx", "--csv-dir", "gs://b/csv",
      "--serving-dir", "gs://b/serving", "--output", str(tmp_path / "job.json"),
      "--mae-bound", "0.8", "--tune", "--tune-trials", "3", "--set", "dropout=0.25", *BEAM])
  config = kubeflow_v2_runner.pipeline_config(args, beam_args)
  assert config.trainer.dropout == 0.25 and beam_args == BEAM
  path = kubeflow_v2_runner.compile_pipeline(config, IMAGE, args.output)
  job = json.load(open(path))
  spec = job["pipelineSpec"]
  tasks = spec["root"]["dag"]["tasks"]
  expected = {component.id for component in definition.create_components(config)}
  assert nodes.TUNER in expected
  # The Resolver compiles into one resolver task per channel it resolves.
  resolver_tasks = {t for t in tasks if t.startswith(nodes.BASELINE_RESOLVER)}
  assert resolver_tasks == {f"{nodes.BASELINE_RESOLVER}-model-resolver",
                            f"{nodes.BASELINE_RESOLVER}-model-blessing-resolver"}
  assert set(tasks) - resolver_tasks == expected - {nodes.BASELINE_RESOLVER}
  assert job["runtimeConfig"]["gcsOutputDirectory"] == "gs://b/tfx"
  executors = spec["deploymentSpec"]["executors"].values()
  assert {e["container"]["image"] for e in executors if "container" in e} == {IMAGE}
  text = json.dumps(job)
  for value in ("gs://b/csv/", "gs://b/serving", "--runner=DataflowRunner",
                "--region=europe-west4", kubeflow_v2_runner.IMAGE_SCHEMA_PATH,
                "transform.preprocessing.preprocessing_fn", "trainer.task.run_fn",
                "trainer.tuning.tuner_fn", "0.8"):
    assert value in text, value


def test_a_bad_set_is_one_line_naming_the_known_keys(tmp_path):
  with pytest.raises(SystemExit, match=r"^error: 'windw=3': expected KEY=VALUE with KEY one of "
                     r"\['batch_size', "):
    entry_point.run(kubeflow_v2_runner.main, [
        "--image", IMAGE, "--pipeline-root", "gs://b/tfx", "--csv-dir", "gs://b/csv",
        "--serving-dir", "gs://b/serving", "--output", str(tmp_path / "job.json"),
        "--set", "windw=3"])


def _compile_span(tmp_path, span, *flags):
  """The DAG's tasks of span mode's run of `span`, compiled as a scheduled job would."""
  args, beam_args = kubeflow_v2_runner.parse_args([
      "--image", IMAGE, "--pipeline-root", "gs://b/tfx", "--csv-dir", "gs://b/csv",
      "--serving-dir", "gs://b/serving", "--output", str(tmp_path / f"span{span}.json"),
      "--span", str(span), "--spans", "5", *flags, *BEAM])
  config = kubeflow_v2_runner.pipeline_config(args, beam_args)
  job = json.load(open(kubeflow_v2_runner.compile_pipeline(config, IMAGE, args.output)))
  return job["pipelineSpec"]["root"]["dag"]["tasks"]


def _parameter(task, name):
  """A task's constant parameter, as the component reads it (JSON text decoded)."""
  value = task["inputs"]["parameters"][name]["runtimeValue"]["constantValue"]
  if "stringValue" not in value:
    return int(value["intValue"])
  try:
    return json.loads(value["stringValue"])
  except json.JSONDecodeError:
    return value["stringValue"]


def _span_range(task):
  """(first, last) span of an ExampleGen's range_config (JSON leaves out zeros)."""
  static = json_format.ParseDict(_parameter(task, "range_config"),
                                 tfx.proto.RangeConfig()).static_range
  return static.start_span_number, static.end_span_number


def _producer(task, key):
  return task["inputs"]["artifacts"][key]["taskOutputArtifact"]["producerTask"]


def test_span_0_compiles_to_ingesting_and_checking_its_span(tmp_path):
  tasks = _compile_span(tmp_path, 0)
  assert set(tasks) == {nodes.EXAMPLE_GEN, nodes.STATISTICS_GEN, nodes.SCHEMA_GEN,
                        nodes.EXAMPLE_VALIDATOR, nodes.ANOMALY_GATE}
  assert _span_range(tasks[nodes.EXAMPLE_GEN]) == (0, 0)
  assert _parameter(tasks[nodes.ANOMALY_GATE], "csv_dir") == "gs://b/csv/span-0"


def _window_splits(tasks):
  return [(split["name"], split["pattern"]) for split in
          _parameter(tasks[nodes.TRAINING_EXAMPLE_GEN], "input_config")["splits"]]


def test_span_k_compiles_with_its_window_drift_check_base_model_and_gate(tmp_path):
  """Run 3 of 5, training on the 2 spans before it: span 3 ingested by CsvExampleGen
  (evaluated on), spans 1 and 2 by the window's ExampleGen, one split per span and part;
  drift of span 3 against span 2's train part; the warm start and the gate's baseline from
  the LatestBlessedModel resolver; span mode's gate (better beyond noise)."""
  tasks = _compile_span(tmp_path, 3, "--train-spans", "2")
  assert _span_range(tasks[nodes.EXAMPLE_GEN]) == (3, 3)
  assert _parameter(tasks[nodes.EXAMPLE_GEN], "input_config")["splits"][0]["pattern"] == (
      "span-{SPAN}/train/*")
  assert _window_splits(tasks) == [
      ("span1_train", "span-1/train/*"), ("span1_validation", "span-1/validation/*"),
      ("span2_train", "span-2/train/*"), ("span2_validation", "span-2/validation/*")]
  assert "range_config" not in tasks[nodes.TRAINING_EXAMPLE_GEN]["inputs"]["parameters"]
  # No span resolver: the compiler takes only these two.
  assert {t for t in tasks if "resolver" in t} == {
      f"{nodes.BASELINE_RESOLVER}-model-resolver",
      f"{nodes.BASELINE_RESOLVER}-model-blessing-resolver"}

  trainer = tasks[nodes.TRAINER]
  assert _producer(trainer, "examples") == nodes.TRAINING_EXAMPLE_GEN
  assert _producer(trainer, "base_model") == f"{nodes.BASELINE_RESOLVER}-model-resolver"
  assert _parameter(trainer, "train_args")["splits"] == [
      "span1_train", "span2_train", "span1_validation"]
  assert _parameter(trainer, "eval_args")["splits"] == ["span2_validation"]
  assert _parameter(tasks[nodes.TRANSFORM], "splits_config")["analyze"] == [
      "span1_train", "span2_train"]
  assert _parameter(tasks[nodes.REFERENCE_MODELS], "train_splits") == "span1_train,span2_train"

  validator = tasks[nodes.DISTRIBUTION_VALIDATOR]
  assert _producer(validator, "statistics") == nodes.STATISTICS_GEN
  assert _producer(validator, "baseline_statistics") == nodes.PREVIOUS_STATISTICS_GEN
  assert _parameter(validator, "include_split_pairs") == [["train", "span2_train"]]
  assert _producer(tasks[nodes.PREVIOUS_STATISTICS_GEN], "schema") == nodes.SCHEMA_GEN
  assert _parameter(tasks[nodes.PREVIOUS_STATISTICS_GEN], "exclude_splits") == [
      "span1_train", "span1_validation", "span2_validation"]
  gate = tasks[nodes.ANOMALY_GATE]
  assert _parameter(gate, "span") == 3
  # ...and it counts the window's rows, ingested again, against each span's conversion.
  assert _producer(gate, "window") == nodes.TRAINING_EXAMPLE_GEN
  assert _parameter(gate, "window_csv_root") == "gs://b/csv"

  evaluator = tasks[nodes.EVALUATOR]
  assert _producer(evaluator, "examples") == nodes.EXAMPLE_GEN
  assert _producer(evaluator, "baseline_model") == f"{nodes.BASELINE_RESOLVER}-model-resolver"
  assert _parameter(evaluator, "example_splits") == ["train", "validation"]
  thresholds = json.dumps(_parameter(evaluator, "eval_config"))
  assert '"change_threshold"' in thresholds and '"upper_bound": 0.85' in thresholds
  assert '"direction": "LOWER_IS_BETTER"' in thresholds


def test_span_1_trains_on_span_0_alone_and_a_cold_start_has_no_base_model(tmp_path):
  tasks = _compile_span(tmp_path, 1, "--cold-start")
  assert _window_splits(tasks) == [("span0_train", "span-0/train/*"),
                                   ("span0_validation", "span-0/validation/*")]
  assert _parameter(tasks[nodes.TRAINER], "train_args")["splits"] == ["span0_train"]
  assert "base_model" not in tasks[nodes.TRAINER]["inputs"].get("artifacts", {})
  assert _parameter(tasks[nodes.DISTRIBUTION_VALIDATOR], "include_split_pairs") == [
      ["train", "span0_train"]]


@pytest.mark.parametrize("flags, message", [
    (["--span", "5", "--spans", "5"], "--span 5 is not one of the 5 spans: give 0 to 4"),
    (["--spans", "5"], "--spans is for span mode"),
])
def test_a_span_outside_the_spans_is_refused_naming_the_range(tmp_path, flags, message):
  with pytest.raises(ValueError, match=message):
    kubeflow_v2_runner.parse_args([
        "--image", IMAGE, "--pipeline-root", "gs://b/tfx", "--csv-dir", "gs://b/csv",
        "--serving-dir", "gs://b/serving", *flags, *BEAM])
