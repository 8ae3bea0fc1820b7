"""Keep datatrove's per-task log files complete but the terminal readable.

datatrove sends every task's INFO log (pipeline banner, per-task stats) to stderr; on a build with thousands
of tasks that buries the one-line warnings about bad inputs and the funnel. The full log still goes to
`<logging_dir>/logs/task_NNNNN.log`; stderr gets warnings and errors only, one line each.

Both sinks redact URLs (`proofpile.redact`): a message gets it from a loguru patcher, and the task log file also
through its writer, because a traceback there (formatted by loguru, not by us) may quote a URL with a token.
Variable values in tracebacks (loguru's `diagnose`) are off for the same reason.
"""

from __future__ import annotations

import re
import sys

_TERMINAL_FORMAT = "<level>{level}</level>: {message}"


def _terminal_format(record) -> str:
    """One line per message, also for a failed task: its traceback goes to the task's log file only."""
    if record["exception"] is not None:
        return _TERMINAL_FORMAT + " (traceback in the task log)\n"
    return _TERMINAL_FORMAT + "\n"


#: control characters that would drive a terminal (escape sequences, carriage return over an earlier line);
#: newline and tab stay, datatrove's own multi-line messages (the stats table) need them
_TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _redact_record(record) -> None:
    """Every message: URLs redacted, and a name from an input that slipped through unescaped cannot reach the
    terminal as a control sequence (call sites use `documents.loggable`, which also escapes newlines)."""
    from proofpile.redact import redact_text

    message = _TERMINAL_CONTROLS.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), record["message"])
    record["message"] = redact_text(message)


class _RedactingWriter:
    """A log file whose every write is redacted; loguru sinks only need `write` and `flush`."""

    def __init__(self, f):
        self._f = f

    def write(self, text: str) -> None:
        from proofpile.redact import redact_text

        self._f.write(redact_text(text))

    def flush(self) -> None:
        self._f.flush()


_FILE_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}"
_installed = False


def quiet_datatrove(level: str = "WARNING") -> None:
    """Route datatrove's terminal logging through `level`; idempotent, and safe in worker processes."""
    global _installed
    if _installed:
        return
    import datatrove.executor.base as base
    import datatrove.utils.logging as dt_logging
    from loguru import logger

    def add_task_logger(logging_dir, rank, local_rank=0, node_rank=-1):
        # the same two sinks datatrove's add_task_logger installs, with the terminal one at `level`
        logger.remove()
        logger.configure(patcher=_redact_record)
        logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
        logger.add(sys.stderr, level=level, format=_terminal_format, colorize=None, diagnose=False)
        logger.add(_RedactingWriter(logfile), level="DEBUG", format=_FILE_FORMAT, colorize=False, diagnose=False)
        logger.info(f"Launching pipeline for {rank=}")
        return logfile

    def setup_default_logger():
        logger.remove()
        logger.configure(patcher=_redact_record)
        logger.add(sys.stderr, level=level, format=_terminal_format, colorize=None, diagnose=False)

    base.add_task_logger = add_task_logger
    dt_logging.setup_default_logger = setup_default_logger
    setup_default_logger()
    _installed = True
