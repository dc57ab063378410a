"""The voice channel: Twilio voice webhooks -> engine -> TwiML.

May import: the kernel, speech, mediation and relais's floor; never the SMS channel.
"""
