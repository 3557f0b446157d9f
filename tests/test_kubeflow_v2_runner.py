"""The Kubeflow V2 runner compiles the same pipeline into a PipelineJob JSON, offline."""
import dataclasses
import json

import pytest

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


def test_span_mode_is_refused_before_any_work_with_the_reason(tmp_path):
  """TFX 1.16's Kubeflow V2 compiler cannot compile the span resolver (the reason is in
  kubeflow_v2_runner.SPAN_MODE_UNSUPPORTED); the refusal comes at parse time."""
  with pytest.raises(ValueError, match="span mode does not compile for Kubeflow"):
    kubeflow_v2_runner.parse_args([
        "--image", IMAGE, "--pipeline-root", "gs://b/tfx", "--csv-dir", "gs://b/csv",
        "--serving-dir", "gs://b/serving", "--output", str(tmp_path / "job.json"),
        "--span", "3", *BEAM])
  config = kubeflow_v2_runner.pipeline_config(*kubeflow_v2_runner.parse_args([
      "--image", IMAGE, "--pipeline-root", "gs://b/tfx", "--csv-dir", "gs://b/csv",
      "--serving-dir", "gs://b/serving", *BEAM]))
  with pytest.raises(TypeError, match="only support LatestArtifactStrategy"):
    kubeflow_v2_runner.compile_pipeline(
        dataclasses.replace(config, span=3), IMAGE, str(tmp_path / "job.json"))
