"""Guided paths over weeks, today's question, the weekly conversation guides and the /repair
talk: their content, loaded from content/ and validated (library.py). The code that delivers
them lives beside it."""
