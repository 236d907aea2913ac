"""Customer insight: scoring, and the web app for shoppers, agents and supervisors."""
