"""The customer knowledge graph: record a turn, query it, export it."""
