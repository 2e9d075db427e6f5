"""The Lambda of tracking_front: its handler alone (chalicelib.blueprints.public_tracking_front)."""
from __future__ import annotations

from chalicelib.blueprints import public_tracking_front
from chalicelib.lambda_entry import function_handler

handler = function_handler("tracking_front", public_tracking_front.public)
