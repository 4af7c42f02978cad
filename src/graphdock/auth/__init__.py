"""Authentication (who is asking) and authorization (what they may see and do)."""
