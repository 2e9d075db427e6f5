"""Tidings: a privacy-first mailing-list pipeline for AWS."""
