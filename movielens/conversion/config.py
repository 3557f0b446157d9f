"""What a conversion converts, where to, and how: the one ConversionConfig."""
import dataclasses
from typing import Any, Dict, Mapping, Optional, Tuple

from movielens import constants as c


def is_span_mode(spans: int, span_days: Optional[int]) -> bool:
  """Span mode, the one rule: the ratings cut into more than one span, by count or by days."""
  return spans > 1 or span_days is not None


def eval_rows_settings(settings: Mapping[str, Any]) -> Dict[str, Any]:
  """Of a conversion's settings (ConversionConfig's fields, or its summary's "settings"),
  those that decide which ratings are eval rows: span mode's cut, or one span's time
  cutoff or eval fraction. Models of two conversions of the same ratings that differ here
  may have trained on each other's eval rows. (A one-span summary has no span keys.)"""
  spans, span_days = settings.get("spans", 1), settings.get("span_days")
  if span_days is not None:
    return {"span_days": span_days}
  if is_span_mode(spans, span_days):
    return {"spans": spans}
  if settings["time_cutoff"] is not None:
    return {"time_cutoff": settings["time_cutoff"]}
  return {"eval_fraction": settings["eval_fraction"]}


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
  # Span mode (movielens.conversion.span_bounds): the ratings cut by time into `spans` spans of
  # equal rating counts, or into calendar spans of `span_days` days; the conversion writes
  # the one span `span` (0-based), its rows' histories reaching back across spans.
  spans: int = 1
  span_days: Optional[int] = None
  span: Optional[int] = None

  @property
  def span_mode(self) -> bool:
    return is_span_mode(self.spans, self.span_days)

  @property
  def splits(self) -> Tuple[str, ...]:
    """The split folders this conversion writes."""
    return c.SPAN_SPLITS if self.span_mode else c.SPLITS

  def span_dir(self, span: int) -> str:
    """Span `span`'s folder under `output_dir` in span mode."""
    return c.span_dir(self.output_dir, span)

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
    self._validate_spans()

  def _validate_spans(self) -> None:
    if self.spans < 1:
      raise ValueError(f"spans (--spans) must be at least 1, got {self.spans}")
    if self.span_days is not None and self.span_days < 1:
      raise ValueError(f"span_days (--span-days) must be at least 1, got {self.span_days}")
    if self.spans > 1 and self.span_days is not None:
      raise ValueError("--spans (equal counts) and --span-days (calendar) exclude each other")
    if not self.span_mode:
      if self.span is not None:
        raise ValueError("a span is chosen only in span mode (--spans N or --span-days D)")
      return
    if self.time_cutoff is not None:
      raise ValueError("--time-cutoff and span mode exclude each other: in span mode each "
                       "span's run evaluates on that span")
    if self.span is None or self.span < 0 or (self.spans > 1 and self.span >= self.spans):
      raise ValueError(f"span must be one of 0..{self.spans - 1 if self.spans > 1 else 'N'}"
                       f", got {self.span}")

  def settings(self) -> Dict[str, object]:
    """The knobs that shape the output (paths aside), recorded in the summary."""
    return {"history_length": self.history_length, "eval_fraction": self.eval_fraction,
            "validation_fraction": self.validation_fraction,
            "time_cutoff": self.time_cutoff,
            "validation_time_cutoff": self.validation_time_cutoff,
            "num_shards": self.num_shards, "strict": self.strict,
            # Span keys only in span mode: a default conversion's settings stay as they were.
            **({"spans": self.spans, "span_days": self.span_days, "span": self.span}
               if self.span_mode else {})}

