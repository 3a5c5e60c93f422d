"""The one progress bar of the long jobs (headless runs, analyze, the corpus, eval): tqdm on stderr.

`enabled`: None shows it only where stderr is a terminal (a log file, CI or a batch job gets none: tqdm's
own test); True or False force it (the `progress=` setting of each command).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm import tqdm


def progress(iterable: Iterable | None = None, total: int | None = None, enabled: bool | None = None,
             **kwargs: Any) -> tqdm:
    return tqdm(iterable, total=total, disable=None if enabled is None else not enabled, dynamic_ncols=True,
                **kwargs)
