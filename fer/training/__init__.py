"""Training-time helpers: callbacks and the fit/test routine shared by scripts and tests."""
