"""Evaluate one or more checkpoints on a FER-2013 split and write the report into the run directory.

`python scripts/eval.py ARGS` is `ferkit eval ARGS` (fer/cli/eval.py, whose docstring has examples), except
that runs land in this checkout's outputs/ rather than under the working folder.
"""

from fer.cli.checkout import run_in_checkout

if __name__ == "__main__":
    run_in_checkout("eval", __file__)
