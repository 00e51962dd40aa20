"""Conversations and every message exchanged in them, on every channel."""
