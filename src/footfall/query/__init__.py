"""The query layer: metrics, ranges and filters that every consumer shares."""
