"""What a local run checks before any work, and how an engine's failure reads."""
import os
import sys
from typing import Optional

from cli import disk
from cli.layout import LocalLayout
from engines.flink import cluster as flink_cluster
from engines.flink import settings as flink_settings
from local_run.config import span_mode
from movielens import constants as c
from movielens import download


def check_before_work(args, layout: LocalLayout) -> None:
  """What can be found wrong before any work (nothing written yet, not even the log): a
  --data-dir without the MovieLens files, folders that cannot be written, a damaged ML
  Metadata store (the disk space for the CSV is checked by the conversion); and what a
  failed commit left in the store, removed before TFX opens it."""
  from results import store  # pylint: disable=g-import-not-at-top
  missing = args.data_dir and download.missing_movielens_files(args.data_dir)
  if missing:
    raise FileNotFoundError(f"--data-dir {missing}")
  disk.require_writable(args.output_dir, "--output-dir")
  if args.engine == "flink":
    flink_cluster.check_up(flink_settings.Cluster())
    flink_cluster.check_workers(flink_settings.worker_environment())
  if args.prepare_only:
    return
  disk.require_writable(layout.serving_dir, "--serving-dir")
  if os.path.isfile(layout.metadata_path):
    store.check_pages(layout.metadata_path)
    repaired = store.repair(layout.metadata_path)
    if repaired:
      print(f"note: removed {repaired} rows of {layout.metadata_path} left by a run that "
            "failed to commit", file=sys.stderr)


def refuse_mixed_modes(args, layout: LocalLayout, data_dir: str) -> None:
  """Refuses a one-span run on a store of span runs of the same ratings, and the reverse:
  the two modes split the ratings otherwise, so the gate would judge the new model
  against a model that trained on its eval rows."""
  from movielens.conversion import summary  # pylint: disable=g-import-not-at-top
  from results import store  # pylint: disable=g-import-not-at-top
  ratings = summary.file_digest(os.path.join(data_dir, c.RATINGS_FILE))
  other = store.other_mode_runs(layout.metadata_path, span_mode(args), ratings)
  if other:
    recorded, this = ("span-mode", "a one-span") if not span_mode(args) else (
        "one-span", "a span-mode")
    raise ValueError(
        f"{layout.pipeline_root} holds {recorded} runs of the same ratings ({other}): "
        f"{this} run there would be judged against models that trained on its eval rows; "
        "give it its own --output-dir")


def engine_failure(error: BaseException, step: str) -> Optional[flink_cluster.EngineError]:
  """A Flink job that failed, or a cluster that stopped answering, as one line: what to
  check, and that the same command resumes (each TFX stage is redone whole or cached).
  None for any other error."""
  message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
  if not flink_cluster.answers(flink_settings.Cluster()):
    return flink_cluster.EngineError(
        f"the Flink cluster stopped answering during {step} ({message[:200]}): bin/flink "
        "status names what is down; bin/flink stop, bin/flink start, then rerun the same "
        "command to resume")
  if message.startswith("Pipeline ") and " failed in state " in message:  # Beam's words
    return flink_cluster.EngineError(
        f"a Flink job failed during {step}: {message[:300]} (its log: Flink's web UI, "
        f"{flink_settings.Cluster().rest_url}); rerun the same command to resume")
  return None
