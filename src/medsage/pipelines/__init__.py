"""Clinical pipelines: retrieval, domain knowledge, consultation, routing, safety, notes."""
