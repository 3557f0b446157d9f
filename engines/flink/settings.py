"""What the Flink engine is made of and where it listens: pinned versions, checksums'
files, ports and folders, defined once and read by the installer, the cluster and the
runners' Beam options."""
import dataclasses
import os
import sys
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))

# The Flink that Beam 2.61's Python SDK supports (1.17-1.19), from PyPI's PyFlink release:
# its wheel has bin/ and conf/, its sdist the distribution's jars (lib/, opt/, plugins/).
FLINK_VERSION = "1.19.1"
PYFLINK_REQUIREMENTS = os.path.join(HERE, "pyflink.txt")  # both files, pinned by sha256
# Beam's Flink runner for that Flink, from Maven Central, started as FlinkJobServerDriver
# from its resolved classpath: Maven Central serves neither the shaded job-server jar nor
# this runner at Beam 2.61 here, and 2.62 is the nearest served (docs/scaling_out.md).
JOB_SERVER_POM = os.path.join(HERE, "job_server.pom.xml")
JOB_SERVER_LOCK = os.path.join(HERE, "job_server.lock")  # sha256 of every classpath jar
JOB_SERVER_MAIN = "org.apache.beam.runners.flink.FlinkJobServerDriver"
CLUSTER_CONFIG = os.path.join(HERE, "config.yaml")

# Where the engine is installed and runs, outside the venv and out of git.
HOME_ENV = "BST_FLINK_HOME"
DEFAULT_HOME = os.path.join(os.path.expanduser("~"), ".cache", "bst-movielens", "flink")


@dataclasses.dataclass(frozen=True)
class Cluster:
  """A local cluster: a JobManager, `task_managers` TaskManagers (separate JVMs) of `slots`
  slots each, and the job server, on localhost only. One TaskManager: Beam's loopback
  worker pool keys its worker processes by an id that each TaskManager counts from 1, so
  a second TaskManager's workers would stop the first's (docs/decisions.md)."""
  host: str = "localhost"
  rest_port: int = 8081          # Flink's REST API and web UI
  rpc_port: int = 6123           # the JobManager's RPC, which TaskManagers register at
  job_port: int = 8099           # Beam's job service: where a pipeline is submitted
  # 0: the OS picks a free port; a client learns the artifact port from the job service,
  # and the expansion service serves only cross-language transforms, which are not used.
  artifact_port: int = 0
  expansion_port: int = 0
  task_managers: int = 1
  slots: int = 2                 # per TaskManager: one per core here

  @property
  def rest_url(self) -> str:
    return f"http://{self.host}:{self.rest_port}"

  @property
  def job_endpoint(self) -> str:
    return f"{self.host}:{self.job_port}"

  @property
  def fixed_ports(self) -> Dict[str, int]:
    """Each port the cluster listens on that clients must know, by what listens there."""
    return {"Flink's REST API": self.rest_port, "the JobManager's RPC": self.rpc_port,
            "the job server": self.job_port}

  @property
  def parallelism(self) -> int:
    return self.task_managers * self.slots

  def beam_args(self) -> List[str]:
    """The Beam options that send a pipeline to this cluster. The SDK harness runs in
    worker processes that the submitting process starts (LOOPBACK with process workers):
    they have the venv (worker_environment), and TensorFlow in one never shares a heap
    with the runner's. BATCH_FORCED and pre_optimize as TFX's portable Flink example."""
    return [
        "--runner=PortableRunner", f"--job_endpoint={self.job_endpoint}",
        "--environment_type=LOOPBACK", "--experiments=use_loopback_process_worker=True",
        f"--parallelism={self.parallelism}", "--execution_mode_for_batch=BATCH_FORCED",
        "--experiments=pre_optimize=all",
    ]


def worker_environment(python: str = sys.executable) -> Dict[str, str]:
  """The environment variables that make the SDK worker processes this project's: Beam's
  worker pool starts them as a bare `python`, so `python`'s folder first on PATH, and
  this repository (or the installed packages' folder) on PYTHONPATH."""
  root = os.path.dirname(os.path.dirname(HERE))  # the folder holding engines/
  paths = [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
  return {"PATH": os.pathsep.join([os.path.dirname(python), os.environ.get("PATH", "")]),
          "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


def home() -> str:
  """The engine's folder: FLINK_HOME, the job server's classpath, the cluster's state."""
  return os.path.realpath(os.environ.get(HOME_ENV, DEFAULT_HOME))


@dataclasses.dataclass(frozen=True)
class Layout:
  """The folders under home(): what install() lays out and the cluster runs from."""
  root: str

  @property
  def flink_home(self) -> str:     # bin/ conf/ lib/ opt/ plugins/, as a Flink release
    return os.path.join(self.root, f"flink-{FLINK_VERSION}")

  @property
  def job_server_lib(self) -> str:  # the job server's classpath, one jar per dependency
    return os.path.join(self.root, "job-server", "lib")

  @property
  def conf_dir(self) -> str:       # the cluster's config.yaml (CLUSTER_CONFIG)
    return os.path.join(self.root, "conf")

  @property
  def run_dir(self) -> str:        # pid files of what `start` started
    return os.path.join(self.root, "run")

  @property
  def log_dir(self) -> str:
    return os.path.join(self.root, "log")
