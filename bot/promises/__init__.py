"""The promises room: small promises, asked about on their day, kept, shared or let go."""
