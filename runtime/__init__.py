"""The runtime: one service for every channel. It opens a conversation, takes a turn
through the engine, applies each action's effect once (a procedure sent by SMS, a hand-off
to a mediator), records the turns and saves the state. A channel parses its webhook into
an engine input before, and renders the actions and their `Handover` after, with no side
effect of its own.

May import: mediation, core, speech and the kernel; never a channel or the app.
"""
