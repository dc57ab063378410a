"""The voice channel: Twilio voice webhooks parsed into engine inputs, the runtime's
actions and what it applied rendered into TwiML, with no effect of its own.

May import: the kernel, speech, core, mediation and the runtime; never the SMS channel.
"""
