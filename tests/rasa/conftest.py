"""Rasa runs in this test process too (components, training-data loading): with the project's settings."""

from bot.rasa_environment import configure_this_process

configure_this_process()
