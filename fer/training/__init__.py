"""Training: the LightningModule (module.py), the fit-then-report routine (fit.py) and its callbacks."""
