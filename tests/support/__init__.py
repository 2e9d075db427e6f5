"""Helpers shared by the tests, one module a topic; the fixtures beyond conftest.py's are in
`fixtures.py` (a pytest plugin that conftest.py loads).

- api: the headers API callers send
- events: AWS-shaped events (SES event publishing, SNS envelopes, SQS batches)
- queues: what waits on a queue, and the workers run on it as Lambda would
- mail: what SES and SNS were asked to send
- lists: lists, and people written straight onto them
- signups: the public signup form and JS endpoint
- campaigns: campaigns and their reports
- tracking: signed tracking links and counted opens and clicks
- tokens: link tokens altered as an attacker would
- timing: CPU time, best of several runs, and whether work grows linearly
- privacy: a person's data and data-subject requests
- retention: a frozen clock, and message records as the send worker leaves them
- tables: what the tables hold, read the way only a test may (Scan)
- stack: the real local stack in a subprocess
"""
