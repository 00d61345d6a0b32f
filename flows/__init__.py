"""Prefect flows: one file per blueprint, each runnable alone."""
