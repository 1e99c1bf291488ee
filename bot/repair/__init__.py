"""/repair: a guided talk after a hard moment."""
