"""Entry point for gunicorn: `gunicorn wsgi:app`."""

from spastic import create_app

app = create_app()
