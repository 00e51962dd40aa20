"""Rasa custom actions of Layanan Aduan (run by `rasa run actions --actions actions`)."""
