"""Train a model on FER-2013.

`python scripts/train.py ARGS` is `ferkit train ARGS` (fer/cli/train.py, whose docstring has examples), except
that runs land in this checkout's outputs/ rather than under the working folder.
"""

from fer.cli.checkout import run_in_checkout

if __name__ == "__main__":
    run_in_checkout("train", __file__)
