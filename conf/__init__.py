"""The Hydra configs, installed as the package `fer.conf` (see pyproject.toml) so every entry point and the
Python API read the same files in a checkout and in an installed copy."""
