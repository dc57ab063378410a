"""The mediators' domain: the roster, hand-off and callback requests (their statuses:
requests.py), the calls Relais places (ring-backs, click-to-call: calls.py, their
statuses: outbound_status.py), call summaries, privacy, the dashboard.

May import: the kernel, speech and core (models, jobs, outbound, settings);
never a channel (ivr, sms).
"""
