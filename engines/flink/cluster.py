"""The local Flink cluster's processes: start, stop and status of a JobManager, the
TaskManagers and Beam's job server, each recorded in a pid file so that `stop` ends
exactly what `start` started."""
import dataclasses
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Dict, List, Optional, Tuple

import yaml

from engines.flink import settings

STARTUP_TIMEOUT_S = 120
_JOB_SERVER_PID = "job-server.pid"
_JOB_SERVER_LOG = "job-server.log"
# The pid files Flink's scripts write (FLINK_PID_DIR, FLINK_IDENT_STRING).
_JOB_MANAGER_PID = "flink-*-standalonesession.pid"
_TASK_MANAGER_PID = "flink-*-taskexecutor.pid"
_FLINK_MARK = "org.apache.flink"  # in the command line of every JVM Flink's scripts start
# A log line that says why a JVM ended: an exception's or an error's.
_CAUSE = re.compile(r"\b[\w.$]*(Exception|Error)\b:? .*")


class EngineError(RuntimeError):
  """The cluster is down, half up, or cannot start: one line saying what to do."""


@dataclasses.dataclass(frozen=True)
class Process:
  name: str
  pid: Optional[int]
  port: Optional[int]
  answers: bool
  logs: Tuple[str, ...]  # its log files in the log folder, as glob patterns
  # Its pid file in the run folder, as a glob pattern: a pid there that is alive but not
  # yet the JVM (Flink's script before it execs java) is starting, not ended.
  pid_file: str

  def line(self) -> str:
    pid = f"pid {self.pid}" if self.pid else "not running"
    port = f"port {self.port}" if self.port else "no port"
    return f"{self.name:<14} {pid:<12} {port:<10} {'answers' if self.answers else 'DOWN'}"


def _env(layout: settings.Layout) -> Dict[str, str]:
  return dict(os.environ, FLINK_CONF_DIR=layout.conf_dir, FLINK_LOG_DIR=layout.log_dir,
              FLINK_PID_DIR=layout.run_dir, FLINK_IDENT_STRING="bst")


