"""Sending a signed visit's summary to a physician: links, mail, opening and revoking them."""
