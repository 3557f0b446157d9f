"""Everything the pipeline needs, as one object: paths, knobs, runner arguments."""
import dataclasses
import os
from typing import Optional, Sequence

from movielens import constants as c
from trainer.config import TrainerConfig


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
  csv_dir: str         # the CSV conversion's output: train/, eval/, catalog/
  pipeline_root: str   # where TFX writes artifacts
  metadata_path: Optional[str] = None  # SQLite MLMD file for local runs; None elsewhere
  pipeline_name: str = "bst-movielens"
  trainer: TrainerConfig = TrainerConfig()
  train_steps: Optional[int] = None  # None: epochs of full passes (trainer.epochs)
  eval_steps: Optional[int] = None   # None: the whole eval split
  beam_pipeline_args: Sequence[str] = ()
  enable_cache: bool = True

  @property
  def catalog_path(self) -> str:
    return os.path.join(self.csv_dir, c.CATALOG_DIR, c.CATALOG_FILE)

  def transform_custom_config(self):
    return {"catalog_path": self.catalog_path, "window": self.trainer.window}
