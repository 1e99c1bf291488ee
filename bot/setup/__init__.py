"""The set-up after a space's first /start, and /settings: every setting a tap away."""
