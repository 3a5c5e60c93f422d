"""A video -> per-frame, per-face expression probabilities (CSV) and a timeline plot (PNG).

`python scripts/analyze.py ARGS` is `ferkit analyze ARGS` (fer/cli/analyze.py, whose docstring has examples), except
that runs land in this checkout's outputs/ rather than under the working folder.
"""

from fer.cli.checkout import run_in_checkout

if __name__ == "__main__":
    run_in_checkout("analyze", __file__)
