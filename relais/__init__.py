"""Relais: a phone and SMS assistant that brings people to the right online procedure or to a
human mediator.

This package is the composition root: the Flask app factory (which registers the job
handlers and the channels' blueprints), the server and the CLI. Nothing else imports it
(a contract in pyproject.toml, `lint-imports`).
"""
