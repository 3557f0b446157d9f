"""The Transform's knobs, passed as the Transform component's `custom_config`.

The window lives here and only here: the Transform cuts every history to it, so the
transformed features' shapes carry it to the Trainer (transform.features.window), and the
pipeline checks it against the CSV conversion's history length when it is built.
"""
import dataclasses
from typing import Any, Dict, Optional, Tuple

from movielens import constants as c

CATALOG_PATH_KEY = "catalog_path"  # catalog/movies.csv written by the CSV conversion


@dataclasses.dataclass(frozen=True)
class TransformConfig:
  # History events the model sees per row, most recent last: at most the CSV's history
  # length (the conversion's --history-length), which is the default.
  window: int = c.HISTORY_LENGTH

  def __post_init__(self):
    if self.window < 1:
      raise ValueError(f"window must be at least 1, got {self.window}")

  def to_custom_config(self, catalog_path: str) -> Dict[str, Any]:
    return {CATALOG_PATH_KEY: catalog_path, **dataclasses.asdict(self)}

  @classmethod
  def from_custom_config(cls, custom_config: Optional[Dict[str, Any]]
                         ) -> Tuple["TransformConfig", str]:
    """(the config, the catalog's path) from what to_custom_config wrote."""
    values = dict(custom_config or {})
    if CATALOG_PATH_KEY not in values:
      raise ValueError(f"the Transform needs custom_config={{'{CATALOG_PATH_KEY}': "
                       "'<csv dir>/catalog/movies.csv', 'window': W}")
    catalog_path = values.pop(CATALOG_PATH_KEY)
    return cls(**values), catalog_path
