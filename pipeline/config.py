"""Everything the pipeline needs, as one object: paths, knobs, runner arguments.

The same PipelineConfig serves LocalDagRunner and the Kubeflow/Vertex runners; only the
paths and Beam arguments differ between them.
"""
import dataclasses
import os
from typing import Optional, Sequence

from movielens import constants as c
from trainer.config import TrainerConfig

# The local layout local_runner.py writes and the commands that read it default to:
# <output dir>/tfx/ (pipeline root, with metadata.sqlite) and <output dir>/serving/.
DEFAULT_OUTPUT_DIR = "outputs"
PIPELINE_DIR = "tfx"
METADATA_FILE = "metadata.sqlite"
SERVING_DIR = "serving"
DEFAULT_METADATA_PATH = os.path.join(DEFAULT_OUTPUT_DIR, PIPELINE_DIR, METADATA_FILE)
DEFAULT_SERVING_MODEL_DIR = os.path.join(DEFAULT_OUTPUT_DIR, SERVING_DIR)

# The curated schema of the raw (CSV-derived) features, kept with the pipeline code.
DEFAULT_SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema",
                                   "schema.pbtxt")


@dataclasses.dataclass(frozen=True)
class GateConfig:
  """When the Evaluator blesses a model, judged on eval MAE.

  The default bound is just under what answering 4 stars for every rating scores on
  ml-1m's rating distribution (MAE 0.87): a model that does not beat that is not worth
  serving. The user+movie bias baseline scores about 0.80, the trained BST about 0.66.
  """
  mae_upper_bound: float = 0.85
  # Largest increase of MAE over the last blessed model still blessed; 0: no regression.
  mae_max_increase: float = 0.0


@dataclasses.dataclass(frozen=True)
class RankingConfig:
  """The ranking evaluation: the true next movie among `negatives` unrated ones."""
  negatives: int = 100
  k: int = 10      # HR@k, NDCG@k
  seed: int = 0    # which negatives


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
  csv_dir: str            # the CSV conversion's output: train/, validation/, eval/, catalog/
  pipeline_root: str      # where TFX writes artifacts, one folder per component
  serving_model_dir: str  # where the Pusher puts blessed models, one version per folder
  metadata_path: Optional[str] = None  # SQLite MLMD file for local runs; None elsewhere
  pipeline_name: str = "bst-movielens"
  schema_path: str = DEFAULT_SCHEMA_PATH
  trainer: TrainerConfig = TrainerConfig()
  # > 0: TFX's Tuner tries this many points of trainer.tuning.SEARCH_SPACE on validation
  # before the Trainer, which then trains with the best. 0: no Tuner, `trainer` as it is.
  tuning_trials: int = 0
  train_steps: Optional[int] = None  # None: epochs of full passes (trainer.epochs)
  eval_steps: Optional[int] = None   # None: the whole validation split, each epoch
  gate: GateConfig = GateConfig()
  ranking: RankingConfig = RankingConfig()
  beam_pipeline_args: Sequence[str] = ()
  enable_cache: bool = True
  # The Transform's own TFDV passes: statistics of its input (what StatisticsGen already
  # computed) and of the transformed features, with their schemas and anomalies. Off by
  # default: nothing downstream reads them and they are two more passes over every row.
  transform_statistics: bool = False

  @property
  def catalog_path(self) -> str:
    return os.path.join(self.csv_dir, c.CATALOG_DIR, c.CATALOG_FILE)

  def transform_custom_config(self):
    return {"catalog_path": self.catalog_path, "window": self.trainer.window}
