"""Hand-over to a human: escalation records and agent accounts."""
