"""The SMS channel: Twilio messaging webhooks -> engine -> TwiML replies, STOP and START.

May import: the kernel, mediation and relais's floor; never the voice channel.
"""
