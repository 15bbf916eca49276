"""Extraction: source documents (ingest/) to evidence records (the spaCy pipeline)."""
