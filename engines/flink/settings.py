"""What the Flink engine is made of and where it listens: pinned versions, checksums'
files, ports and folders, defined once and read by the installer, the cluster and the
runners' Beam options."""
import dataclasses
import os
from typing import List

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
  """A local cluster: a JobManager, `task_managers` TaskManagers (separate JVMs, one slot
  each) and the job server, on localhost only."""
  host: str = "localhost"
  rest_port: int = 8081          # Flink's REST API and web UI
  job_port: int = 8099           # Beam's job service: where a pipeline is submitted
  artifact_port: int = 8098
  expansion_port: int = 8097
  task_managers: int = 2

  @property
  def rest_url(self) -> str:
    return f"http://{self.host}:{self.rest_port}"

  @property
  def job_endpoint(self) -> str:
    return f"{self.host}:{self.job_port}"

  @property
  def parallelism(self) -> int:
    return self.task_managers

  def beam_args(self) -> List[str]:
    """The Beam options that send a pipeline to this cluster. LOOPBACK: the SDK harness
    runs in the submitting process, which has the venv; BATCH_FORCED and pre_optimize as
    TFX's own portable Flink example sets them."""
    return [
        "--runner=PortableRunner", f"--job_endpoint={self.job_endpoint}",
        "--environment_type=LOOPBACK", f"--parallelism={self.parallelism}",
        "--execution_mode_for_batch=BATCH_FORCED", "--experiments=pre_optimize=all",
    ]


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
