"""``python -m asyncgen.report OUTDIR [OUTDIR ...]``."""

from __future__ import annotations

import sys

from asyncgen.report._command import main

if __name__ == "__main__":
    sys.exit(main())
