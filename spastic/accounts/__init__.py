"""Accounts: logging in and out, sessions, passwords, and clinic administration (users,
settings, the audit view)."""
