"""Plain words typed to Tandem: what they mean (an intent), the answer, and the note offer."""
