"""The ``softq-ref`` command line: ``solve``, ``check``, ``golden`` and ``demo``.

:func:`main` (in :mod:`softq_ref.cli.commands`) parses the arguments and runs
one subcommand; :mod:`softq_ref.cli.demo` is the worked example that
``softq-ref demo`` prints. ``check`` and ``golden`` run
:mod:`softq_ref.conformance` and :mod:`softq_ref.io.golden`.
"""

from __future__ import annotations

from softq_ref.cli.commands import COMMANDS, Command, main

__all__ = ["main", "Command", "COMMANDS"]
