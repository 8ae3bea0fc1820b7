"""Keep datatrove's per-task log files complete but the terminal readable.

datatrove sends every task's INFO log (pipeline banner, per-task stats) to stderr; on a build with thousands
of tasks that buries the one-line warnings about bad inputs and the funnel. The full log still goes to
`<logging_dir>/logs/task_NNNNN.log`; stderr gets warnings and errors only, one line each.
"""

from __future__ import annotations

import sys

_TERMINAL_FORMAT = "<level>{level}</level>: {message}"


def _terminal_format(record) -> str:
    """One line per message, also for a failed task: its traceback goes to the task's log file only."""
    if record["exception"] is not None:
        return _TERMINAL_FORMAT + " (traceback in the task log)\n"
    return _TERMINAL_FORMAT + "\n"
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
        logfile = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
        logger.add(sys.stderr, level=level, format=_terminal_format, colorize=None)
        logger.add(logfile, level="DEBUG", format=_FILE_FORMAT, colorize=False)
        logger.info(f"Launching pipeline for {rank=}")
        return logfile

    def setup_default_logger():
        logger.remove()
        logger.add(sys.stderr, level=level, format=_terminal_format, colorize=None)

    base.add_task_logger = add_task_logger
    dt_logging.setup_default_logger = setup_default_logger
    setup_default_logger()
    _installed = True
