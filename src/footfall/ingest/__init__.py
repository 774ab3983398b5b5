"""The ingestion pipeline: every event, from any source, passes through here."""
