"""The kinds of data-subject request (P16-P20). Apart from their rules (privacy.py): the API's
request schema names them, and a cold start of the API, which serves any one route, need not load
the rules with them."""
from __future__ import annotations

from enum import StrEnum


class RequestType(StrEnum):
    ACCESS = "access"
    PORTABILITY = "portability"
    RECTIFY = "rectify"
    ERASE = "erase"
    RESTRICT = "restrict"
    # Lifts a restriction (P17; GDPR Art. 18 is often temporary, e.g. while accuracy is contested).
    UNRESTRICT = "unrestrict"
    OBJECT = "object"
    EXISTS = "exists"
