"""The demo shop: its queries and commands, errors, seed data and signed customer identity."""
