"""What a conversion converts, where to, and how: the one ConversionConfig."""
import dataclasses
from typing import Dict, Optional

from movielens import constants as c


@dataclasses.dataclass(frozen=True)
class ConversionConfig:
  """What to convert, where to, and how. Paths may be on any Beam filesystem."""
  input_dir: str
  output_dir: str
  history_length: int = c.HISTORY_LENGTH  # K previous ratings per row (the Transform
                                          # keeps the last W <= K)
  eval_fraction: float = 0.1  # each user's last fraction of events go to eval
  validation_fraction: float = 0.05  # the fraction just before eval goes to validation
  time_cutoff: Optional[int] = None  # instead: events at/after this Unix time go to eval,
  validation_time_cutoff: Optional[int] = None  # and those from this one on to validation
  num_shards: int = 4
  strict: bool = True  # False: skip bad lines, count and list them

  def validate(self) -> None:
    if self.history_length < 1:
      raise ValueError(f"history_length must be at least 1, got {self.history_length}")
    if (self.time_cutoff is None) != (self.validation_time_cutoff is None):
      raise ValueError("time_cutoff and validation_time_cutoff go together: validation is "
                       "the period [validation_time_cutoff, time_cutoff)")
    if self.time_cutoff is None:
      for name in ("eval_fraction", "validation_fraction"):
        if not 0 < getattr(self, name) < 1:
          raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
      if self.eval_fraction + self.validation_fraction >= 1:
        raise ValueError("eval_fraction + validation_fraction must be below 1, got "
                         f"{self.eval_fraction} + {self.validation_fraction}")
    elif not self.validation_time_cutoff < self.time_cutoff:
      raise ValueError(f"validation_time_cutoff ({self.validation_time_cutoff}) must be "
                       f"before time_cutoff ({self.time_cutoff})")
    if self.num_shards < 1:
      raise ValueError(f"num_shards must be at least 1, got {self.num_shards}")

  def settings(self) -> Dict[str, object]:
    """The knobs that shape the output (paths aside), recorded in the summary."""
    return {"history_length": self.history_length, "eval_fraction": self.eval_fraction,
            "validation_fraction": self.validation_fraction,
            "time_cutoff": self.time_cutoff,
            "validation_time_cutoff": self.validation_time_cutoff,
            "num_shards": self.num_shards, "strict": self.strict}
