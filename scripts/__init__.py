"""Command-line scripts: data generators and the system launcher."""
