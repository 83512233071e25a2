"""The experimentation statistics engine (DESIGN.md §2).

sufficient statistics (aggregate) → vectorised estimates and standard errors (estimate) →
inference (frequentist) → post-processing (corrections, decisions).
"""
