"""Facial-expression recognition on FER-2013: data, models, training, reports and live inference.

`fer.Recognizer` (the Python API, fer.api.recognizer) and `fer.analyze_corpus` (fer.corpus.run) are imported
on first use, so `import fer` stays light.
"""

from typing import TYPE_CHECKING

from fer.constants import CLASSES, IMAGE_SIZE, NUM_CLASSES

if TYPE_CHECKING:  # what __getattr__ returns, for type checkers
    from fer.api.recognizer import Recognizer
    from fer.corpus.run import analyze_corpus

__all__ = ["CLASSES", "IMAGE_SIZE", "NUM_CLASSES", "Recognizer", "analyze_corpus"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    if name == "Recognizer":
        from fer.api.recognizer import Recognizer

        return Recognizer
    if name == "analyze_corpus":
        from fer.corpus.run import analyze_corpus

        return analyze_corpus
    raise AttributeError(f"module 'fer' has no attribute {name!r}")
