"""Faults of the machine, not of the input: a disk that is or becomes full, a folder that
cannot be written, a damaged ML Metadata store. Each ends in one `error:` line that says
what to do, and exit 1; checks that can run before the work run before it.

The disks are real: small tmpfs mounts, where this machine lets the tests mount (root in
a container that allows it); elsewhere those tests are skipped, saying why.
"""
import contextlib
import errno
import os
import re
import signal
import sqlite3
import subprocess
import sys

import pytest
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from cli import disk
from cli.layout import LocalLayout
from results import store as results_store
from results.store import NODE_CONTEXT
from tests.test_bad_input import REPO, one_line_error, run

NO_SPACE = (r"error: no space left on device for {path}{detail}: free space on it "
            r"\(df -h {disk}\), then rerun the same command to resume")


@pytest.fixture
def mount_tmpfs(tmp_path):
  """mount_tmpfs(name, size, read_only=False): a fresh tmpfs of `size` ("1m") at
  tmp_path/name; unmounted after the test. Skips the test where mounting is not allowed."""
  mounted = []

  def mount(name: str, size: str, read_only: bool = False) -> str:
    point = tmp_path / name
    point.mkdir()
    options = f"size={size}" + (",ro" if read_only else "")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
      pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip() or result.returncode}")
    mounted.append(point)
    return str(point)

  yield mount
  for point in mounted:
    subprocess.run(["umount", "-l", str(point)], check=False)


def remount(point: str, size: str) -> None:
  subprocess.run(["mount", "-o", f"remount,size={size}", point], check=True)


# --- A full disk --------------------------------------------------------------------------------

def test_a_full_disk_is_recognised_in_any_layers_words():
  assert disk.ran_out_of_space(OSError(errno.ENOSPC, "write failed"))
  assert disk.ran_out_of_space(RuntimeError(  # a Beam worker's error, as text
      "Traceback ...\nOSError: [Errno 28] No space left on device: '/o/tmp'"))
  assert disk.ran_out_of_space(RuntimeError("commit failed: database or disk is full"))
  try:
    try:
      raise OSError(errno.ENOSPC, "write failed")
    except OSError as cause:
      raise ValueError("could not save the model") from cause
  except ValueError as error:
    assert disk.ran_out_of_space(error)  # the cause says it
  assert not disk.ran_out_of_space(ValueError("bad rating"))
  assert not disk.ran_out_of_space(OSError(errno.EACCES, "Permission denied"))


def test_too_little_space_is_refused_naming_the_folder_and_sizes(tmp_path):
  folder = str(tmp_path / "not" / "made" / "yet")  # its nearest existing parent is checked
  disk.require_free(folder, 1, "a byte")
  with pytest.raises(disk.NoSpaceError, match=re.escape(
      f"no space left on device for {folder} (the model needs about 953,674.3 MB; ")):
    disk.require_free(folder, 10**12, "the model")
  assert not os.path.exists(folder)


def test_the_conversion_refuses_a_disk_too_small_for_its_csv_before_any_work(
    small_movielens, mount_tmpfs):
  full = mount_tmpfs("full", "1m")
  detail = r" \(the CSV conversion needs about \d+\.\d MB; 1\.0 MB free\)"
  result = run("local_runner.py", "--data-dir", small_movielens, "--output-dir",
               f"{full}/o", "--prepare-only", timeout=120)
  error = one_line_error(result)
  csv = f"{full}/o/csv/{os.path.basename(small_movielens)}"
  assert re.fullmatch(NO_SPACE.format(path=re.escape(csv), detail=detail,
                                      disk=re.escape(full) + r"\S*"), error), error
  assert not os.path.exists(csv) and not os.path.exists(csv + ".partial")  # nothing written

  result = run("-m", "movielens.convert", "--input-dir", small_movielens, "--output-dir",
               f"{full}/csv", timeout=120)
  error = one_line_error(result)
  assert re.fullmatch(NO_SPACE.format(path=re.escape(f"{full}/csv"), detail=detail,
                                      disk=re.escape(full)), error), error


