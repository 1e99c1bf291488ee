"""Today's question, answered in words and revealed together (issue 21)."""
