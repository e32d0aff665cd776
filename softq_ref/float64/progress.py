"""Progress of a long solve: a callback per iteration, and lines on stderr for a person watching.

Every float64 solver takes ``callback`` and ``verbose``. ``callback(iteration,
residual, elapsed)`` is called after each iteration (a sweep of soft
Q-iteration, a Newton step, a refinement step) with the residual that the
solver just measured and the seconds since it started. ``verbose`` decides the
report on stderr: ``None`` (the default) reports once a solve has run for
:data:`AFTER_SECONDS` and only when stderr is a terminal; ``True`` reports
every iteration from the start, wherever stderr goes; ``False`` never reports.
The report is a ``tqdm`` bar when tqdm is installed (the ``progress`` extra),
else one plain line per iteration, at most one a second.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["Callback", "Progress", "AFTER_SECONDS"]

#: A callback: ``callback(iteration, residual, elapsed_seconds)``.
Callback = Callable[[int, float, float], Any]

#: With ``verbose=None`` a solve starts reporting on stderr once it has run this long.
AFTER_SECONDS = 2.0


def stderr_is_terminal() -> bool:
    """Whether ``sys.stderr`` is a terminal (a person may be watching)."""
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progress:
    """The progress of one solve: calls the callback, and reports on stderr if asked to.

    ``Progress(what, callback, verbose)``; :meth:`step` after each iteration,
    :meth:`close` at the end (it ends the bar or prints the last line).
    """

    def __init__(self, what: str, callback: Callback | None, verbose: bool | None) -> None:
        if callback is not None and not callable(callback):
            from softq_ref.errors import InvalidArgumentError

            raise InvalidArgumentError(
                f"callback is {callback!r}; expected a function f(iteration, residual, elapsed)"
            )
        if verbose is not None and not isinstance(verbose, bool):
            from softq_ref.errors import InvalidArgumentError

            raise InvalidArgumentError(f"verbose is {verbose!r}; expected True, False or None")
        self.what = what
        self.callback = callback
        self.verbose = verbose
        self.start = time.perf_counter()
        self.bar: Any = None
        self.reporting = False
        self.last_line = -1.0
        self.last: tuple[int, float, float] | None = None

    def _wants_report(self, elapsed: float) -> bool:
        if self.verbose is None:
            return elapsed >= AFTER_SECONDS and stderr_is_terminal()
        return self.verbose

    def step(self, iteration: int, residual: float) -> None:
        """Record iteration ``iteration`` with its ``residual``."""
        elapsed = time.perf_counter() - self.start
        self.last = (iteration, residual, elapsed)
        if self.callback is not None:
            self.callback(iteration, residual, elapsed)
        if not self.reporting:
            if not self._wants_report(elapsed):
                return
            self.reporting = True
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(desc=self.what, unit="it", file=sys.stderr, initial=iteration)
        if self.bar is not None:
            self.bar.update(iteration - self.bar.n)
            self.bar.set_postfix(residual=f"{residual:.3g}", refresh=False)
        elif self.verbose or elapsed - self.last_line >= 1.0:
            self._line(iteration, residual, elapsed)

    def _line(self, iteration: int, residual: float, elapsed: float) -> None:
        self.last_line = elapsed
        print(
            f"{self.what}: iteration {iteration}, residual {residual:.3g}, {elapsed:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        """End the report (the final state is shown if any was)."""
        if self.bar is not None:
            self.bar.close()
        elif self.reporting and self.last is not None and self.last[2] != self.last_line:
            self._line(*self.last)
