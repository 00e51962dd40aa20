"""Media citizens send on messaging channels, downloaded and staged until a ticket links it."""
