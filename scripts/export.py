"""Export a checkpoint for inference: an ONNX model (fp32 or int8) or a small weights-only bundle.

`python scripts/export.py ARGS` is `ferkit export ARGS` (fer/cli/export.py; `--help` lists the options),
except that FER-2013 is decoded into this checkout's data/cache rather than under the working folder.
"""

from fer.cli.checkout import run_in_checkout

if __name__ == "__main__":
    run_in_checkout("export", __file__)
