"""The check-in room: the tap, the note and its sharing, the nudge, the reveal, /reveal and
/question, and a check-in asked for now."""
