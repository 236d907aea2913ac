"""Rasa input channels of the shop assistant (the Rasa server loads them via credentials.yml)."""
