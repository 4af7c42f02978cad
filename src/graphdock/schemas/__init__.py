"""Wire models: request bodies as the official SDK sends them, response shapes for OpenAPI."""
