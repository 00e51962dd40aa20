"""Web-chat identities issued by the server: a random session token per citizen, stored hashed."""
