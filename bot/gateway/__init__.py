"""The gateway: persists every inbound message, asks Rasa for the replies and persists those too."""
