"""The WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

from signal_rest import create_app

app = create_app()
