"""Face detectors behind one interface: `create_detector(name, **kwargs).detect(frame)`.

Importing this package registers every detector; the CNN one loads its weights lazily.
"""

from fer.inference.detectors import centerface, haar  # noqa: F401  (registers)
from fer.inference.detectors.base import (
    FaceDetector,
    check_detector_settings,
    create_detector,
    list_detectors,
    register_detector,
)

__all__ = ["FaceDetector", "check_detector_settings", "create_detector", "list_detectors", "register_detector"]
