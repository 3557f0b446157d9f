"""Every hyperparameter of the BST and its training, passed as the Trainer's custom_config."""
import dataclasses
from typing import Any, Dict, Optional, Sequence, Tuple

# The logger the Trainer writes one line per epoch to (trainer.task); the local runner's
# console shows its latest line as the Trainer's heartbeat (cli.console).
EPOCH_LOG_NAME = "trainer.epochs"


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
  """The sequence part follows the Keras BST example (a 32 -> 16 MLP). Every other value
  was chosen on validation MAE with benchmarks/model_ablation.py; what was tried, and the
  numbers each choice rests on, are in docs/decisions.md."""
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
  # trains at about the full rate, while at ml-1m scale the rate about halves each epoch.
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
  # min_delta, the run-to-run noise of one training: once the rate has decayed, later
  # epochs gain little, and the whole ml-1m run must fit its 15-minute budget.
  early_stopping_patience: int = 1
  early_stopping_min_delta: float = 0.0005
  # Warm start (span mode): the base model's share of each first weight, the rest a cold
  # start's initialisation ("shrink and perturb"; trainer.warm_start says why). 1: the
  # base model as it is.
  warm_start_shrink: float = 0.5
  # ...its learning rate's half-life in steps, in place of learning_rate_half_life, and
  # the most epochs it trains, early stopping ending it sooner (trainer.warm_start.
  # training_config says why).
  warm_start_learning_rate_half_life: int = 400
  warm_start_epochs: int = 2
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
    for name in ("epochs", "batch_size", "warm_start_epochs"):
      if getattr(config, name) < 1:
        raise ValueError(f"{name} must be at least 1, got {getattr(config, name)}")
    if not 0 <= config.dropout < 1:
      raise ValueError(f"dropout must be in [0, 1), got {config.dropout}")
    if not 0 <= config.warm_start_shrink <= 1:
      raise ValueError(f"warm_start_shrink must be in [0, 1], got {config.warm_start_shrink}")
    for name in ("factor_scale", "median_temperature"):
      if getattr(config, name) <= 0:
        raise ValueError(f"{name} must be above 0, got {getattr(config, name)}")
    # A learning rate of 0 trains nothing: a deliberately worse model, as the tests use.
    for name in ("learning_rate", "factorization_l2", "next_movie_weight",
                 "early_stopping_patience", "early_stopping_min_delta"):
      if getattr(config, name) < 0:
        raise ValueError(f"{name} must be 0 or more, got {getattr(config, name)}")
    for name in ("learning_rate_half_life", "warm_start_learning_rate_half_life"):
      if getattr(config, name) < 0:
        raise ValueError(f"{name} must be 0 (constant) or a number of steps, "
                         f"got {getattr(config, name)}")
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
      try:
        values[key] = ([int(v) for v in value.split(",")] if isinstance(kind, list)
                       else (value.lower() in ("1", "true", "yes")) if isinstance(kind, bool)
                       else type(kind)(value))
      except ValueError:
        expected = ("comma-separated integers" if isinstance(kind, list)
                    else f"a {type(kind).__name__}, like {kind!r}")
        raise ValueError(f"--set {override}: {key} takes {expected}") from None
    return self.with_values(values)

  def to_custom_config(self) -> Dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(self).items()}
