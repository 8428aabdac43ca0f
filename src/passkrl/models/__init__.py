"""Policies: a tiny character-level transformer with KV-cache sampling."""
