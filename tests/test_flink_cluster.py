"""The Flink engine's install checks, process records and refusals, without a cluster
(tests/test_flink_engine.py starts a real one)."""
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import yaml

from engines.flink import cluster as flink_cluster
from engines.flink import install
from engines.flink import settings
from pipeline.config import beam_job_name

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
  with socket.socket() as probe:
    probe.bind(("localhost", 0))
    return probe.getsockname()[1]


def nowhere() -> settings.Cluster:
  """A cluster on ports nothing listens on."""
  return settings.Cluster(rest_port=free_port(), job_port=free_port())


def test_a_cluster_that_does_not_answer_is_refused_naming_the_start_command():
  cluster = nowhere()
  with pytest.raises(flink_cluster.EngineError, match=r"no Flink cluster answers at "
                     rf"http://localhost:{cluster.rest_port} .*; start one with bin/flink "
                     "start$"):
    flink_cluster.check_up(cluster)


def test_status_without_a_cluster_says_each_process_is_down(tmp_path):
  state = flink_cluster.processes(settings.Layout(str(tmp_path)), nowhere())
  assert [process.name for process in state] == ["JobManager", "TaskManager 1", "job server"]
  assert not any(process.pid or process.answers for process in state)
  assert all(process.line().endswith("DOWN") for process in state)


def test_stop_never_ends_a_process_it_did_not_start(tmp_path):
  # A pid file left by an old cluster whose pid now belongs to another program.
  layout = settings.Layout(str(tmp_path))
  os.makedirs(layout.run_dir)
  other = subprocess.Popen(["sleep", "60"])
  try:
    for name in ("job-server.pid", "flink-bst-taskexecutor.pid"):
      with open(os.path.join(layout.run_dir, name), "w") as pid_file:
        pid_file.write(f"{other.pid}\n")
    assert flink_cluster.stop(layout, nowhere(), log=lambda line: None) == []
    assert other.poll() is None  # still running
    assert os.listdir(layout.run_dir) == []  # the stale records are gone
  finally:
    other.kill()


def test_a_process_killed_while_starting_is_named_with_its_exit_and_its_logs_last_line(
    tmp_path):
  """A JVM killed, or out of memory or disk, logs no exception: start names the signal
  where it was the job server's parent, and the log's last line or that it is empty."""
  layout = settings.Layout(str(tmp_path))
  os.makedirs(layout.run_dir)
  os.makedirs(layout.log_dir)
  job_server = subprocess.Popen(["sleep", "60"])
  with open(os.path.join(layout.run_dir, "job-server.pid"), "w") as pid_file:
    pid_file.write(f"{job_server.pid}\n")
  os.kill(job_server.pid, signal.SIGKILL)
  time.sleep(0.5)  # a zombie until reaped: no command line, so ended
  with pytest.raises(flink_cluster.EngineError, match=r"; job server ended while starting "
                     r"\(killed by SIGKILL: its log is empty, [0-9.]+ GB free on its disk\): see "):
    flink_cluster.wait_until_up(layout, nowhere())
  # Reaped by then, so named by its log alone.
  with open(os.path.join(layout.log_dir, "job-server.log"), "w") as log:
    log.write("[main] INFO JobServerDriver - starting\n\n")
  with pytest.raises(flink_cluster.EngineError,
                     match=r"; job server ended while starting \(\[main\] INFO JobServerDriver - "
                     r"starting\): see "):
    flink_cluster.wait_until_up(layout, nowhere())


def test_the_job_server_classpath_must_match_the_lock(tmp_path):
  lock = install.read_lock()
  assert any(name.startswith("beam-runners-flink-1.19-") for name in lock)
  for name in lock:
    (tmp_path / name).write_bytes(b"")
  with pytest.raises(install.InstallError, match="sha256 is not the one"):
    install.check_lock(str(tmp_path))
  (tmp_path / "extra.jar").write_bytes(b"")
  with pytest.raises(install.InstallError, match=r"1 jar\(s\) not in it \(extra.jar\)"):
    install.check_lock(str(tmp_path))


def test_the_sdk_workers_environment_starts_this_python_with_this_project(tmp_path):
  """Beam's worker pool starts each SDK worker as a bare `python`: with the environment the
  runner sets, from any folder, that is this interpreter and it imports the project."""
  environment = dict(os.environ, **settings.worker_environment())
  worker = subprocess.run(
      ["python", "-c", "import sys, engines, movielens.conversion; print(sys.prefix)"],
      cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)
  assert worker.returncode == 0, worker.stderr
  assert worker.stdout.strip() == sys.prefix


