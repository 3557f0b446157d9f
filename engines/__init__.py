"""The Beam engines a run can use beyond the DirectRunner: each starts for real here."""
from typing import Dict, List

from engines.flink import settings as flink_settings

ENGINES = ("direct", "flink")  # --engine's choices; the DirectRunner is the default


def beam_args(engine: str) -> List[str]:
  """The Beam options of `engine`; a command line's own come after and override them."""
  return flink_settings.Cluster().beam_args() if engine == "flink" else []


def worker_environment(engine: str) -> Dict[str, str]:
  """Environment variables the process must carry before `engine`'s Beam stages start."""
  return flink_settings.worker_environment() if engine == "flink" else {}


def names_its_jobs(engine: str) -> bool:
  """Whether `engine` lists each Beam stage as a job, to be named after the stage."""
  return engine != "direct"
