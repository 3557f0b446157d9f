"""Every hyperparameter of the BST and its training, passed as the Trainer's custom_config."""
import dataclasses
from typing import Any, Dict, Optional, Sequence, Tuple


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
  """The sequence part follows the Keras BST example (a 32 -> 16 MLP). The rest was chosen
  on ml-1m-scale generated data (README, Benchmarks). Earlier choices were judged on eval
  MAE, before the validation split existed: Adam over the example's Adagrad, the ordinal
  head and the factorization terms (eval MAE 0.71 -> 0.66), batches of 1,024 at 2e-3.
  Since then every choice is judged on validation MAE (benchmarks/model_ablation.py; the
  table is in the README): the median's width 0.02 (0.6466; 0.25: 0.6646), factorization
  terms (without: 0.6689), factors 4x faster than the rest (2x and 6x: worse), factor L2
  0.05 (0.15: worse), dropout 0.1 (0.2 and 0.3: within noise or worse), the next-movie
  head's weight 1 (0.6445; 0, the head untrained: 0.6463). Those figures are on data of
  choice strength 1, the generator's default before 4. At 4 (validation MAE; README,
  Benchmarks): the learning rate's half-life of 800 steps (0.6048 against the constant
  rate's 0.6133), the side factors (0.6038 against 0.6048; with the shared taste below a
  tie, 0.5862 both, and the head's validation loss lower), the taste term shared with the
  next-movie score (0.5862 against 0.6032), and then the next-movie weight 0.5 (0.5822
  by epoch 3, where 1 had 0.5876 and 2 0.5999; the head's validation loss was lower too)."""
  movie_embedding_dim: int = 32
  user_embedding_dim: int = 16
  feature_embedding_dim: int = 4   # sex, age group, occupation
  num_transformer_blocks: int = 1
  num_heads: int = 2
  feed_forward_dim: int = 64
  dropout: float = 0.1
  hidden_units: Tuple[int, ...] = (32, 16)
  factorization_dim: int = 32      # 0: no matrix-factorization terms (model.py)
  factorization_l2: float = 0.05   # per-example L2 on the factor and bias lookups
  factor_scale: float = 4.0        # the factors' speed relative to the rest (model.py)
  median_temperature: float = 0.02  # width of the steps of the predicted median (model.py)
  next_movie_weight: float = 0.5   # the next-movie head's loss beside the rating's (model.py)
  optimizer: str = "adam"
  learning_rate: float = 0.002
  # The learning rate halves every this many optimizer steps (0: constant). Counted in
  # steps, not epochs, so the schedule does not depend on the data's size: small data
  # (scale 0.01: 9 steps an epoch) trains at about the full rate, while at ml-1m scale
  # (825 steps an epoch) the rate about halves each epoch.
  learning_rate_half_life: int = 800
  # Side information in the factorization terms (model.py): the user's factors plus
  # factors of their sex, age group and occupation; the movie's plus its genres'.
  side_factors: bool = True
  # The next-movie score adds the rating's taste term <user, movie> (model.py), so which
  # movies a user picks trains the same factors as how they rate them.
  next_movie_taste: bool = True
  batch_size: int = 1024
  epochs: int = 10                 # upper bound; early stopping on validation MAE ends sooner
  # Training stops at the first epoch that does not improve validation MAE by more than
  # min_delta, the run-to-run noise of one training (README, Benchmarks): once the rate
  # has decayed, later epochs gain little (at ml-1m scale, 0.0006 over the next three at
  # 53 s each), and the whole pipeline must fit 15 minutes.
  early_stopping_patience: int = 1
  early_stopping_min_delta: float = 0.0005
  seed: int = 42

  @classmethod
  def from_custom_config(cls, custom_config: Optional[Dict[str, Any]]) -> "TrainerConfig":
    values = dict(custom_config or {})
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
      raise ValueError(f"unknown Trainer custom_config keys {unknown}; known: {sorted(known)}")
    if "hidden_units" in values:
      values["hidden_units"] = tuple(int(u) for u in values["hidden_units"])
    config = cls(**values)
    if config.movie_embedding_dim % config.num_heads:
      raise ValueError("movie_embedding_dim must be a multiple of num_heads")
    for name in ("epochs", "batch_size"):
      if getattr(config, name) < 1:
        raise ValueError(f"{name} must be at least 1, got {getattr(config, name)}")
    if not 0 <= config.dropout < 1:
      raise ValueError(f"dropout must be in [0, 1), got {config.dropout}")
    if config.learning_rate_half_life < 0:
      raise ValueError("learning_rate_half_life must be 0 (constant) or a number of steps, "
                       f"got {config.learning_rate_half_life}")
    return config

  def with_values(self, values: Dict[str, Any]) -> "TrainerConfig":
    """This config with some fields replaced (checked as from_custom_config checks)."""
    return TrainerConfig.from_custom_config(dict(self.to_custom_config(), **values))

  def with_overrides(self, overrides: Sequence[str]) -> "TrainerConfig":
    """This config with KEY=VALUE overrides (command-line `--set`), each parsed as its
    field's type; tuples as comma-separated numbers."""
    current = self.to_custom_config()
    values = {}
    for override in overrides:
      key, separator, value = override.partition("=")
      if not separator or key not in current:
        raise ValueError(f"{override!r}: expected KEY=VALUE with KEY one of {sorted(current)}")
      kind = current[key]
      values[key] = ([int(v) for v in value.split(",")] if isinstance(kind, list)
                     else (value.lower() in ("1", "true", "yes")) if isinstance(kind, bool)
                     else type(kind)(value))
    return self.with_values(values)

  def to_custom_config(self) -> Dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()}
