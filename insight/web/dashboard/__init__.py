"""The supervisor dashboard page (``/dashboard``): charts, tables, drill-down to transcripts.

The numbers come from the analytics JSON API (``insight/analytics``, ``/dashboard/api/...``);
this package serves the page, its scripts and styles, and Chart.js from ``node_modules``.
"""

from insight.web.dashboard.setup import setup_dashboard

__all__ = ["setup_dashboard"]
