"""Facial-expression recognition on FER-2013: data, models, training, reports and live inference."""

from fer.constants import CLASSES, IMAGE_SIZE, NUM_CLASSES

__all__ = ["CLASSES", "IMAGE_SIZE", "NUM_CLASSES"]
__version__ = "0.1.0"
