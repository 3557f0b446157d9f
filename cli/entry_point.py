"""The one error path of every command: an expected failure is one line and exit 1.

Bad input (a malformed line, a request outside the contract, a flag out of range), a
missing file or model, anomalous data: `run` prints `error: <message>` on stderr and
exits 1, and keeps Beam's own log in this process (which repeats the error at length) off
the terminal; Beam's multi-processing workers, separate processes, still print theirs.
`--debug` lets the exception through with its traceback, and Beam's log too. Ctrl-C is
one line too ("interrupted during STAGE; rerun the same command to resume" where a rerun
resumes) and exit 130, whatever error the interrupt surfaced as: a layer that catches
the KeyboardInterrupt (TensorFlow, while it traces a graph) or a Beam worker that the same
Ctrl-C stopped can turn it into an error of its own, so `run` records that SIGINT
arrived and `interrupted` answers for any error. Anything else is a bug and keeps its
traceback.
"""
import _thread
import argparse
import logging
import os
import signal
import sys
import threading
from typing import Callable, List, Optional, Sequence, Tuple, Type

DEBUG_FLAG = "--debug"
EXPECTED_ERRORS: Tuple[Type[BaseException], ...] = (ValueError, OSError, LookupError)


def add_debug_flag(parser: argparse.ArgumentParser, beam: bool = True) -> None:
  """--debug; `beam`: the command runs Beam, whose log --debug also shows."""
  parser.add_argument(DEBUG_FLAG, action="store_true",
                      help="on an error, show the traceback" + (" and Beam's logs" if beam
                                                                 else "")
                      + " instead of one line")


def command_name() -> str:
  """How this command was started, for usage lines: `python -m serving.predict` (argparse
  would say `predict.py`), or the installed script's or the file's name."""
  spec = getattr(sys.modules["__main__"], "__spec__", None)
  return f"python -m {spec.name}" if spec else os.path.basename(sys.argv[0])


INTERRUPTED_EXIT = 130  # 128 + SIGINT, as shells report a process Ctrl-C stopped


_SIGINT_RECEIVED = threading.Event()
_OWN_INTERRUPT = threading.Event()


def _record_sigint(signum, frame) -> None:
  if _in_finalizer(frame):  # a KeyboardInterrupt raised there is printed and ignored:
    threading.Timer(0.01, _thread.interrupt_main).start()  # so again, once it returned
    return
  if not _OWN_INTERRUPT.is_set():
    _SIGINT_RECEIVED.set()
  _OWN_INTERRUPT.clear()
  signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt, as Python's own


def _in_finalizer(frame) -> bool:
  """Whether `frame` runs inside a __del__ (garbage collection can run one anywhere)."""
  while frame is not None:
    if frame.f_code.co_name == "__del__":
      return True
    frame = frame.f_back
  return False


def interrupt_main() -> None:
  """Interrupts the main thread as Ctrl-C does, for a watch that ends stalled work with a
  reason of its own (cli.disk): not recorded as the user's Ctrl-C."""
  _OWN_INTERRUPT.set()
  _thread.interrupt_main()


def record_interrupts() -> None:
  """Records every SIGINT from here on (for `interrupted`), raising KeyboardInterrupt as
  Python's own handler does; a SIGINT the process ignores stays ignored. Each command
  starts with none recorded."""
  _SIGINT_RECEIVED.clear()
  _OWN_INTERRUPT.clear()
  if (threading.current_thread() is threading.main_thread()
      and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
    signal.signal(signal.SIGINT, _record_sigint)


def interrupted(error: BaseException) -> bool:
  """Whether `error` ended the work because of Ctrl-C: a KeyboardInterrupt, or any error
  raised after a SIGINT arrived (record_interrupts)."""
  return isinstance(error, KeyboardInterrupt) or _SIGINT_RECEIVED.is_set()


def raise_if_interrupted() -> None:
  """Raises KeyboardInterrupt if a Ctrl-C arrived: for the boundary between two stages, so
  that a Ctrl-C which a layer below caught and went on from (TensorFlow or Beam can) still
  stops the work there, before the next stage starts."""
  if _SIGINT_RECEIVED.is_set():
    raise KeyboardInterrupt()


class Interrupted(KeyboardInterrupt):
  """Ctrl-C during a named step of a command whose rerun resumes (the local runner)."""

  def __init__(self, step: str):
    super().__init__(f"interrupted during {step}; rerun the same command to resume"
                     if step else "interrupted; rerun the same command to resume")


def run(main: Callable[[List[str]], None], argv: Optional[Sequence[str]] = None,
        expected: Tuple[Type[BaseException], ...] = ()) -> None:
  """Calls main(argv) (default: the command line); `expected` adds the command's own
  error types to EXPECTED_ERRORS. Usage lines name the command as it was started."""
  if argv is None:  # the process's own command line
    sys.argv[0] = command_name()  # argparse's default prog
    argv = sys.argv[1:]
  argv = list(argv)
  record_interrupts()
  if DEBUG_FLAG in argv:
    main(argv)
    return
  logging.getLogger("apache_beam").setLevel(logging.CRITICAL)
  try:
    main(argv)
  except BrokenPipeError:  # the reader left (`| head`): stop quietly, as shell tools do
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
    raise SystemExit(0) from None
  except Exception as error:  # pylint: disable=broad-except
    if interrupted(error):
      _exit_interrupted(KeyboardInterrupt())
    if isinstance(error, EXPECTED_ERRORS + tuple(expected)):
      raise SystemExit(f"error: {error}") from None
    raise
  except KeyboardInterrupt as interrupt:  # Ctrl-C: one line, not a traceback
    _exit_interrupted(interrupt)


def run_then_exit(main: Callable[[List[str]], None],
                  expected: Tuple[Type[BaseException], ...] = ()) -> None:
  """`run` on the command line, then ends the process with its status at once, without
  the interpreter's teardown: for a command that runs TFX's Beam stages in its own
  process, whose TensorFlow functions Beam's caches keep alive until teardown deletes
  them after TensorFlow's own modules, each printing an ignored TypeError. A bug's
  traceback still goes the usual way."""
  try:
    run(main, expected=expected)
    status = 0
  except SystemExit as ended:
    status = ended.code
    if isinstance(status, str):
      print(status, file=sys.stderr)
      status = 1
  logging.shutdown()
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(status or 0)  # pylint: disable=protected-access


def _exit_interrupted(interrupt: KeyboardInterrupt) -> None:
  print(str(interrupt) or "interrupted", file=sys.stderr)
  raise SystemExit(INTERRUPTED_EXIT) from None
