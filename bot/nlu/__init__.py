"""Indonesian NLU for Rasa: normaliser, tokenizer and stemmer components.

`normalizer`, `segmenter` and `patterns` are pure Python and also serve the triage classifier in the bot
service (.venv); `tokenizer` and `stemmer` import Rasa and load only in .venv-rasa. Keep this file free of
imports so that importing `bot.nlu.normalizer` never pulls in Rasa.
"""
