"""Command-line scripts: data generators and the system launcher (run with python -m scripts.NAME)."""
