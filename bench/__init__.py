"""Benchmarks of this checkout, each a module run from the checkout's root as `python -m bench.<name>` (see
docs/benchmarks.md); common.py, service_process.py and video.py hold what several of them share."""
