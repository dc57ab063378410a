"""The voice channel: Twilio voice webhooks -> engine -> TwiML.

May import: the kernel, speech, core and mediation; never the SMS channel.
"""
