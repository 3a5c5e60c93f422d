"""Optuna hyperparameter search with pruning of bad trials; any number of workers share one study.

`python scripts/search.py ARGS` is `ferkit search ARGS` (fer/cli/search.py, whose docstring has examples), except
that runs land in this checkout's outputs/ rather than under the working folder.
"""

from fer.cli.checkout import run_in_checkout

if __name__ == "__main__":
    run_in_checkout("search", __file__)
