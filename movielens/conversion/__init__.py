"""The Beam conversion: a MovieLens directory -> CSV shards that CsvExampleGen reads.

One CSV row per rating event: the user's features, the target movie, its rating and
timestamp, and the user's previous `history_length` ratings (movie ids, ratings,
timestamps; oldest first; space-separated). A user's events are ordered by timestamp, ties
by line order in ratings.dat, so the output is deterministic, byte for byte.

Output, under `output_dir`:
    train/part-NNNNN-of-MMMMM.csv   every shard has the header row
    validation/part-NNNNN-of-MMMMM.csv
    eval/part-NNNNN-of-MMMMM.csv
    catalog/movies.csv               movie_id,title,genres: the catalog the model owns
    skipped_lines.txt                file:line: reason: detail, for each skipped line
    summary.json                     rows per split, users, movies, skipped lines, inputs,
                                     and the sha256 of every file above
In span mode (`spans`) the output folder is one span's, `<root>/span-K/`, with train/ and
validation/ only, and summary.json records the span's bounds.

The modules, by concern:
    config          ConversionConfig: what to convert, where to, and how
    splits          which split each of a user's events goes to
    spans           span mode: the ratings cut by time, one span per conversion
    beam_pipeline   the Beam transforms: ratings.dat -> parsed events -> CSV shards
    summary         the catalog, summary.json, checksums, and whether a folder is current
    folders         one conversion at a time per folder; whole-or-nothing moves
    run             run_conversion: all of the above, in order
The command line is `movielens/convert.py`.
"""
import importlib

from movielens.conversion.config import ConversionConfig
from movielens.conversion.splits import split_sizes

# Names whose modules import Beam, loaded on first use (PEP 562): a command that only
# builds a ConversionConfig from its flags answers --help, or refuses a bad flag, without
# Beam's seconds of start-up.
_BEAM_NAMES = {"is_local": "folders", "run_conversion": "run", "is_current": "summary",
               "read_summary": "summary", "staleness": "summary",
               "changed_catalogs": "summary"}


def __getattr__(name: str):
  if name not in _BEAM_NAMES:
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
  return getattr(importlib.import_module(f"{__name__}.{_BEAM_NAMES[name]}"), name)


__all__ = ["ConversionConfig", "split_sizes", *_BEAM_NAMES]
