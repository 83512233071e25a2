"""Run configurations: one typed pydantic model per pipeline, validated before anything runs.

``registry`` maps each pipeline to its config class; ``base`` holds what every config shares.
"""
