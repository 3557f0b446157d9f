"""The Trainer's input order depends on the examples and the seed, not on how Beam wrote them."""
import tensorflow as tf

from trainer import input_order

NAMES = ("user_index", "target_movie_index", "rating")


def feature(name, value):
  if name == "rating":
    return tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
  return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def serialized(values, names):
  """One example, its features serialized in the order of `names`: concatenated messages
  merge, so the bytes differ by order while the example is the same."""
  return b"".join(tf.train.Example(features=tf.train.Features(
      feature={name: feature(name, values[name])})).SerializeToString() for name in names)


def write_gzip(path, records):
  with tf.io.TFRecordWriter(str(path), options="GZIP") as out:
    for record in records:
      out.write(record)
  return str(path)


def read(path):
  return [record.numpy() for record in tf.data.TFRecordDataset(path)]


def parsed(records):
  return sorted(str(sorted(tf.train.Example.FromString(r).features.feature.items()))
                for r in records)


EXAMPLES = [{"user_index": user, "target_movie_index": movie, "rating": float(1 + movie % 5)}
            for user in range(1, 8) for movie in range(user, user + 6)]


def test_the_order_is_the_same_however_beam_wrote_the_examples(tmp_path):
  # As one run's workers might write them: two shards, features in one order...
  first = [serialized(values, NAMES) for values in EXAMPLES]
  write_gzip(tmp_path / "a-0.gz", first[::2])
  write_gzip(tmp_path / "a-1.gz", first[1::2])
  # ...and as another's: one shard, the examples reversed, the features in another order.
  second = [serialized(values, NAMES[::-1]) for values in reversed(EXAMPLES)]
  write_gzip(tmp_path / "b-0.gz", second)
  assert sorted(first) != sorted(second)  # the bytes differ, not only their order

  ordered_a = input_order.write_in_canonical_order([str(tmp_path / "a-*")], 7,
                                                   str(tmp_path / "out" / "a"))
  ordered_b = input_order.write_in_canonical_order([str(tmp_path / "b-*")], 7,
                                                   str(tmp_path / "out" / "b"))
  assert read(ordered_a) == read(ordered_b)
  assert parsed(read(ordered_a)) == parsed(first)  # every example, each once


def test_the_seed_changes_the_order_and_nothing_else(tmp_path):
  records = [serialized(values, NAMES) for values in EXAMPLES]
  pattern = write_gzip(tmp_path / "a-0.gz", records)
  seven = read(input_order.write_in_canonical_order([pattern], 7, str(tmp_path / "seven")))
  eight = read(input_order.write_in_canonical_order([pattern], 8, str(tmp_path / "eight")))
  assert seven != eight
  assert sorted(seven) == sorted(eight)
  # Not the files' order, nor sorted: a shuffle.
  assert parsed(seven) == parsed(records)
  assert seven != sorted(seven)
