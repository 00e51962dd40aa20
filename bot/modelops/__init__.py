"""Model operations: the registry of trained Rasa models and their blue/green deployment."""
