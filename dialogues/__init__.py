"""The kernel: the content model and its loader and checker, text normalisation, keyword
matching, the examples' model and the understanding built on both, danger detection, SMS
encoding, and the engine `step(state, input) -> (state, actions)`.

May import: nothing else of the project (a contract in pyproject.toml, `lint-imports`).
"""
