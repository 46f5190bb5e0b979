"""Identity: password hashing and (later) tokens and sessions."""
