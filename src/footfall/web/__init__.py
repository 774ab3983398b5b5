"""HTTP: thin Starlette glue over the ingestion pipeline and the query layer."""
