"""SMS replies: reading what SNS receives on our numbers, and which keyword a reply is. Apart
from composing campaign texts (sms.py): the reply worker reads texts and never composes one.

A reply whose first word is a stop keyword (the carriers' and SNS's own list) suppresses the
number (P12). The inbound shape is what SNS two-way SMS publishes to the number's topic:
`originationNumber` (who replied), `destinationNumber` (our number), `messageBody`,
`inboundMessageId`, ...
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.lookalikes import as_latin
from chalicelib.domain.subscriptions import normalise_phone
from chalicelib.domain.unseen import drawn_as_nothing

# The opt-out keywords carriers and Amazon SNS honour (case-insensitive, first word), with the
# other languages' that carriers honour too (French, Spanish, Portuguese, German and Nordic).
STOP_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout",
                           "opt-out", "arret", "revoke", "remove", "td",
                           "alto", "parar", "stopp", "cancelar"})
# ... and the same as two words (the FCC's list, 47 CFR 64.1200(a)(10), spells it so).
STOP_PHRASES = frozenset({"opt out", "stop all"})
# Keywords answered (domain/sms_keywords.py) only when they are the whole reply: a reply that
# merely starts with "Info" or "Start" is conversation, not a request.
HELP_KEYWORDS = frozenset({"help", "info", "ajutor"})
START_KEYWORDS = frozenset({"start", "unstop"})
# The most of a reply read for a keyword: more than any SMS carries (1,600 characters), so a
# forged body of a quarter megabyte (SNS's limit) costs no more to read than a real reply; its
# compatibility form may be 18 times as long (U+FDFA), seconds of CPU for each record.
MAX_REPLY_CHARS = 1600
# An international number as SNS writes one (E.164): kept as received when the phone library
# does not take it (a range newer than its metadata), so that a person's STOP still applies.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# A word: letters and digits, hyphen-joined at most once ("opt-out"); punctuation ends it.
_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)?")
# A run of regional indicator letters (domain/lookalikes.py reads them), with what is drawn as
# nothing or as a dash between them (a joiner, a variation selector, "opt-out") and nothing else:
# a circled letter, a comma or a heart ends it, as it ends a word. A phone draws two that name a
# region as its flag: a run is read as a word only when it spells a keyword, and otherwise as the
# emoji it is, so a flag beside a keyword ("Stop\U0001f1ec\U0001f1e7", "\U0001f1eb\U0001f1f7 Stop")
# leaves it one. Found in the reply's shapes (_shapes), one character each, so it is linear.
_REGIONAL, _JOINING, _OTHER = "r", "-", " "
_REGIONAL_RUN = re.compile(rf"{_REGIONAL}(?:{_JOINING}*{_REGIONAL})*")
_KEYWORD_WORDS = STOP_KEYWORDS | HELP_KEYWORDS | START_KEYWORDS | {
    word for phrase in STOP_PHRASES for word in phrase.split()}


class Keyword(Enum):
    """What a reply asks for, when it is a keyword."""

    STOP = "stop"
    HELP = "help"
    START = "start"


@dataclass(frozen=True)
class InboundSms:
    """A reply to one of our numbers: who sent it (E.164), to which number, and the text."""

    origination: str
    destination: str
    body: str

    @property
    def is_stop(self) -> bool:
        """Whether the reply opts out (P12): its first word a stop keyword, or its first two a
        stop phrase, however typed ("Stop, please", "STOP?", full-width letters, "Arrêt")."""
        words = _WORD.findall(_plain(self.body[:MAX_REPLY_CHARS]))[:2]
        return bool(words) and (words[0] in STOP_KEYWORDS or " ".join(words) in STOP_PHRASES)

    @property
    def keyword(self) -> Keyword | None:
        """The keyword the reply is: STOP as `is_stop` says, HELP or START only as its one word."""
        if self.is_stop:
            return Keyword.STOP
        if len(self.body) > MAX_REPLY_CHARS:
            return None  # no one-word reply is that long
        words = _WORD.findall(_plain(self.body))
        if len(words) != 1:
            return None
        return (Keyword.HELP if words[0] in HELP_KEYWORDS
                else Keyword.START if words[0] in START_KEYWORDS else None)


def _plain(text: str) -> str:
    """`text` case-folded, in compatibility form (full-width and mathematical letters become
    ASCII), without accents or other marks drawn on a letter, with look-alikes as Latin letters
    (Cyrillic, Greek, small capitals: domain/lookalikes.py) and without what is drawn as nothing
    (a soft hyphen, zero-width space or combining grapheme joiner inside "End\u00adless" is no
    word break: domain/unseen.py), so a keyword matches however a phone's keyboard typed it."""
    parts, end = [], 0
    for run in _REGIONAL_RUN.finditer(_shapes(text)):
        parts += [text[end:run.start()], _regional_word(text[run.start():run.end()])]
        end = run.end()
    return _folded("".join(parts) + text[end:])