def test_workers_that_would_start_another_python_are_refused_in_one_line(tmp_path):
  (tmp_path / "python").symlink_to("/bin/true")  # a `python` that is not this interpreter
  with pytest.raises(flink_cluster.EngineError, match=rf"`python` first on PATH, "
                     rf"{tmp_path}/python, which is not this interpreter"):
    flink_cluster.check_workers(settings.worker_environment(str(tmp_path / "python")))
  flink_cluster.check_workers(settings.worker_environment())  # this venv's: accepted


def test_the_cluster_config_carries_the_ports_and_java_17s_module_flags(tmp_path):
  layout = settings.Layout(str(tmp_path))
  os.makedirs(os.path.join(layout.flink_home, "conf"))
  cluster = settings.Cluster(rest_port=18081, task_managers=2, slots=3)
  flink_cluster.write_config(layout, cluster)
  with open(os.path.join(layout.conf_dir, "config.yaml")) as written:
    config = yaml.safe_load(written)
  assert config["rest"]["port"] == 18081 and config["parallelism"]["default"] == 6
  assert config["jobmanager"]["rpc"]["port"] == cluster.rpc_port
  assert config["taskmanager"]["numberOfTaskSlots"] == 3
  assert "--add-opens=java.base/java.lang=ALL-UNNAMED" in config["env"]["java"]["opts"]["all"]
  assert config["rest"]["bind-address"] == "localhost"  # never beyond this machine


def test_the_engine_sends_every_beam_stage_to_the_job_server():
  args = settings.Cluster(job_port=18099).beam_args()
  assert "--runner=PortableRunner" in args and "--job_endpoint=localhost:18099" in args
  assert "--environment_type=LOOPBACK" in args


def test_job_names_are_what_every_engine_accepts():
  assert beam_job_name("bst-movielens", "CsvExampleGen") == "bst-movielens-csvexamplegen"
  assert beam_job_name("My Pipeline", "csv_conversion") == "my-pipeline-csv-conversion"


def run_runner(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, os.path.join(REPO, "local_runner.py"), *args],
                        capture_output=True, text=True, timeout=60)


def test_an_unknown_engine_is_refused_by_name():
  result = run_runner("--engine", "spark")
  assert result.returncode == 2 and "invalid choice: 'spark'" in result.stderr


def test_flink_command_refuses_an_unknown_command():
  result = subprocess.run([os.path.join(REPO, "bin", "flink"), "restart"],
                          capture_output=True, text=True, timeout=60)
  assert result.returncode == 2 and "invalid choice: 'restart'" in result.stderr


def test_the_flink_runners_own_options_pass_to_beam_and_a_misspelling_does_not():
  import argparse  # pylint: disable=g-import-not-at-top
  from cli import beam_flags  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser()
  _, rest = beam_flags.parse_args_and_beam_args(
      parser, ["--execution_mode_for_batch=BATCH_FORCED", "--parallelism=4"])
  assert rest == ["--execution_mode_for_batch=BATCH_FORCED", "--parallelism=4"]
  with pytest.raises(ValueError, match="did you mean --execution_mode_for_batch"):
    beam_flags.parse_args_and_beam_args(parser, ["--execution_mode_for_bach=BATCH_FORCED"])


def test_an_install_is_redone_only_when_its_pins_change(tmp_path):
  layout = settings.Layout(str(tmp_path))
  flink_pins = install._pins_digest(settings.PYFLINK_REQUIREMENTS)  # pylint: disable=protected-access
  job_server_pins = install._pins_digest(settings.JOB_SERVER_POM, settings.JOB_SERVER_LOCK)  # pylint: disable=protected-access
  for folder, pins in ((layout.flink_home, flink_pins),
                       (os.path.dirname(layout.job_server_lib), job_server_pins)):
    os.makedirs(folder)
    with open(os.path.join(folder, ".installed"), "w") as marker:
      marker.write(pins + "\n")
  logged = []
  install.install(layout, log=logged.append)
  assert install.up_to_date(layout) and logged == []  # nothing downloaded
  # A marker from other pins (or from before markers held them) is not this install.
  with open(os.path.join(layout.flink_home, ".installed"), "w") as marker:
    marker.write(job_server_pins + "\n")
  assert not install.up_to_date(layout)
