"""FAQ answers: YAML templates, their slots, the FAISS index and the retrieval decision."""
