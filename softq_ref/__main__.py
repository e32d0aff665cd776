"""``python -m softq_ref``: the ``softq-ref`` command line (see :mod:`softq_ref.cli`)."""

import sys

from softq_ref.cli import main

if __name__ == "__main__":
    sys.exit(main())
