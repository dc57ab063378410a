"""The mediators' domain: the roster, hand-off and callback requests, the
calls Relais places (ring-backs, click-to-call), call summaries, privacy, the dashboard.

May import: the kernel, speech and core (models, jobs, outbound, settings);
never a channel (ivr, sms).
"""
