"""What a person running the pipeline sees: stage lines, heartbeats, the summary.

TFX, Beam, TensorFlow and Keras write to the terminal from every layer: Python logging,
warnings, print, C++ logs on file descriptor 2, and Beam's worker processes, which
inherit the descriptors. `Console.quiet` points descriptors 1 and 2 at a log file, so
all of that lands there, and keeps a stream to the terminal for the lines meant for
people (`Console.say`, the stages and their heartbeats). `--verbose` leaves the
descriptors alone: the same lines and the whole log on the terminal, no log file.
"""
import contextlib
import logging
import os
import sys
import threading
import time
from typing import IO, Iterable, Optional

from absl import logging as absl_logging

from cli import entry_point

HEARTBEAT_SECONDS = 30  # a stage running longer says so this often


def _clock(seconds: float) -> str:
  seconds = int(seconds)
  return f"{seconds // 60:02d}:{seconds % 60:02d}"


class Console:
  """The terminal's lines for a run: `stage` opens a stage (closing the last), `done`
  closes it with its time; while one is open, a heartbeat line every HEARTBEAT_SECONDS
  gives the elapsed time and the latest progress message (`note`: the Trainer's epochs)."""

  def __init__(self, terminal: Optional[IO[str]] = None,
               heartbeat_seconds: float = HEARTBEAT_SECONDS):
    self._terminal = terminal or sys.stdout
    self._start = time.monotonic()
    self._heartbeat_seconds = heartbeat_seconds
    self._lock = threading.Lock()
    self._stage_start: Optional[float] = None
    self.last_step = ""  # the latest stage or event's name: where an interruption struck
    self._note = ""
    self._wake = threading.Event()
    self._heartbeat: Optional[threading.Thread] = None

  def say(self, text: str = "") -> None:
    with self._lock:
      self._terminal.write(text + "\n")
      self._terminal.flush()

  def event(self, name: str, detail: str = "") -> None:
    """A line with the run's clock, for a step with nothing to wait for."""
    self.last_step = name
    self.say(f"[{_clock(time.monotonic() - self._start)}] {name}"
             f"{': ' + detail if detail else ''}")

  def stage(self, name: str, detail: str = "") -> "Console":
    self.event(name, detail)
    with self._lock:
      self._stage_start, self._note = time.monotonic(), ""
    self._start_heartbeat()
    return self

  def done(self, detail: str = "") -> None:
    with self._lock:
      started, self._stage_start = self._stage_start, None
    if started is not None:
      self.say(f"    done in {_clock(time.monotonic() - started)}"
               f"{': ' + detail if detail else ''}")

  def note(self, text: str) -> None:
    """The stage's latest progress (shown by the next heartbeat)."""
    with self._lock:
      self._note = text

  def close(self) -> None:
    self._wake.set()
    if self._heartbeat:
      self._heartbeat.join()

  def _start_heartbeat(self) -> None:
    if self._heartbeat is None:
      self._heartbeat = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
      self._heartbeat.start()

  def _beat(self) -> None:
    """Every HEARTBEAT_SECONDS of the open stage's own time, a line."""
    beats, beating = 0, None
    while not self._wake.wait(1.0):
      with self._lock:
        started, note = self._stage_start, self._note
      if started != beating:
        beats, beating = 0, started
      if started is None:
        continue
      elapsed = time.monotonic() - started
      if elapsed >= (beats + 1) * self._heartbeat_seconds:
        beats = int(elapsed // self._heartbeat_seconds)
        self.say(f"    ... {_clock(elapsed)}{': ' + note if note else ''}")

  @contextlib.contextmanager
  def quiet(self, log_path: Optional[str], verbose_flag: Optional[str] = "--verbose"):
    """Everything but this console's lines goes to `log_path` (None: to the terminal, as
    with --verbose); Python logging at INFO either way. On an error the log's path is
    said, since the details are there. `verbose_flag`: the program's flag that shows the
    log on the terminal instead, named on the first line (None: it has none)."""
    _log_at_info()
    if log_path is None:
      yield
      return
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
      stream.flush()
    saved = [os.dup(fd) for fd in (1, 2)]
    terminal = self._set_terminal(os.fdopen(os.dup(saved[0]), "w", buffering=1))
    with open(log_path, "ab") as log:
      for fd in (1, 2):
        os.dup2(log.fileno(), fd)
    shown_by = f"; {verbose_flag} shows it here" if verbose_flag else ""
    self.say(f"log: {log_path} (everything but these lines{shown_by})")
    try:
      yield
    except Exception:  # not on Ctrl-C: its one line says what to do
      self.say(f"the full log: {log_path}")
      raise
    finally:
      for stream in (sys.stdout, sys.stderr):
        stream.flush()
      for fd, copy in zip((1, 2), saved):
        os.dup2(copy, fd)
        os.close(copy)
      self._set_terminal(terminal).close()  # the terminal's own stream again

  def _set_terminal(self, terminal: IO[str]) -> IO[str]:
    """Points this console's lines at `terminal` (the heartbeat may be writing);
    returns the stream they went to."""
    with self._lock:
      previous, self._terminal = self._terminal, terminal
    return previous


def _log_at_info() -> None:
  """Python logging (TFX logs through absl) at INFO, to stderr: the log file, or the
  terminal with --verbose. absl's own setting, since TensorFlow saves and restores it
  around a SavedModel export."""
  absl_logging.set_verbosity(absl_logging.INFO)
  logging.getLogger().setLevel(logging.INFO)
  if not logging.getLogger().handlers:
    logging.basicConfig(level=logging.INFO)


class FollowLog(logging.Handler):
  """Feeds log records into the console: TFX's "Component X is running/finished." lines
  open and close stages (their roles from `roles`), and the messages of the given
  loggers become the open stage's heartbeat note. A Ctrl-C that the stage before
  swallowed stops the run as the next one is about to start (the record's caller, the
  DAG runner, gets the KeyboardInterrupt)."""

  COMPONENT_RUNNING = "Component %s is running."
  COMPONENT_FINISHED = "Component %s is finished."

  def __init__(self, console: Console, roles: dict, notes_from: Iterable[str] = ()):
    super().__init__(level=logging.INFO)
    self._console = console
    self._roles = roles
    self._notes_from = frozenset(notes_from)

  def emit(self, record: logging.LogRecord) -> None:
    if record.msg == self.COMPONENT_RUNNING:
      entry_point.raise_if_interrupted()
      component, = record.args
      self._console.stage(component, self._roles.get(component, ""))
    elif record.msg == self.COMPONENT_FINISHED:
      self._console.done()
    elif record.name in self._notes_from:
      self._console.note(record.getMessage())

  @contextlib.contextmanager
  def attached(self):
    """On the root logger (absl's TFX records propagate there) while the block runs."""
    root = logging.getLogger()
    root.addHandler(self)
    try:
      yield
    finally:
      root.removeHandler(self)
