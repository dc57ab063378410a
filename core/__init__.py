"""The floor every other package stands on: settings and opening hours, the database
(SQLAlchemy models, Alembic migrations), the conversation store, jobs (embedded runner or
`relais worker` woken through Redis), outbound SMS through Twilio, phone numbers, webhook
signatures and request helpers, and Twilio's side of calls and texts (twilio_simulator:
the dashboard's sandbox, `relais call` and `relais sms`).

May import: the kernel (dialogues) and speech; never mediation, a channel or the app.
"""
