"""Installs the engine once under settings.home(): a Flink distribution laid out from
PyFlink's release files (pinned by sha256) and Beam's Flink job server as a classpath that
Maven resolves (each jar checked against job_server.lock). Idempotent: a finished install
leaves a marker holding the digest of the pinned files it was built from, and is redone
only when they change."""
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from typing import Dict

from engines.flink import settings

_DONE = ".installed"


class InstallError(RuntimeError):
  """A download or a checksum failed: nothing is left half-installed."""


def _parts(layout: settings.Layout):
  """(what, folder, digest of its pins, builder) of each part of the engine, in order."""
  return ((f"Flink {settings.FLINK_VERSION}", layout.flink_home,
           _pins_digest(settings.PYFLINK_REQUIREMENTS), _lay_out_flink),
          ("Beam's Flink job server", os.path.dirname(layout.job_server_lib),
           _pins_digest(settings.JOB_SERVER_POM, settings.JOB_SERVER_LOCK), _resolve_job_server))


def up_to_date(layout: settings.Layout) -> bool:
  """Whether every part is installed from today's pins."""
  return all(_installed(folder, pins) for _, folder, pins, _ in _parts(layout))


def install(layout: settings.Layout, log=print) -> None:
  """Installs what is missing or pinned otherwise: Flink, then the job server's
  classpath."""
  os.makedirs(layout.root, exist_ok=True)
  for what, folder, pins, build in _parts(layout):
    if not _installed(folder, pins):
      log(f"installing {what} into {folder}")
      _publish(folder, build, pins)


def _pins_digest(*paths: str) -> str:
  return hashlib.sha256("".join(sha256(path) for path in paths).encode()).hexdigest()


def _installed(folder: str, pins: str) -> bool:
  try:
    with open(os.path.join(folder, _DONE)) as marker:
      return marker.read().strip() == pins
  except FileNotFoundError:
    return False


def _publish(target: str, build, pins: str) -> None:
  """Builds into a folder beside `target`, then renames it into place, marked with the
  digest of the pins it was built from."""
  staging = tempfile.mkdtemp(prefix=".staging-", dir=os.path.dirname(target))
  try:
    build(staging)
    with open(os.path.join(staging, _DONE), "w") as marker:
      marker.write(pins + "\n")
    shutil.rmtree(target, ignore_errors=True)
    os.rename(staging, target)
  finally:
    shutil.rmtree(staging, ignore_errors=True)


def _lay_out_flink(flink_home: str) -> None:
  """FLINK_HOME from PyFlink's wheel (bin/ scripts, conf/) and sdist (deps/: lib/, opt/,
  plugins/, bin/bash-java-utils.jar)."""
  downloads = os.path.join(flink_home, ".downloads")
  _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--no-build-isolation", "--require-hashes", "-r", settings.PYFLINK_REQUIREMENTS,
        "-d", downloads], "downloading PyFlink's release files from PyPI")
  [wheel] = glob.glob(os.path.join(downloads, "apache_flink-*.whl"))
  [sdist] = glob.glob(os.path.join(downloads, "apache-flink-libraries-*.tar.gz"))
  with zipfile.ZipFile(wheel) as archive:
    for member in archive.namelist():
      for folder in ("bin", "conf"):
        if member.startswith(f"pyflink/{folder}/") and not member.endswith("/"):
          _extract(archive.open(member), os.path.join(flink_home, member[len("pyflink/"):]))
  with tarfile.open(sdist) as archive:
    for member in archive.getmembers():
      parts = member.name.split("/")
      if member.isfile() and len(parts) > 3 and parts[1] == "deps" and parts[2] != "licenses":
        _extract(archive.extractfile(member), os.path.join(flink_home, *parts[2:]))
  for script in glob.glob(os.path.join(flink_home, "bin", "*.sh")) + [
      os.path.join(flink_home, "bin", "flink")]:
    os.chmod(script, 0o755)
  shutil.rmtree(downloads)


def _extract(source, path: str) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with source, open(path, "wb") as out:
    shutil.copyfileobj(source, out)


def _resolve_job_server(job_server_dir: str) -> None:
  """The job server's runtime classpath, resolved by Maven (checking Maven Central's own
  checksums) and then each jar against job_server.lock."""
  lib = os.path.join(job_server_dir, "lib")
  _run(["mvn", "--batch-mode", "--quiet", "--strict-checksums", "-f", settings.JOB_SERVER_POM,
        "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={lib}"],
       "resolving Beam's Flink job server with Maven")
  check_lock(lib)


def read_lock(path: str = settings.JOB_SERVER_LOCK) -> Dict[str, str]:
  """jar file name -> sha256, as job_server.lock lists them."""
  with open(path) as lines:
    return {name: digest for digest, name in (line.split() for line in lines if line.strip())}


def check_lock(lib: str) -> None:
  """Raises InstallError unless `lib` holds exactly the lock's jars, each with its sha256."""
  expected, found = read_lock(), sorted(os.listdir(lib))
  if sorted(expected) != found:
    extra, missing = set(found) - set(expected), set(expected) - set(found)
    raise InstallError(f"the job server's classpath is not {settings.JOB_SERVER_LOCK}'s: "
                       f"{len(extra)} jar(s) not in it ({', '.join(sorted(extra)[:3])}), "
                       f"{len(missing)} missing ({', '.join(sorted(missing)[:3])})")
  for name in found:
    if sha256(os.path.join(lib, name)) != expected[name]:
      raise InstallError(f"{name}: its sha256 is not the one {settings.JOB_SERVER_LOCK} pins")


def sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as data:
    for block in iter(lambda: data.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def _run(command, what: str) -> None:
  result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  if result.returncode:
    last = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    raise InstallError(f"{what} failed (exit {result.returncode}): {last}")
