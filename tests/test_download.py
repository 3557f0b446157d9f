"""Download, checksum and cache of ml-1m, exercised on local URLs (no network needed)."""
import hashlib
import os
import zipfile

import pytest

from movielens import constants as c
from movielens import download
from tests.conftest import write_dat_files

# Nothing listens on the discard port of the loopback address: refused at once.
UNREACHABLE_URL = "http://127.0.0.1:9/ml-1m.zip"


def make_zip(tmp_path) -> str:
  """A zip laid out like ml-1m.zip (an ml-1m/ folder with the three files)."""
  source = write_dat_files(tmp_path / "src", ["1::1::5::978300760"],
                           ["1::F::1::10::48067"], ["1::Toy Story (1995)::Animation"])
  zip_path = str(tmp_path / "ml-1m.zip")
  with zipfile.ZipFile(zip_path, "w") as archive:
    for name in c.DATA_FILES:
      archive.write(os.path.join(source, name), f"{c.ML1M_ZIP_DIR}/{name}")
  return zip_path


def md5_of(path) -> str:
  return hashlib.md5(open(path, "rb").read()).hexdigest()


def test_offline_fails_at_once_naming_both_ways_forward(tmp_path):
  with pytest.raises(download.DatasetUnavailableError) as raised:
    download.fetch_ml1m(str(tmp_path / "cache"), url=UNREACHABLE_URL, timeout=5)
  message = str(raised.value)
  assert UNREACHABLE_URL in message and "offline" in message
  assert "ml-1m.zip" in message and c.ML1M_MD5 in message  # supply the files yourself
  assert "--data-dir" in message and "--synthetic" in message  # or generate data
  assert not os.listdir(tmp_path / "cache")  # no partial download left behind


def test_download_verifies_and_extracts(tmp_path):
  zip_path = make_zip(tmp_path)
  cache = str(tmp_path / "cache")
  data_dir = download.fetch_ml1m(cache, url=f"file://{zip_path}", md5=md5_of(zip_path))
  assert data_dir == os.path.join(cache, c.ML1M_ZIP_DIR)
  assert download.has_movielens_files(data_dir)
  # Cached: a second call neither downloads nor needs the network.
  assert download.fetch_ml1m(cache, url=UNREACHABLE_URL, md5=md5_of(zip_path)) == data_dir


def test_checksum_mismatch_keeps_the_zip_renamed_and_says_where(tmp_path):
  zip_path = make_zip(tmp_path)
  actual = md5_of(zip_path)
  cache = tmp_path / "cache"
  with pytest.raises(download.DatasetUnavailableError, match=(
      rf"expected 0{{32}}: it is corrupt or not MovieLens 1M; kept as "
      rf"{cache / 'ml-1m.zip'}.md5-{actual}\. Run again to download it anew")):
    download.fetch_ml1m(str(cache), url=f"file://{zip_path}", md5="0" * 32)
  assert not (cache / "ml-1m.zip").exists() and not (cache / c.ML1M_ZIP_DIR).exists()
  assert md5_of(cache / f"ml-1m.zip.md5-{actual}") == actual  # the user's file, intact


def test_an_interrupted_extraction_is_redone_not_reused(tmp_path):
  zip_path = make_zip(tmp_path)
  cache = tmp_path / "cache"
  (cache / c.ML1M_ZIP_DIR).mkdir(parents=True)
  (cache / c.ML1M_ZIP_DIR / c.RATINGS_FILE).write_text("1::1::5::97830")  # cut short
  (cache / (c.ML1M_ZIP_DIR + ".partial")).mkdir()  # what the interrupted run left
  os.replace(zip_path, cache / "ml-1m.zip")
  data_dir = download.fetch_ml1m(str(cache), url=UNREACHABLE_URL,
                                 md5=md5_of(cache / "ml-1m.zip"))
  assert open(os.path.join(data_dir, c.RATINGS_FILE)).read() == "1::1::5::978300760\n"
  assert sorted(os.listdir(cache)) == sorted([c.ML1M_ZIP_DIR, "ml-1m.zip"])


def test_a_zip_put_in_the_cache_by_hand_is_used(tmp_path):
  zip_path = make_zip(tmp_path)
  cache = tmp_path / "cache"
  cache.mkdir()
  os.replace(zip_path, cache / "ml-1m.zip")
  data_dir = download.fetch_ml1m(str(cache), url=UNREACHABLE_URL,
                                 md5=md5_of(cache / "ml-1m.zip"))
  assert download.has_movielens_files(data_dir)


def test_the_real_checksum_is_the_published_one():
  assert c.ML1M_MD5 == "c4d9eecfca2ab87c1945afe126590906"
  assert c.ML1M_URL == "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
