"""Visits: the visit form, drafts and autosave, saving once, signing, amendments, the visit page."""
