"""The pure clinical core: scales, visit records, dosing, safety flags, comparison, responders,
scoring.

It imports only the standard library and itself (no Flask, Werkzeug, SQLAlchemy or Jinja, and
nothing else of spastic); tests/test_layout.py enforces it. Every threshold cites its source.
"""
