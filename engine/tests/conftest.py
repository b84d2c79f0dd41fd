"""Shared pytest fixtures for the engine suite (no Odoo, no database)."""

import os
import sys

# Test helpers living beside the tests (pdfgen: PDF builders and visual probes) are imported
# as top-level modules, whatever pytest's import mode.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
