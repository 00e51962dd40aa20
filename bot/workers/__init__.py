"""Background work of the bot service: owned, heart-beaten claims and a keyed worker pool (framework-free)."""
