"""``python -m softq_ref.conformance MODULE:FUNCTION --kind KIND``: the check without the CLI."""

import sys

from softq_ref.conformance import main

sys.exit(main())
