"""TFX's sdist for Beam's workers: built once by TFX, reused, and nothing left behind."""
import os
import tarfile
import tempfile

from pipeline import tfx_package


def test_tfxs_sdist_is_built_once_and_its_build_folder_removed(tmp_path, monkeypatch):
  scratch = tmp_path / "tmp"
  scratch.mkdir()
  monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where TFX builds it
  cache = str(tmp_path / "cache")
  [flag] = tfx_package.beam_args([], cache_dir=cache)
  path = flag.split("=", 1)[1]
  assert flag.startswith("--extra_package=") and os.path.dirname(path) == cache
  with tarfile.open(path) as sdist:
    assert any(name.endswith("/tfx/version.py") for name in sdist.getnames())
  assert os.listdir(scratch) == []
  built = os.stat(path).st_mtime_ns
  assert tfx_package.beam_args(["--direct_num_workers=1"], cache_dir=cache) == [flag]
  assert os.stat(path).st_mtime_ns == built and os.listdir(cache) == [os.path.basename(path)]


def test_dependencies_the_user_gives_are_left_alone(tmp_path):
  for given in ("--setup_file=./setup.py", "--extra_package=x.tar.gz",
                "--requirements_file=r.txt", "--sdk_container_image=i"):
    assert tfx_package.beam_args([given], cache_dir=str(tmp_path)) == []
  assert os.listdir(tmp_path) == []
