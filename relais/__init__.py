"""Relais: a phone and SMS assistant that brings people to the right online procedure or to a
human mediator.

Today this package is both the floor that every other package uses (models, database,
jobs, outbound SMS, phone numbers, signatures, settings) and the composition root (the
app factory, the CLI, the server) that imports them all; splitting the two is issue 15.
"""
