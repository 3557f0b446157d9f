"""One run of the TFX pipeline on LocalDagRunner, its stages on the console."""
import contextlib
import fcntl
import os
import time
from typing import Optional

from cli.console import Console, FollowLog
from cli.layout import LocalLayout
from pipeline import nodes
from pipeline.config import PipelineConfig
from trainer.config import EPOCH_LOG_NAME


@contextlib.contextmanager
def only_run_on(pipeline_root: str):
  """Holds `<pipeline root>/.lock` for the run. Two runs on one ML Metadata store and
  artifact tree would interleave their records, and the Pusher names versions by the
  second; so a second run stops at once, naming the first."""
  os.makedirs(pipeline_root, exist_ok=True)
  path = os.path.join(pipeline_root, ".lock")
  with open(path, "a+") as lock:
    try:
      fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      lock.seek(0)
      raise BlockingIOError(f"another run (pid {lock.read().strip() or '?'}) is using "
                            f"{pipeline_root}: wait for it to end, or give this run its "
                            "own --output-dir") from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    yield


def new_run_id() -> str:
  """This process's run id, "20261201-084500-123": the log file's name, and the pipeline
  run's in ML Metadata, so the report and TensorBoard name the run the same way. File-name
  safe, and free of the ':' and ',' TensorBoard's --logdir_spec splits on."""
  now = time.time()
  return time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int(now % 1 * 1000):03d}"


def run_pipeline(config: PipelineConfig, console: Console, run_id: str) -> None:
  """LocalDagRunner under run id `run_id`, with each component's start and end (and the
  Trainer's epochs) shown as they happen; then the run's summary."""
  from tfx import v1 as tfx  # pylint: disable=g-import-not-at-top
  from tfx.dsl.compiler import compiler  # pylint: disable=g-import-not-at-top
  from tfx.dsl.compiler import constants  # pylint: disable=g-import-not-at-top
  from tfx.orchestration.portable import runtime_parameter_utils  # pylint: disable=g-import-not-at-top
  from pipeline import definition  # pylint: disable=g-import-not-at-top
  from results import run_summary  # pylint: disable=g-import-not-at-top
  # LocalDagRunner.run would name the run by the clock (with ':'); the compiled pipeline
  # gets this run's id instead, and LocalDagRunner runs it as it would its own.
  ir = compiler.Compiler().compile(definition.create_pipeline(config))
  runtime_parameter_utils.substitute_runtime_parameter(
      ir, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: run_id})
  follow = FollowLog(console, nodes.ROLES, notes_from=[EPOCH_LOG_NAME])
  with follow.attached(), only_run_on(config.pipeline_root):
    tfx.orchestration.LocalDagRunner().run_with_ir(ir)
  run_summary.print_summary(config, console, run_id)


def log_path(args, layout: LocalLayout, run_id: str) -> Optional[str]:
  """This run's log file (None with --verbose: the log stays on the terminal)."""
  if args.verbose:
    return None
  return os.path.join(layout.logs_dir, f"{run_id}.log")
