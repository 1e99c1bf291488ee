"""The schedules room: when the daily prompt, the check-in and the look back come, in the
couple's timezone; pausing and resuming."""
