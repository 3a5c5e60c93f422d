"""The package list, which pyproject.toml cannot express: fer/ and its subpackages, plus conf/ as fer.conf."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["fer", "fer.*"]), "fer.conf"])
