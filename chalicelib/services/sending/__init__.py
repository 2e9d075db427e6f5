"""The send path: start, fan-out, batches, the outbox step, rate tokens and sent-counting."""
