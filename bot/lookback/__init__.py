"""The look-back room: the weekly look back with its chart, and /progress."""
