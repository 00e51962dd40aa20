"""Layanan Aduan: the bot service package and the Indonesian NLU components Rasa imports.

`bot.nlu` and `bot.knowledge` must stay importable from the Rasa environment (Python 3.10,
no FastAPI/SQLAlchemy 2): keep service-only imports out of them.
"""
