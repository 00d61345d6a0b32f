"""Thin Prefect @task wrappers around I/O; retry and cache policy lives here."""
