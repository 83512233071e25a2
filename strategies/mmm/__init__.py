"""Marketing mix modelling on numpy/scipy: adstock and saturation transforms, a
variable-projection least-squares fit with experiment calibration, block-bootstrap intervals,
contributions/ROAS, rolling cross-validation and a budget optimiser.

The parameterisation every module shares is documented in :mod:`strategies.mmm.data`.
"""
