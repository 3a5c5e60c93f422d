"""Training reports: curves, confusion matrices and per-class tables, as files and TensorBoard figures."""

from fer.reports.classification import classification_table
from fer.reports.writer import write_report

__all__ = ["classification_table", "write_report"]
