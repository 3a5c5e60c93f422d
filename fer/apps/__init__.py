"""Applications on top of training and inference: the live window, headless runs, entry-point helpers."""
