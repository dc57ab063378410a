"""The mediators' domain: roster and opening hours, hand-off and callback requests, the
calls Relais places (ring-backs, click-to-call), call summaries, privacy, the dashboard.

May import: the kernel, speech, and relais's floor (models, jobs, outbound, settings);
never a channel (ivr, sms).
"""
