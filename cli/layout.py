"""Where a local run keeps each step's folder, under one output folder: the one layout the
runner writes and every command (report, predict, recommend, TensorBoard) reads."""
import dataclasses
import os
from typing import Optional

DEFAULT_OUTPUT_DIR = "outputs"


@dataclasses.dataclass(frozen=True)
class LocalLayout:
  """The folders of a local run, one per stage, under one output folder (the pushed models
  may live elsewhere: --serving-dir)."""
  output_dir: str = DEFAULT_OUTPUT_DIR
  serving_dir_override: Optional[str] = None

  @property
  def raw_dir(self) -> str:        # MovieLens .dat files, downloaded or generated
    return os.path.join(self.output_dir, "raw")

  @property
  def csv_root(self) -> str:       # one CSV conversion per data folder
    return os.path.join(self.output_dir, "csv")

  @property
  def pipeline_root(self) -> str:  # TFX's artifacts, one folder per component
    return os.path.join(self.output_dir, "tfx")

  @property
  def metadata_path(self) -> str:  # the SQLite ML Metadata of every run
    return os.path.join(self.pipeline_root, "metadata.sqlite")

  @property
  def serving_dir(self) -> str:    # blessed models, one version folder each
    return self.serving_dir_override or os.path.join(self.output_dir, "serving")

  @property
  def logs_dir(self) -> str:       # each run's full log (cli.console)
    return os.path.join(self.output_dir, "logs")


DEFAULT_LAYOUT = LocalLayout()
