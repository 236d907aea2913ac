"""Rasa SDK custom actions, one module per feature. rasa-sdk imports every module listed here."""
