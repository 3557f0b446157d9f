"""TFX's own sdist for Beam's workers, built once per TFX version and reused. Left to
itself, each TFX Beam stage builds it afresh (tfx.utils.dependency_utils) in a temp folder
it never removes: about 50 MB of /tmp a stage, every run."""
import os
import shutil
from typing import List, Sequence

CACHE_DIR = os.path.join(os.path.expanduser("~"), ".cache", "bst-movielens", "tfx")
# The Beam flags that give the workers their dependencies, which stop TFX from building
# its sdist (the options dependency_utils.make_beam_dependency_flags reads).
_DEPENDENCY_FLAGS = ("--extra_package", "--setup_file", "--requirements_file",
                     "--worker_harness_container_image", "--sdk_container_image")


def beam_args(user_beam_args: Sequence[str], cache_dir: str = CACHE_DIR) -> List[str]:
  """["--extra_package=" TFX's cached sdist], or [] where `user_beam_args` already give
  the workers their dependencies."""
  if any(arg.split("=", 1)[0] in _DEPENDENCY_FLAGS for arg in user_beam_args):
    return []
  return [f"--extra_package={cached_sdist(cache_dir)}"]


def cached_sdist(cache_dir: str = CACHE_DIR) -> str:
  """The path of this TFX version's sdist in `cache_dir`, built by TFX on first use; TFX's
  build folder is removed. TFX is imported here, not above: a command's --help and flag
  checks load no TFX (tests/test_entry_points.py)."""
  from tfx import version  # pylint: disable=g-import-not-at-top
  path = os.path.join(cache_dir, f"tfx_ephemeral-{version.__version__}.tar.gz")
  if not os.path.exists(path):
    from tfx.utils import dependency_utils  # pylint: disable=g-import-not-at-top
    built = dependency_utils.build_ephemeral_package()  # TEMP/build/tfx/dist/NAME
    os.makedirs(cache_dir, exist_ok=True)
    partial = f"{path}.{os.getpid()}.partial"
    shutil.copyfile(built, partial)
    os.replace(partial, path)
    shutil.rmtree(built.rsplit(os.sep, 4)[0], ignore_errors=True)
  return path
