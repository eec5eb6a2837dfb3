"""Prefect flows and deployments: thin wrappers that wire ``localize`` stages together.

Importing this package imports Prefect; the library (``localize``) never does.
"""
