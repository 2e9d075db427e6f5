"""The Powertools Logger shared by every handler. Never log contact data.

No custom CloudWatch metrics: each costs $0.30 a month prorated by the hour it is sent in, which
for a small sender's campaigns (events trickling in for two days) came to several percent of what
SES charges. What they counted is in the campaigns' reports and in these logs; the alarms watch
the metrics AWS publishes for free (SES sends, bounces, complaints and reputation; Lambda errors
and throttles; SQS message age)."""
from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="tidings")