def _shapes(text: str) -> str:
    """One character for each of `text`'s: a regional indicator letter, what may join two in a
    run (drawn as nothing, drawn on the letter before it, a dash), or anything else."""
    return "".join(_REGIONAL if "\U0001f1e6" <= char <= "\U0001f1ff"
                   else _JOINING if (drawn_as_nothing(char) or _drawn_on_a_letter(char)
                                     or unicodedata.category(char) == "Pd")
                   else _OTHER for char in text)


def _regional_word(run: str) -> str:
    """A run of regional indicator letters set apart as the keyword it spells (an emoji
    keyboard's S T O P), or, spelling none, as the flags it is drawn as: no word."""
    word = _folded(run)
    return f" {word} " if word in _KEYWORD_WORDS else " "


def _folded(text: str) -> str:
    """`text` as `_plain` reads it, but for regional indicator runs. Look-alikes are read before
    the compatibility form, which would make "(s)" of a parenthesised s, and after it, which shows
    the look-alike in a letter it decomposes (Cyrillic \u0451)."""
    decomposed = unicodedata.normalize("NFKD", as_latin(text))
    # Any dash joins words as the ASCII hyphen does ("Stop\u2011motion" is "stop-motion").
    return as_latin("".join("-" if unicodedata.category(char) == "Pd" else char for char in decomposed
                            if not _drawn_on_a_letter(char) and not drawn_as_nothing(char))).casefold()


def _drawn_on_a_letter(char: str) -> bool:
    """Whether `char` is a mark drawn on or around the letter before it (an accent, a strike-through,
    an enclosing circle), which leaves that letter what it reads as: by its category, as some such
    marks (U+20DD COMBINING ENCLOSING CIRCLE) have no combining class."""
    return unicodedata.category(char) in ("Mn", "Me")


def from_topic(topic_arn: object, queue_arn: str, topic_name: str) -> bool:
    """Whether an SNS notification's `TopicArn` is the topic `topic_name` beside the queue that
    delivered it (same partition, region and AWS account): only that one carries replies to our
    numbers; another's, in a queue it should never reach, is forged."""
    parts = queue_arn.split(":")
    return len(parts) == 6 and topic_arn == ":".join([*parts[:2], "sns", *parts[3:5], topic_name])


def parse_inbound_sms(message: str | Mapping[str, Any]) -> InboundSms | None:
    """The inbound SMS in an SNS notification's `Message` (JSON text or parsed); None when it
    comes from no phone number (a short code such as "12345", a sender id such as "SHORTCODE"):
    no person's number to act on, and one Tidings never texted. A number in E.164 that
    `normalise_phone` does not take is kept as written: a number texted once may be one the
    library no longer knows, and its STOP must not be lost. InvalidInput when it is no inbound SMS."""
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:  # JSON's errors, and a number of 4,300 digits
            raise InvalidInput("the inbound SMS is not JSON", field="Message") from None
    if not isinstance(message, Mapping):
        raise InvalidInput("the inbound SMS is not an object", field="Message")
    origination, destination = message.get("originationNumber"), message.get("destinationNumber")
    body = message.get("messageBody")
    if not (isinstance(origination, str) and isinstance(destination, str) and isinstance(body, str)):
        raise InvalidInput("an inbound SMS needs originationNumber, destinationNumber and messageBody",
                           field="Message")
    try:
        origination = normalise_phone(origination)
    except InvalidInput:
        if not _E164.fullmatch(origination):
            return None
    return InboundSms(origination=origination, destination=destination, body=body)
