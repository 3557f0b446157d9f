"""What a local run checks before any work, and how an engine's failure reads."""
import dataclasses
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


def refuse_other_eval_rows(args, layout: LocalLayout, data_dir: str) -> None:
  """Refuses a run on a store of runs of the same ratings that chose their eval rows
  otherwise (the other mode, another span cut, eval fraction or cutoff): the gate would
  judge the new model against a model that may have trained on its eval rows."""
  from movielens import convert  # pylint: disable=g-import-not-at-top
  from movielens.conversion import config as conversion_config  # pylint: disable=g-import-not-at-top
  from movielens.conversion import summary  # pylint: disable=g-import-not-at-top
  from results import store  # pylint: disable=g-import-not-at-top
  ratings = summary.file_digest(os.path.join(data_dir, c.RATINGS_FILE))
  ours = conversion_config.eval_rows_settings(dataclasses.asdict(
      convert.config_from_flags(args, data_dir, output_dir="")))
  found = store.runs_split_otherwise(layout.metadata_path, ratings, ours, span_mode(args))
  if found is None:
    return
  folder, theirs = found
  there = (_as_flags(theirs) if theirs is not None else
           f"{'span mode' if not span_mode(args) else 'one span'}, its CSV gone")
  raise ValueError(
      f"{layout.pipeline_root} holds runs of the same ratings with other eval rows "
      f"({folder}: {there}; this run: {_as_flags(ours)}): this run would be judged "
      "against models that may have trained on its eval rows; give it its own --output-dir")


def _as_flags(settings: dict) -> str:
  return " ".join(f"--{name.replace('_', '-')} {value}" for name, value in settings.items())


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