@pytest.mark.slow
def test_a_disk_that_fills_during_the_pipeline_ends_in_one_line_and_the_rerun_resumes(
    small_movielens, mount_tmpfs):
  # Room for the CSV, not for the pipeline's artifacts: the run fails in the middle.
  full = mount_tmpfs("full", "2m")
  command = ("local_runner.py", "--data-dir", small_movielens, "--output-dir", f"{full}/o",
             "--epochs", "1", "--train-steps", "5")
  result = run(*command, timeout=600)
  error = one_line_error(result)
  assert re.fullmatch(NO_SPACE.format(path=re.escape(f"{full}/o"),
                                      detail=r" \(0\.\d MB free now\)",
                                      disk=re.escape(full) + r"\S*"), error), error
  remount(full, "40m")  # space freed: the same command finishes
  result = run(*command, timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]
  assert re.search(r"^eval MAE \d\.\d{4}", result.stdout, re.M)
  assert re.search(r"^(BLESSED and pushed|NOT BLESSED)", result.stdout, re.M), result.stdout
  listing = run("-m", "results.report", "--output-dir", f"{full}/o", "--list")
  assert listing.returncode == 0 and re.search(r" \d\.\d{4}  (not )?blessed", listing.stdout), (
      listing.stdout + listing.stderr)


# --- Folders that cannot be written -------------------------------------------------------

def test_a_read_only_serving_dir_is_refused_before_any_work(tmp_path, mount_tmpfs):
  if os.geteuid() == 0:  # root writes through permissions: a read-only file system it is
    serving = mount_tmpfs("serving", "1m", read_only=True)
    reason = f"a read-only file system at {serving}"
  else:
    serving = str(tmp_path / "serving")
    os.mkdir(serving, 0o555)
    reason = f"no write permission at {serving}"
  output = tmp_path / "o"
  result = run("local_runner.py", "--synthetic", "--scale", "0.01", "--output-dir",
               str(output), "--serving-dir", serving, timeout=120)
  assert one_line_error(result) == (
      f"error: --serving-dir {serving} is not writable ({reason}): make it writable, or "
      "name another folder with --serving-dir")
  assert not output.exists()  # no data generated, no log: refused before the work


def test_an_output_dir_under_a_file_is_refused(tmp_path):
  (tmp_path / "file").write_text("")
  with pytest.raises(NotADirectoryError, match=re.escape(
      f"--output-dir {tmp_path}/file/o: {tmp_path}/file is a file, not a folder")):
    disk.require_writable(str(tmp_path / "file" / "o"), "--output-dir")


# --- A damaged ML Metadata store ---------------------------------------------------------

