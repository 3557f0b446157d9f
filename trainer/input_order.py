"""The Trainer's examples in an order that depends on the examples alone.

Beam writes a split's examples in whatever order its workers finish, and serializes each
example's feature map in no fixed order, so the files differ from run to run while
holding the same examples. A seeded shuffle of such files is a different sequence each
time, and so is the model trained on it. Before training, each split is therefore read
once, every example re-serialized deterministically (feature names sorted), and written
to one local file in the order of a seeded fingerprint of those bytes: a pseudo-random
order that is the same however Beam wrote the files, and that a new seed changes. The
Trainer's usual seeded shuffle then runs on that file.

The examples are held in memory while they are ordered: about one kilobyte per example.
"""
import hashlib
import os
from typing import List

import tensorflow as tf

READ_BATCH = 4096


def _fingerprint(record: bytes, seed: int) -> bytes:
  return hashlib.blake2b(record, digest_size=8, key=seed.to_bytes(8, "little")).digest()


def canonical_records(file_patterns: List[str]) -> List[bytes]:
  """Every tf.Example in the (GZIP) files matching `file_patterns`, each serialized with
  its features in name order."""
  files = sorted(path for pattern in file_patterns for path in tf.io.gfile.glob(pattern))
  records = []
  for batch in tf.data.TFRecordDataset(files, compression_type="GZIP").batch(READ_BATCH):
    records.extend(tf.train.Example.FromString(record).SerializeToString(deterministic=True)
                   for record in batch.numpy())
  return records


def write_in_canonical_order(file_patterns: List[str], seed: int, path: str) -> str:
  """Writes the examples of `file_patterns` to `path` (an uncompressed TFRecord file) in
  the order of their seeded fingerprints; returns `path`."""
  records = canonical_records(file_patterns)
  records.sort(key=lambda record: (_fingerprint(record, seed), record))
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with tf.io.TFRecordWriter(path) as out:
    for record in records:
      out.write(record)
  return path
