"""Custom Rasa NLU components. Importing this package stays cheap: no rasa/torch imports here."""
