"""Live facial-expression recognition: camera, video, image or folder; window or headless.

`python scripts/webcam.py ARGS` is `ferkit webcam ARGS` (fer/cli/webcam.py, whose docstring has examples), except
that runs land in this checkout's outputs/ rather than under the working folder.
"""

from fer.cli.checkout import run_in_checkout

if __name__ == "__main__":
    run_in_checkout("webcam", __file__)
