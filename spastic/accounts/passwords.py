"""Password hashing (argon2id) and the rules a new password must meet."""

import gzip
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current parameters
# Verified against when the account is unknown, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")

MIN_LENGTH = 12
# 20,000 common passwords (Royce Williams' list, as shipped by Django under its BSD licence).
COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")


def hash_password(password: str) -> str:
    """Return an argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return whether the password matches; spends the same time when there is no hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, *, email: str = "") -> str | None:
    """Return a sentence saying what is wrong with a new password, or None."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if email and email.split("@")[0].lower() in password.lower():
        return "Do not use your email name inside your password."
    if password.lower().strip() in common_passwords():
        return "This password is on a list of commonly used passwords: choose another."
    return None


@cache
def common_passwords() -> frozenset[str]:
    """Return the shipped list of common passwords, lower case (read once per process)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())
