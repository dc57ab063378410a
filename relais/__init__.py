"""Relais: a phone and SMS assistant that brings people to the right online procedure or to a
human mediator."""
