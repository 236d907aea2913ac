"""Supervisor analytics: Rasa events -> analytics tables -> measures, segments, JSON API.

``events`` (normal form and keys) -> ``fold`` (idempotent storage, ``derive`` rebuilds each
touched conversation) fed by ``ingest`` (SQL event broker, tracker-store backfill) and
``rabbit`` (Pika broker queue); ``rasa_broker`` is the event broker Rasa itself runs;
``measures`` / ``demand_measures`` / ``service_measures`` / ``at_risk`` / ``recommendations`` /
``segments`` / ``drill`` read the tables through ``dataset`` and ``filters``; ``api`` serves
them, masked by ``masking``; ``setup.setup_analytics`` plugs it all into the web app.
Importing the package does nothing else.
"""
