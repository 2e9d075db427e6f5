"""Handlers for SQS, SNS and schedule events. Thin: parse, call the domain and store."""
