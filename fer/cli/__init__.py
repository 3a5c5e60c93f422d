"""Command-line glue shared by the entry points: run commands, the user-error policy, `scripts/analyze.py`."""