def write_store(path: str) -> None:
  """A real ML Metadata store holding a few thousand artifacts, as runs leave it."""
  config = metadata_store_pb2.ConnectionConfig()
  config.sqlite.filename_uri = path
  config.sqlite.connection_mode = (
      metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
  store = metadata_store.MetadataStore(config)
  type_id = store.put_artifact_type(metadata_store_pb2.ArtifactType(name="Examples"))
  store.put_artifacts([metadata_store_pb2.Artifact(type_id=type_id, uri=f"/tfx/{i}" * 20)
                       for i in range(2000)])


def test_a_store_cut_in_half_is_one_line_saying_how_to_recover(tmp_path):
  output = tmp_path / "o"
  metadata = LocalLayout(str(output)).metadata_path
  os.makedirs(os.path.dirname(metadata))
  write_store(metadata)
  os.truncate(metadata, os.path.getsize(metadata) // 2)
  expected = (f"error: the ML Metadata store {metadata} is damaged (database disk image is "
              f"malformed): restore it from a backup, or move it aside (mv {metadata} "
              f"{metadata}.damaged) to start a new one (the next run then computes every "
              "stage again)")
  assert one_line_error(run("-m", "results.report", "--output-dir", str(output))) == expected
  assert one_line_error(run("local_runner.py", "--synthetic", "--scale", "0.01",
                            "--output-dir", str(output), timeout=120)) == expected
  assert sorted(os.listdir(output)) == ["tfx"]  # refused before any data was made


def _store_with_a_failed_commit(metadata: str):
  """A real store as a full disk left it: a CsvExampleGen execution, and the link to the
  DistributionValidator component of an execution whose insert was rolled back while the
  link's was committed (SQLite's autocommit after the rollback)."""
  config = metadata_store_pb2.ConnectionConfig()
  config.sqlite.filename_uri = metadata
  config.sqlite.connection_mode = (
      metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
  store = metadata_store.MetadataStore(config)
  node_type = store.put_context_type(metadata_store_pb2.ContextType(name=NODE_CONTEXT))
  example_gen, validator = store.put_contexts([
      metadata_store_pb2.Context(type_id=node_type, name=f"bst-movielens.{node}")
      for node in ("CsvExampleGen", "DistributionValidator")])
  execution_type = store.put_execution_type(metadata_store_pb2.ExecutionType(name="Gen"))
  store.put_execution(metadata_store_pb2.Execution(type_id=execution_type), [], [
      metadata_store_pb2.Context(id=example_gen, type_id=node_type,
                                 name="bst-movielens.CsvExampleGen")])
  with contextlib.closing(sqlite3.connect(metadata)) as db, db:
    db.execute("INSERT INTO Association (context_id, execution_id) VALUES (?, "
               "(SELECT MAX(id) + 1 FROM Execution))", (validator,))
  return store, execution_type, metadata_store_pb2.Context(
      id=example_gen, type_id=node_type, name="bst-movielens.CsvExampleGen")


def _node_names(store, execution_id):
  return sorted(c.name for c in store.get_contexts_by_execution(execution_id))


def test_the_runner_repairs_what_a_failed_commit_left_before_a_new_execution_inherits_it(
    tmp_path):
  metadata = str(tmp_path / "metadata.sqlite")
  store, execution_type, example_gen = _store_with_a_failed_commit(metadata)
  assert results_store.repair(metadata) == 1  # the dangling link
  execution_id, _, _ = store.put_execution(
      metadata_store_pb2.Execution(type_id=execution_type), [], [example_gen])
  assert _node_names(store, execution_id) == ["bst-movielens.CsvExampleGen"]
  results_store.check(metadata)
  assert results_store.repair(metadata) == 0


def test_an_execution_that_inherited_a_second_component_is_named_then_repaired(tmp_path):
  metadata = str(tmp_path / "metadata.sqlite")
  store, execution_type, example_gen = _store_with_a_failed_commit(metadata)
  # The rerun, before any repair: its execution takes the freed id, and the dangling link.
  execution_id, _, _ = store.put_execution(
      metadata_store_pb2.Execution(type_id=execution_type), [], [example_gen])
  assert _node_names(store, execution_id) == ["bst-movielens.CsvExampleGen",
                                              "bst-movielens.DistributionValidator"]
  with pytest.raises(results_store.DamagedStoreError, match=re.escape(
      f"the ML Metadata store {metadata} is damaged (1 execution(s) linked to two "
      "components by a run that failed to commit, as on a full disk): the next run of the "
      "pipeline (bin/run, local_runner.py) repairs it")):
    results_store.connect(metadata)
  assert results_store.repair(metadata) == 1  # the older link: the inherited one
  assert _node_names(store, execution_id) == ["bst-movielens.CsvExampleGen"]
  results_store.connect(metadata)


# --- Ctrl-C in any layer's words -------------------------------------------------------------

def _command(body: str) -> subprocess.CompletedProcess:
  """A command whose main is `body` (indented), run as every entry point runs its main,
  with SIGINT at its default as a terminal leaves it."""
  script = ("import os, signal, sys, threading\nfrom cli import entry_point\n"
            "def main(argv):\n" + "".join(f"  {line}\n" for line in body.splitlines())
            + "entry_point.run(main, [])\n")
  return subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                        text=True, timeout=60,
                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def test_ctrl_c_that_a_layer_turned_into_its_own_error_is_still_one_line_and_exit_130():
  # TensorFlow, tracing a graph, can catch the KeyboardInterrupt and raise another error.
  result = _command("try:\n"
                    "  os.kill(os.getpid(), signal.SIGINT)\n"
                    "except KeyboardInterrupt:\n"
                    "  raise RuntimeError('a layer wrapped it')")
  assert result.returncode == 130, result.stderr
  assert result.stderr.splitlines() == ["interrupted"]


def test_ctrl_c_that_arrives_during_a_finalizer_still_stops_the_work():
  # Garbage collection runs __del__ anywhere; a KeyboardInterrupt raised inside one is
  # printed and ignored, and the work went on to the end (a run during the Transform).
  result = _command("class Finalized:\n"
                    "  def __del__(self):\n"
                    "    os.kill(os.getpid(), signal.SIGINT)\n"
                    "    sum(range(100000))\n"
                    "Finalized()\n"
                    "threading.Event().wait(30)\n"
                    "print('finished the work')")
  assert result.returncode == 130, result.stderr
  assert result.stderr.splitlines() == ["interrupted"]
  assert "finished the work" not in result.stdout


def test_an_error_after_a_watch_interrupted_the_work_keeps_its_own_message():
  # cli.disk ends stalled work through the same interrupt, then says why: no Ctrl-C.
  result = _command("try:\n"
                    "  threading.Thread(target=entry_point.interrupt_main).start()\n"
                    "  threading.Event().wait(30)\n"
                    "except KeyboardInterrupt:\n"
                    "  raise OSError('the disk is full')")
  assert (result.returncode, result.stderr) == (1, "error: the disk is full\n")


def test_an_error_without_ctrl_c_is_not_taken_for_one():
  result = _command("raise RuntimeError('a bug')")
  assert result.returncode == 1
  assert "Traceback" in result.stderr and "RuntimeError: a bug" in result.stderr
