"""Evaluation: the one function that scores checkpoints on a split, test-time augmentation, and reports."""
