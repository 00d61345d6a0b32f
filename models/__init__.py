"""Pure ML: data contracts, features, estimators, evaluation, registry (no Prefect, no HTTP)."""
