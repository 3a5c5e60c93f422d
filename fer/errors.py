"""The project's one user-error type and its kinds.

A `FERError` is a mistake the user can fix from its message alone (a data layout, a CSV row, a
checkpoint, a source, a detector, a config value, offline pretrained weights). Every entry point
catches `FERError` only, prints its message on one line and exits 2; anything else is a bug and
keeps its traceback. Each kind also derives from the built-in type it refines, so
`except ValueError` in user code keeps working.
"""


class FERError(Exception):
    """A mistake the user can fix from the message alone."""


class ConfigError(FERError, ValueError):
    """A configuration value is missing, malformed or out of range."""


class DataError(FERError, ValueError):
    """The data is missing, laid out unexpectedly or unreadable."""


class CSVFormatError(DataError):
    """A row of fer2013.csv is malformed; the message names the line."""


class CheckpointError(FERError, ValueError):
    """A checkpoint or bundle cannot be used; the message says why and what to do."""


class SourceError(FERError, OSError):
    """A camera, video, image or folder cannot be opened or read."""


class OutputError(FERError, OSError):
    """An output cannot be written, or writing it would destroy an input or another output."""


class DetectorError(FERError, RuntimeError):
    """A face detector cannot be built (unknown name, missing optional package, unreadable weights)."""


class DisplayError(FERError, RuntimeError):
    """No display to open a window on."""


class MissingExtraError(FERError, ImportError):
    """A feature needs a part of the install that is optional, e.g. PyTorch from `ferkit[train]`."""


def require_extra(module: str, feature: str, what: str = "PyTorch", extra: str = "train"):
    """Import and return `module` for `feature`, or raise MissingExtraError naming the extra to install.

    Only a missing package is this error; an installed one that fails to import keeps its traceback.
    """
    import importlib
    import importlib.util

    if importlib.util.find_spec(module.split(".")[0]) is None:
        raise MissingExtraError(f"{feature} needs {what}: pip install 'ferkit[{extra}]'")
    return importlib.import_module(module)


class PretrainedWeightsUnavailable(FERError, ConnectionError):
    """Pretrained weights would have to be downloaded, and nothing is downloaded at run time."""
