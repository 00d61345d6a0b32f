"""What running needs besides prefect.yaml: the local stack and the webhook receiver."""
