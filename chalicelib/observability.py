"""Powertools Logger and Metrics shared by every handler. Never log contact data."""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="tidings")
metrics = Metrics(namespace="Tidings", service="tidings")
