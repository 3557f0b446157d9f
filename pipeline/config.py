"""Everything the pipeline needs, as one object: paths, knobs, runner arguments.

The same PipelineConfig serves LocalDagRunner and the Kubeflow/Vertex runners; only the
paths and Beam arguments differ between them. `local_pipeline_config` is the one
definition of a local run's config (the runner, the benchmarks and the tests use it), in
the folders of cli.layout.
"""
import dataclasses
import math
import os
import re
import statistics
from typing import Any, ClassVar, Dict, Optional, Sequence

from cli import layout as layout_lib
from movielens import constants as c
from pipeline import tfx_package
from trainer.config import TrainerConfig
from transform.config import TransformConfig

# The curated schema of the raw (CSV-derived) features, kept with the pipeline code.
DEFAULT_SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema",
                                   "schema.pbtxt")


@dataclasses.dataclass(frozen=True)
class GateConfig:
  """When the Evaluator blesses a model, judged on eval MAE.

  The default bound is just under what answering 4 stars for every rating scores on
  ml-1m's rating distribution (MAE 0.87): a model that does not beat that is not worth
  serving.

  Against the last blessed model, the change in MAE is judged beyond noise: both models
  are scored on the same eval rows, and the change is moved by `confidence`'s one-sided
  normal quantile times the standard error of their paired difference
  (pipeline.metrics.MaeWithNoiseMargin). Without a required improvement, a candidate is
  refused only if it is worse with that confidence (by more than mae_max_increase); with
  one (span mode's default), it is blessed only if it is better with that confidence (by
  at least mae_min_improvement). A confidence of 0.5 compares the two MAEs as they are.
  """
  # Span mode's default mae_min_improvement: better beyond noise, and nothing more.
  SPAN_MIN_IMPROVEMENT: ClassVar[float] = 0.0

  mae_upper_bound: float = 0.85
  # Largest increase of MAE over the last blessed model still blessed; 0: no regression.
  mae_max_increase: float = 0.0
  # Instead: the least decrease of MAE below the last blessed model's for a blessing;
  # None: no improvement required.
  mae_min_improvement: Optional[float] = None
  confidence: float = 0.95

  def __post_init__(self):
    # Checked here, before any work: a NaN or negative bound would run the whole
    # pipeline only to refuse every model with a false reason.
    if not (math.isfinite(self.mae_upper_bound) and self.mae_upper_bound > 0):
      raise ValueError("the MAE bound (--mae-bound) must be a positive number, got "
                       f"{self.mae_upper_bound:g}")
    if not (math.isfinite(self.mae_max_increase) and self.mae_max_increase >= 0):
      raise ValueError("the MAE's allowed increase (--mae-max-increase) must be 0 or more, "
                       f"got {self.mae_max_increase:g}")
    if self.mae_min_improvement is not None and not (
        math.isfinite(self.mae_min_improvement) and self.mae_min_improvement >= 0):
      raise ValueError("the MAE's required improvement (--mae-min-improvement) must be 0 or "
                       f"more, got {self.mae_min_improvement:g}")
    if self.mae_max_increase and self.mae_min_improvement is not None:
      raise ValueError("--mae-max-increase and --mae-min-improvement exclude each other")
    if not 0.5 <= self.confidence < 1:  # NaN fails too
      raise ValueError("the gate's confidence (--gate-confidence) must be at least 0.5 and "
                       f"below 1, got {self.confidence:g}")

  @property
  def requires_improvement(self) -> bool:
    return self.mae_min_improvement is not None

  @property
  def mae_change_bound(self) -> float:
    """The largest candidate-minus-baseline MAE change still blessed, noise margin applied."""
    return -self.mae_min_improvement if self.requires_improvement else self.mae_max_increase

  @property
  def noise_margin(self) -> float:
    """Standard errors by which the change is moved before it meets mae_change_bound: the
    candidate given the benefit of the doubt (-z), or held to it (+z)."""
    z = statistics.NormalDist().inv_cdf(self.confidence)
    return z if self.requires_improvement else -z


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
  transform: TransformConfig = TransformConfig()
  trainer: TrainerConfig = TrainerConfig()
  # > 0: TFX's Tuner tries this many points of trainer.tuning.SEARCH_SPACE on validation
  # before the Trainer, which then trains with the best. 0: no Tuner, `trainer` as it is.
  tuning_trials: int = 0
  train_steps: Optional[int] = None  # None: epochs of full passes (trainer.epochs)
  eval_steps: Optional[int] = None   # None: the whole validation split, each epoch
  gate: GateConfig = GateConfig()
  ranking: RankingConfig = RankingConfig()
  beam_pipeline_args: Sequence[str] = ()
  # Each Beam-based component's jobs named after it (definition.beam_job_name): an
  # engine's job list then says which stage ran. Off by default: Dataflow refuses a
  # job named as one still running, as two concurrent runs' stages would be.
  beam_job_names: bool = False
  enable_cache: bool = True
  # The Transform's own TFDV passes: statistics of its input (what StatisticsGen already
  # computed) and of the transformed features, with their schemas and anomalies. Off by
  # default: nothing downstream reads them and they are two more passes over every row.
  transform_statistics: bool = False
  # Span mode: this run ingests span `span` of the span-mode CSV under csv_dir
  # (movielens.conversion.span_bounds), evaluates on it, and trains on the `train_spans` spans
  # before it (None: all of them), gathered from earlier runs by TFX's span resolver, or
  # ingested again (portable_spans).
  span: Optional[int] = None
  train_spans: Optional[int] = None
  # Span mode's portable design (pipeline.span_inputs): the training spans ingested again
  # by a second CsvExampleGen, as Kubeflow V2 compiles it, not gathered by span resolvers.
  portable_spans: bool = False
  warm_start: bool = True       # span mode: the Trainer starts from the last blessed model
  stop_on_drift: bool = False   # drift of drift.STOPPING_FEATURES stops the run

  def __post_init__(self):
    if self.span is not None and self.span < 0:
      raise ValueError(f"span must be 0 or more, got {self.span}")
    if self.portable_spans and self.span is None:
      raise ValueError("portable_spans is for span mode: give the span too")
    if self.train_spans is not None and self.train_spans < 1:
      raise ValueError(f"--train-spans must be at least 1, got {self.train_spans}")
    if self.train_steps is not None and self.train_steps < 1:
      raise ValueError(f"train_steps must be at least 1, got {self.train_steps}")
    if self.tuning_trials < 0:
      raise ValueError(f"tuning_trials must be 0 (no Tuner) or more, got {self.tuning_trials}")

  @property
  def local_schema_path(self) -> str:
    """The schema as this machine reads it: schema_path, or, when that is a path inside a
    container image (Kubeflow), this repository's copy of the same file."""
    return self.schema_path if os.path.exists(self.schema_path) else DEFAULT_SCHEMA_PATH

  @property
  def span_mode(self) -> bool:
    return self.span is not None

  @property
  def first_training_span(self) -> int:
    """The oldest span this run trains on (span mode)."""
    return 0 if self.train_spans is None else max(0, self.span - self.train_spans)

  @property
  def data_dir(self) -> str:
    """The conversion this run ingests: csv_dir, or in span mode its span's folder."""
    return c.span_dir(self.csv_dir, self.span) if self.span_mode else self.csv_dir

  @property
  def catalog_path(self) -> str:
    return os.path.join(self.data_dir, c.CATALOG_DIR, c.CATALOG_FILE)

  def transform_custom_config(self) -> Dict[str, Any]:
    return self.transform.to_custom_config(self.catalog_path)

  def check_csv(self, summary: Optional[Dict[str, Any]]) -> None:
    """Raises ValueError unless the CSV conversion (its summary.json) can feed this
    pipeline: converted, with at least `window` history events per row."""
    if summary is None:
      raise ValueError(f"{self.data_dir} has no {c.SUMMARY_FILE}: convert the data first "
                       "(python local_runner.py --prepare-only, or python -m movielens.convert)")
    history_length = summary["settings"]["history_length"]
    if self.transform.window > history_length:
      raise ValueError(f"window {self.transform.window} is longer than the {history_length} "
                       f"history events per row of {self.data_dir} (its --history-length): "
                       f"pass --window {history_length} or less, or convert with "
                       f"--history-length {self.transform.window} or more")


