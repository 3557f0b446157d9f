"""What a conversion leaves beside its shards, and whether a folder is current.

catalog/movies.csv is the movie catalog the model will own; summary.json counts rows
per split, users, movies and skipped lines, fingerprints the inputs, records the
settings, and holds the sha256 of every file written, so `staleness` can tell a folder
that is the conversion of these inputs with these settings, whole and unchanged, from
one that must be converted again. skipped_lines.txt lists every skipped line.
"""
import csv
import hashlib
import io
import json
from typing import Dict, List, Optional, Tuple

from apache_beam.io.filesystems import FileSystems

from movielens import constants as c
from movielens import generate
from movielens import parse
from movielens.conversion.config import ConversionConfig

# (file name, line number, reason, full message) of a skipped line.
SkipRecord = Tuple[str, int, str, str]


def write_catalog(movies: Dict[int, parse.Movie], output_dir: str) -> None:
  buffer = io.StringIO()
  writer = csv.writer(buffer, lineterminator="\n")
  writer.writerow(c.CATALOG_COLUMNS)
  for movie_id in sorted(movies):
    movie = movies[movie_id]
    writer.writerow((movie.movie_id, movie.title, c.GENRE_SEPARATOR.join(movie.genres)))
  with FileSystems.create(FileSystems.join(output_dir, c.CATALOG_DIR, c.CATALOG_FILE)) as f:
    f.write(buffer.getvalue().encode("utf-8"))


def file_digest(path: str) -> Dict[str, object]:
  """sha256, size and line count of a file on any Beam filesystem."""
  digest, size, lines = hashlib.sha256(), 0, 0
  with FileSystems.open(path) as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
      size += len(block)
      lines += block.count(b"\n")
  return {"sha256": digest.hexdigest(), "bytes": size, "lines": lines}


def fingerprint_inputs(input_dir: str) -> Dict[str, Dict[str, object]]:
  """sha256 and size of each input file: tells whether a conversion is stale."""
  return {name: file_digest(FileSystems.join(input_dir, name)) for name in c.DATA_FILES}


def _relative(path: str, output_dir: str) -> str:
  return path[len(output_dir.rstrip("/")) + 1:]


def output_files(output_dir: str) -> List[str]:
  """The data files a conversion wrote (every shard and the catalog), relative to
  output_dir, as they are on disk now."""
  found = FileSystems.match([FileSystems.join(output_dir, folder, "*")
                             for folder in (*c.SPLITS, c.CATALOG_DIR)])
  return sorted(_relative(m.path, output_dir) for result in found
                for m in result.metadata_list)


def write_summary(shards_written: int, rows_summary, beam_skipped: List[SkipRecord],
                  launch_skipped: List[SkipRecord], header: Dict[str, object],
                  output_dir: str, span: Optional[Dict[str, object]] = None) -> None:
  """Written last: its first input, the count of shards written, exists only once every
  shard is. In span mode `span` holds the span's bounds (or why it has none)."""
  del shards_written
  skipped = sorted(list(launch_skipped) + list(beam_skipped),
                   key=lambda r: (c.DATA_FILES.index(r[0]) if r[0] in c.DATA_FILES else 99,
                                  r[1]))
  counts = parse.count_by_file_and_reason((file_name, reason)
                                          for file_name, _, reason, _ in skipped)
  files = {name: file_digest(FileSystems.join(output_dir, name)) for name in output_files(output_dir)}
  summary = dict(header, **rows_summary, skipped=counts, skipped_total=len(skipped),
                 files=files, **({"span": span} if span else {}))
  with FileSystems.create(FileSystems.join(output_dir, c.SKIPPED_FILE)) as f:
    f.write("".join(f"{message}\n" for *_, message in skipped).encode("utf-8"))
  with FileSystems.create(FileSystems.join(output_dir, c.SUMMARY_FILE)) as f:
    f.write((json.dumps(summary, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def changed_catalogs(summary: Dict[str, object], earlier: Dict[str, object]) -> List[str]:
  """users.dat and movies.dat, where they differ between two conversions' inputs (span
  mode: a span's rows then carry other user or movie attributes than the spans before)."""
  return [name for name in (c.USERS_FILE, c.MOVIES_FILE)
          if summary["inputs"].get(name) != earlier["inputs"].get(name)]


def summary_header(config: ConversionConfig) -> Dict[str, object]:
  return {
      "input_dir": config.input_dir,
      "synthetic": generate.is_synthetic(config.input_dir),
      "inputs": fingerprint_inputs(config.input_dir),
      "settings": config.settings(),
  }


def read_summary(output_dir: str) -> Optional[Dict[str, object]]:
  path = FileSystems.join(output_dir, c.SUMMARY_FILE)
  if not FileSystems.exists(path):
    return None
  with FileSystems.open(path) as f:
    return json.loads(f.read().decode("utf-8"))


def staleness(config: ConversionConfig) -> Optional[str]:
  """Why output_dir cannot be reused as the conversion of these inputs with these
  settings; None when it can: the same inputs and settings, and every file it wrote still
  there, unchanged, with no other beside it."""
  summary = read_summary(config.output_dir)
  if summary is None:
    return "not converted yet"
  if summary.get("inputs") != fingerprint_inputs(config.input_dir):
    return "the input files changed"
  if summary.get("settings") != config.settings():
    return "the conversion settings changed"
  recorded, found = summary.get("files", {}), output_files(config.output_dir)
  for name in sorted(set(recorded) | set(found)):
    if name not in found:
      return f"{name} is missing"
    if name not in recorded:
      return f"{name} is not from the last conversion"
    if file_digest(FileSystems.join(config.output_dir, name)) != recorded[name]:
      return f"{name} changed since it was written"
  return None


def is_current(config: ConversionConfig) -> bool:
  return staleness(config) is None
