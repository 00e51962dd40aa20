"""Human handoff: a citizen asks for a person, an officer takes the conversation over and hands it back."""
