"""The SMS channel: Twilio messaging webhooks -> engine -> TwiML replies, STOP and START.

May import: the kernel, speech, core and mediation; never the voice channel.
"""
