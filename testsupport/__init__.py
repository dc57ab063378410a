"""What the tests and the benchmarks share, out of the product: the stand-in of Twilio's
REST API (twilio_api) and its check against Twilio's OpenAPI description (twilio_spec),
Twilio's Media Streams for stream mode (media_streams), the Korean speech model, content
and word lists (korean_speech), Relais's processes as an operator runs them (processes), a
fresh database per run (databases), and the held-out lists with their scores (heldout).

It lives in the checkout beside tests/ and bench/, which run from there, and is not part of
the installed package: Twilio's OpenAPI description is fetched into the checkout's .cache/
by `scripts/install test`, which also installs openapi-core (the `test` extra).

May import: the product (Twilio's side of webhooks is core.twilio_simulator); never tests/
or bench/. The product never imports it (contracts in pyproject.toml, `lint-imports`).
"""
