"""The local stack: moto as AWS, the HTTP API, an SQS pump, a scheduler and an outbox page.

`python -m chalicelib.local` (or `make run`) starts it; `stack.start_stack` is the same thing for
tests. Nothing here is registered by app.py, so none of it is deployed.
"""
