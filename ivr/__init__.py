"""The voice channel: Twilio voice webhooks -> engine -> TwiML."""