def _flink_script(layout: settings.Layout, script: str, *args: str) -> None:
  result = subprocess.run([os.path.join(layout.flink_home, "bin", script), *args],
                          env=_env(layout), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
  if result.returncode:
    raise EngineError(f"{script} {' '.join(args)} failed: {result.stdout.strip()[-300:]}")


def write_config(layout: settings.Layout, cluster: settings.Cluster) -> Dict:
  """The cluster's conf folder: Flink's own files, with config.yaml from
  settings.CLUSTER_CONFIG and `cluster`'s ports, slots and parallelism put in it."""
  shutil.rmtree(layout.conf_dir, ignore_errors=True)
  shutil.copytree(os.path.join(layout.flink_home, "conf"), layout.conf_dir)
  with open(settings.CLUSTER_CONFIG) as source:
    config = yaml.safe_load(source)
  config["rest"]["port"] = cluster.rest_port
  config["jobmanager"]["rpc"]["port"] = cluster.rpc_port
  config["taskmanager"]["numberOfTaskSlots"] = cluster.slots
  config["parallelism"] = {"default": cluster.parallelism}
  with open(os.path.join(layout.conf_dir, "config.yaml"), "w") as out:
    yaml.safe_dump(config, out, default_flow_style=False)
  return config


def check_stopped(layout: settings.Layout, cluster: settings.Cluster) -> None:
  """Raises EngineError if a process that `start` started from `layout` still runs."""
  if any(process.pid for process in processes(layout, cluster)):
    raise EngineError(f"a cluster from {layout.root} is running already: bin/flink status, "
                      "or bin/flink stop first")


def start(layout: settings.Layout, cluster: settings.Cluster, log=print) -> None:
  """Starts the JobManager, the TaskManagers and the job server, and waits until each
  answers; on failure stops what it started and raises EngineError naming the log."""
  check_stopped(layout, cluster)
  for name, port in cluster.fixed_ports.items():
    if _port_open(cluster.host, port):
      raise EngineError(f"port {port} ({name}) is taken by another process; stop it first")
  for folder in (layout.run_dir, layout.log_dir):
    os.makedirs(folder, exist_ok=True)
  _set_aside(os.path.join(layout.log_dir, _JOB_SERVER_LOG))
  config = write_config(layout, cluster)
  try:
    _flink_script(layout, "jobmanager.sh", "start")
    for _ in range(cluster.task_managers):
      _flink_script(layout, "taskmanager.sh", "start")
    _start_job_server(layout, cluster, config["env"]["java"]["opts"]["all"])
    wait_until_up(layout, cluster)
  except BaseException:
    stop(layout, cluster)
    raise
  log(f"Flink cluster up: web UI {cluster.rest_url}, job server {cluster.job_endpoint} "
      f"({cluster.task_managers} TaskManagers); logs in {layout.log_dir}")


def _start_job_server(layout: settings.Layout, cluster: settings.Cluster,
                      java_options: str) -> None:
  command = ["java", *java_options.split(), "-cp", os.path.join(layout.job_server_lib, "*"),
             settings.JOB_SERVER_MAIN, f"--flink-master={cluster.host}:{cluster.rest_port}",
             f"--job-host={cluster.host}", f"--job-port={cluster.job_port}",
             f"--artifact-port={cluster.artifact_port}",
             f"--expansion-port={cluster.expansion_port}"]
  with open(os.path.join(layout.log_dir, _JOB_SERVER_LOG), "ab") as out:
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
  with open(os.path.join(layout.run_dir, _JOB_SERVER_PID), "w") as pid_file:
    pid_file.write(f"{process.pid}\n")


def wait_until_up(layout: settings.Layout, cluster: settings.Cluster) -> None:
  """Returns once every process answers; raises EngineError naming each that ended, and
  why, or each still down after STARTUP_TIMEOUT_S."""
  deadline = time.monotonic() + STARTUP_TIMEOUT_S
  while time.monotonic() < deadline:
    state = processes(layout, cluster)
    if all(process.answers for process in state):
      return
    dead = [process for process in state if not process.pid and not any(
        _alive(pid) for pid in _pids_of(layout, process.pid_file))]
    if dead:
      raise EngineError("; ".join(f"{process.name} ended while starting"
                                  f"{_cause(layout, process)}" for process in dead)
                        + f": see {layout.log_dir}")
    time.sleep(1)
  down = [process.name for process in processes(layout, cluster) if not process.answers]
  raise EngineError(f"{', '.join(down)} did not answer within {STARTUP_TIMEOUT_S} s: see "
                    f"{layout.log_dir}")


def _set_aside(log_path: str) -> None:
  """Keeps the previous start's log as LOG.1, as Flink's scripts do, so that a cause read
  from the log is this start's."""
  if os.path.exists(log_path):
    os.replace(log_path, log_path + ".1")


def _cause(layout: settings.Layout, process: "Process") -> str:
  """Why `process` ended, as ' (WHY)': its exit status where `start` was its parent, and
  its logs' last exception or error line, else their last line, else that they are empty
  and the free disk (a JVM killed, or out of memory or disk, names no exception)."""
  lines = [line.strip() for line in _log_lines(layout, process) if line.strip()]
  errors = [match.group(0) for match in map(_CAUSE.search, lines) if match]
  said = ((errors or lines)[-1][:200] if lines else
          f"its log is empty, {shutil.disk_usage(layout.log_dir).free / 2**30:.1f} GB free "
          "on its disk")
  status = _exit_status(_pids_of(layout, process.pid_file))
  return f" ({status}: {said})" if status else f" ({said})"


def _log_lines(layout: settings.Layout, process: "Process") -> List[str]:
  paths = [path for pattern in process.logs
           for path in glob.glob(os.path.join(layout.log_dir, pattern))]
  lines = []
  for path in sorted(paths, key=os.path.getmtime):
    with open(path, errors="replace") as log:
      lines += log.readlines()
  return lines


def _exit_status(pids: List[int]) -> str:
  """'exit N' or 'killed by SIGNAL' for the first of `pids` that ended as a child of this
  process (the job server), else '' (Flink's JVMs are its scripts' children)."""
  for pid in pids:
    try:
      ended, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
      continue
    if ended and os.WIFSIGNALED(status):
      return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    if ended:
      return f"exit {os.WEXITSTATUS(status)}"
  return ""


def stop(layout: settings.Layout, cluster: settings.Cluster, log=print) -> List[str]:
  """Ends the processes whose pid files `start` wrote, and nothing else; returns their
  names."""
  stopped = [process.name for process in processes(layout, cluster) if process.pid]
  _stop_pid_file(os.path.join(layout.run_dir, _JOB_SERVER_PID), settings.JOB_SERVER_MAIN)
  for pid_file in glob.glob(os.path.join(layout.run_dir, "flink-*.pid")):
    _stop_pid_file(pid_file, _FLINK_MARK)
  log("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
  return stopped


def _stop_pid_file(path: str, command_mark: str) -> None:
  """SIGTERM, then SIGKILL after 15 s, to each live pid in `path` whose command line holds
  `command_mark` (a reused pid belongs to someone else); then removes the file."""
  pids = _marked(_read_pids(path), command_mark)
  for pid in pids:
    _signal(pid, signal.SIGTERM)
  deadline = time.monotonic() + 15
  while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
    time.sleep(0.2)
  for pid in pids:
    if _alive(pid):
      _signal(pid, signal.SIGKILL)
  if os.path.exists(path):
    os.remove(path)


def processes(layout: settings.Layout, cluster: settings.Cluster) -> List[Process]:
  """Each process of the cluster, whether it runs (by its pid file) and answers."""
  overview = _rest(cluster, "/overview")
  registered = overview["taskmanagers"] if overview else 0
  job_manager = _live_pids(layout, _JOB_MANAGER_PID, _FLINK_MARK)
  task_managers = _live_pids(layout, _TASK_MANAGER_PID, _FLINK_MARK)
  job_server = _live_pids(layout, _JOB_SERVER_PID, settings.JOB_SERVER_MAIN)
  state = [Process("JobManager", _first(job_manager), cluster.rest_port,
                   bool(job_manager) and overview is not None,
                   _flink_logs("standalonesession"), _JOB_MANAGER_PID)]
  for index in range(max(cluster.task_managers, len(task_managers))):
    pid = task_managers[index] if index < len(task_managers) else None
    state.append(Process(f"TaskManager {index + 1}", pid, None,
                         bool(pid) and registered > index, _flink_logs(f"taskexecutor-{index}"),
                         _TASK_MANAGER_PID))
  state.append(Process("job server", _first(job_server), cluster.job_port,
                       bool(job_server) and _port_open(cluster.host, cluster.job_port),
                       (_JOB_SERVER_LOG,), _JOB_SERVER_PID))
  return state


def _flink_logs(daemon: str) -> Tuple[str, ...]:
  """A Flink daemon's log and its JVM's stdout (where the JVM says it ran out of memory)."""
  return (f"flink-*-{daemon}-*.log", f"flink-*-{daemon}-*.out")


def check_up(cluster: settings.Cluster) -> None:
  """Raises EngineError, naming `bin/flink start`, unless Flink's REST API answers with a
  TaskManager registered and a slot not held by a running job, and the job server takes
  connections."""
  if not answers(cluster):
    raise EngineError(f"--engine flink: no Flink cluster answers at {cluster.rest_url} with its "
                      f"job server at {cluster.job_endpoint}; start one with bin/flink start")
  overview = _rest(cluster, "/overview") or {}
  if not overview.get("taskmanagers"):
    raise EngineError(f"--engine flink: the cluster at {cluster.rest_url} has no TaskManager; "
                      "bin/flink status says which process is down (bin/flink stop, then "
                      "start)")
  running = running_jobs(cluster)
  if running and not overview.get("slots-available"):
    raise EngineError(f"--engine flink: every slot of {cluster.rest_url} is held by running "
                      f"job {running[0]['name']} ({running[0]['jid']}), which a run would "
                      "wait for: let it end, or cancel it (bin/flink cancel-all)")


def check_workers(environment: Dict[str, str]) -> None:
  """Raises EngineError unless the `python` that Beam's worker pool starts under
  `environment` is this interpreter: a worker that cannot start is waited for without end."""
  worker = subprocess.run(["python", "-c", "import sys; print(sys.prefix)"],
                          env=dict(os.environ, **environment), capture_output=True, text=True,
                          timeout=60, check=False)
  if worker.returncode or worker.stdout.strip() != sys.prefix:
    raise EngineError(
        "--engine flink: the SDK workers would start as the `python` first on PATH, "
        f"{shutil.which('python', path=environment.get('PATH')) or 'none'}, which is not "
        f"this interpreter ({sys.executable}): run from the project's venv (bin/run)")


def answers(cluster: settings.Cluster) -> bool:
  """Whether Flink's REST API answers and the job server takes connections."""
  return (_rest(cluster, "/overview") is not None
          and _port_open(cluster.host, cluster.job_port))


def running_jobs(cluster: settings.Cluster) -> List[Dict]:
  """Flink's jobs not yet finished, failed or cancelled."""
  return [job for job in all_jobs(cluster)
          if job["state"] not in ("FINISHED", "FAILED", "CANCELED")]


def cancel_running_jobs(cluster: settings.Cluster, log=print) -> List[str]:
  """Cancels every running job (one whose submitter was killed keeps its slots); returns
  their names."""
  names = []
  for job in running_jobs(cluster):
    request = urllib.request.Request(f"{cluster.rest_url}/jobs/{job['jid']}?mode=cancel",
                                     method="PATCH")
    with urllib.request.urlopen(request, timeout=10):
      names.append(job["name"])
  log("cancelled: " + (", ".join(names) if names else "no job was running"))
  return names


def all_jobs(cluster: settings.Cluster) -> List[Dict]:
  """Every job of the cluster as its REST API lists them: name, state, start-time,
  duration, ..."""
  overview = _rest(cluster, "/jobs/overview")
  return overview["jobs"] if overview else []


def _rest(cluster: settings.Cluster, path: str) -> Optional[Dict]:
  try:
    with urllib.request.urlopen(cluster.rest_url + path, timeout=5) as response:
      return json.load(response)
  except (OSError, ValueError, urllib.error.URLError):
    return None


def _port_open(host: str, port: int) -> bool:
  try:
    with socket.create_connection((host, port), timeout=2):
      return True
  except OSError:
    return False


def _read_pids(path: str) -> List[int]:
  try:
    with open(path) as lines:
      return [int(line) for line in lines if line.strip().isdigit()]
  except FileNotFoundError:
    return []


def _pids_of(layout: settings.Layout, pattern: str) -> List[int]:
  """The pids in the run folder's pid files that match `pattern`, alive or not."""
  return [pid for path in sorted(glob.glob(os.path.join(layout.run_dir, pattern)))
          for pid in _read_pids(path)]


def _live_pids(layout: settings.Layout, pattern: str, command_mark: str) -> List[int]:
  return _marked(_pids_of(layout, pattern), command_mark)


def _marked(pids: List[int], command_mark: str) -> List[int]:
  """Those of `pids` alive with `command_mark` in their command line (a reused pid belongs
  to someone else)."""
  return [pid for pid in pids if command_mark in _command_line(pid)]


def _first(pids: List[int]) -> Optional[int]:
  return pids[0] if pids else None


def _command_line(pid: int) -> str:
  try:
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
      return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
  except OSError:
    return ""


def _alive(pid: int) -> bool:
  return bool(_command_line(pid))


def _signal(pid: int, signum: int) -> None:
  try:
    os.kill(pid, signum)
  except ProcessLookupError:
    pass
