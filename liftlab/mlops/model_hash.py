"""A content hash of a fitted model, so an identical refit (same data, settings and code) is
recognised and not registered twice (:func:`liftlab.mlops.registry.register_and_alias`)."""

from __future__ import annotations

from typing import Any

__all__ = ["MODEL_HASH_TAG", "model_hash"]

MODEL_HASH_TAG = "liftlab.model_hash"
"""Registered-version tag holding :func:`model_hash` of the model."""


def model_hash(model: Any) -> str:
    """joblib's hash of a fitted model or a JSON model dict: numpy arrays by value, no
    timestamps, so two fits of the same data, settings and code hash alike."""
    import joblib

    return str(joblib.hash(model))