CONVERSION_STAGE = "csv-conversion"  # the CSV conversion's name among the Beam stages


def beam_job_name(pipeline_name: str, stage: str) -> str:
  """"bst-movielens-csvexamplegen": the name of a stage's Beam jobs (PipelineConfig.
  beam_job_names), in the characters every engine accepts (Dataflow's are the fewest)."""
  return re.sub(r"[^a-z0-9]+", "-", f"{pipeline_name}-{stage}".lower()).strip("-")


# --- A run on this machine ---------------------------------------------------------------

# DirectRunner in this process, as TFX's default: its multi-processing mode loses rows at
# millions of ratings (docs/decisions.md, issue 40). Later flags override these.
LOCAL_BEAM_ARGS = ("--direct_running_mode=in_memory", "--direct_num_workers=1")


def local_pipeline_config(output_dir: str, csv_dir: str, serving_dir: Optional[str] = None,
                          beam_args: Sequence[str] = (), **fields) -> PipelineConfig:
  """The PipelineConfig of a LocalDagRunner run under `output_dir` (cli.layout), Beam on
  LOCAL_BEAM_ARGS then `beam_args`, and TFX's sdist built once (pipeline.tfx_package);
  `fields` are any other PipelineConfig fields."""
  layout = layout_lib.LocalLayout(output_dir, serving_dir)
  return PipelineConfig(
      csv_dir=csv_dir, pipeline_root=layout.pipeline_root, metadata_path=layout.metadata_path,
      serving_model_dir=layout.serving_dir,
      beam_pipeline_args=list(LOCAL_BEAM_ARGS) + list(beam_args) + tfx_package.beam_args(
          beam_args), **fields)
