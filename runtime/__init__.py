"""The runtime: one service for every channel. It opens a conversation, takes a turn
through the engine, applies each action's effect once by the handler of its type (a
procedure sent by SMS, a hand-off to a mediator, the end: effects.py), records the turns
and saves the state (turns.py). It also applies what the other webhooks report, each in
one call: a hand-off's live side (live_handoff.py), the calls Relais places
(placed_calls.py), the mediators' phone line (mediator_line.py), a texter's stop and start
(opt_out.py), Twilio's status callbacks (status_reports.py), a caller's spoken answer
fetched, kept and recognised (spoken_answers.py). A channel parses its webhook
before, and renders the actions and their `Handover` after, with no side effect of its own.

May import: mediation, core, speech and the kernel; never a channel or the app.
"""
