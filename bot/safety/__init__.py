"""The safety room: helplines, crisis words, /support, and replies only the writer sees."""
