"""The SMS channel: Twilio messaging webhooks parsed into engine inputs (or STOP, START and
help), the runtime's actions rendered into TwiML replies, with no effect of its own.

May import: the kernel, speech, core, mediation and the runtime; never the voice channel.
"""
