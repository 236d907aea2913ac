"""The demo shop's data layer: settings, models, migrations, seed and queries."""
