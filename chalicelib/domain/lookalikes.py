"""Letters drawn like Latin ones that Unicode's compatibility form (NFKD, domain/sms_replies.py)
does not fold to their letter alone, read as those Latin letters when a reply is matched against
the keywords: "ST\N{CYRILLIC CAPITAL LETTER O}P" and "\N{LATIN LETTER SMALL CAPITAL S}TOP" read
STOP to whoever typed them, so they must opt out (P06, P07).

Two families. Cyrillic and Greek letters, by a table taken from Unicode's confusables.txt (UTS #39):
its Cyrillic and Greek letters whose look-alike is one Latin letter, plus the Cyrillic small
letters drawn as small capitals (в к м н т), which a keyword read without case reads as their
letter. And letters that are one Latin letter in another drawing, by their Unicode name (the
stdlib's, so no table to keep): the small capitals ("LATIN LETTER SMALL CAPITAL T"); the negative
circled and squared capitals of "fancy text" keyboards ("NEGATIVE SQUARED LATIN CAPITAL LETTER O");
the dotless i and j ("LATIN SMALL LETTER DOTLESS I"), as a phone set to Turkish writes QUIT in
small letters "qu\u0131t"; and the regional indicator letters of emoji keyboards ("REGIONAL
INDICATOR SYMBOL LETTER S"). A phone draws two regional indicators that name a region as its flag,
so a reply reads a run of them only as the keyword it spells (domain/sms_replies.py); Unicode
defines a flag as its two letters, so a reply of Chad's flag alone (TD) is a STOP, as a flag
taken for a stop costs less than a stop missed (P07). And
the parenthesised and bracketed letters ("PARENTHESIZED LATIN SMALL LETTER S"), which the
compatibility form makes "(s)", punctuation that breaks the word: so they are read before it.

Only keyword matching uses this: no text is changed. A Russian, Greek or Turkish word becomes no
keyword by it, as it keeps letters without a Latin look-alike (СТОП, ΣΤΟΠ) or is no keyword with
an i either (Yard\u0131m); only a word every letter of which looks Latin can.
"""
from __future__ import annotations

import re
import unicodedata

# Each Latin letter, and the Cyrillic and Greek letters drawn like it.
_LOOKALIKES: dict[str, str] = {
    "A": "\N{CYRILLIC CAPITAL LETTER A}\N{GREEK CAPITAL LETTER ALPHA}",
    "a": "\N{CYRILLIC SMALL LETTER A}\N{GREEK SMALL LETTER ALPHA}",
    "B": "\N{CYRILLIC CAPITAL LETTER VE}\N{GREEK CAPITAL LETTER BETA}",
    "b": "\N{CYRILLIC SMALL LETTER VE}",
    "C": "\N{CYRILLIC CAPITAL LETTER ES}\N{GREEK CAPITAL LUNATE SIGMA SYMBOL}",
    "c": "\N{CYRILLIC SMALL LETTER ES}\N{GREEK LUNATE SIGMA SYMBOL}",
    "d": "\N{CYRILLIC SMALL LETTER KOMI DE}",
    "E": "\N{CYRILLIC CAPITAL LETTER IE}\N{GREEK CAPITAL LETTER EPSILON}",
    "e": "\N{CYRILLIC SMALL LETTER IE}",
    "H": "\N{CYRILLIC CAPITAL LETTER EN}\N{GREEK CAPITAL LETTER ETA}",
    "h": "\N{CYRILLIC SMALL LETTER EN}\N{CYRILLIC SMALL LETTER SHHA}",
    # Capital iotas: an I among capitals (confusables.txt takes I and l as one).
    "I": "\N{CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I}\N{GREEK CAPITAL LETTER IOTA}",
    "i": "\N{CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I}\N{GREEK SMALL LETTER IOTA}",
    "J": "\N{CYRILLIC CAPITAL LETTER JE}\N{GREEK CAPITAL LETTER YOT}",
    "j": "\N{CYRILLIC SMALL LETTER JE}\N{GREEK LETTER YOT}",
    "K": "\N{CYRILLIC CAPITAL LETTER KA}\N{GREEK CAPITAL LETTER KAPPA}",
    "k": "\N{CYRILLIC SMALL LETTER KA}",
    "M": "\N{CYRILLIC CAPITAL LETTER EM}\N{GREEK CAPITAL LETTER MU}",
    "m": "\N{CYRILLIC SMALL LETTER EM}",
    "N": "\N{GREEK CAPITAL LETTER NU}",
    "O": "\N{CYRILLIC CAPITAL LETTER O}\N{GREEK CAPITAL LETTER OMICRON}",
    "o": "\N{CYRILLIC SMALL LETTER O}\N{GREEK SMALL LETTER OMICRON}",
    "P": "\N{CYRILLIC CAPITAL LETTER ER}\N{GREEK CAPITAL LETTER RHO}",
    "p": "\N{CYRILLIC SMALL LETTER ER}\N{GREEK SMALL LETTER RHO}",
    "Q": "\N{CYRILLIC CAPITAL LETTER QA}",
    "q": "\N{CYRILLIC SMALL LETTER QA}",
    "r": "\N{CYRILLIC SMALL LETTER GHE}",
    "S": "\N{CYRILLIC CAPITAL LETTER DZE}",
    "s": "\N{CYRILLIC SMALL LETTER DZE}",
    "T": "\N{CYRILLIC CAPITAL LETTER TE}\N{GREEK CAPITAL LETTER TAU}",
    "t": "\N{CYRILLIC SMALL LETTER TE}",
    "u": "\N{GREEK SMALL LETTER UPSILON}",
    "V": "\N{CYRILLIC CAPITAL LETTER IZHITSA}",
    "v": "\N{CYRILLIC SMALL LETTER IZHITSA}\N{GREEK SMALL LETTER NU}",
    "W": "\N{CYRILLIC CAPITAL LETTER WE}",
    "w": "\N{CYRILLIC SMALL LETTER WE}",
    "X": "\N{CYRILLIC CAPITAL LETTER HA}\N{GREEK CAPITAL LETTER CHI}",
    "x": "\N{CYRILLIC SMALL LETTER HA}",
    "Y": "\N{CYRILLIC CAPITAL LETTER U}\N{CYRILLIC CAPITAL LETTER STRAIGHT U}"
         "\N{GREEK CAPITAL LETTER UPSILON}",
    "y": "\N{CYRILLIC SMALL LETTER U}\N{CYRILLIC SMALL LETTER STRAIGHT U}\N{GREEK SMALL LETTER GAMMA}",
    "Z": "\N{GREEK CAPITAL LETTER ZETA}",
}
# A Latin letter drawn another way, by its Unicode name: the letter is the name's last word.
_NAMED_LATIN = re.compile(r"(?:LATIN (?:CAPITAL )?LETTER SMALL CAPITAL"
                          r"|NEGATIVE (?:CIRCLED|SQUARED) LATIN CAPITAL LETTER"
                          r"|LATIN SMALL LETTER DOTLESS|REGIONAL INDICATOR SYMBOL LETTER"
                          r"|(?:PARENTHESIZED|TORTOISE SHELL BRACKETED) LATIN (?:CAPITAL|SMALL) LETTER)"
                          r" ([A-Z])")


class _ToLatin(dict[int, str]):
    """The Cyrillic and Greek table, and, for a character it lacks, its letter by name: looked up
    when met (str.translate asks), as a scan of Unicode's names would cost each cold start."""

    def __missing__(self, code: int) -> str:
        named = _NAMED_LATIN.fullmatch(unicodedata.name(chr(code), "")) if code > 0x7F else None
        if named is None:
            raise LookupError(code)  # str.translate keeps the character
        # A small letter stays small (the dotless i); a capital, or a small capital, is a capital.
        return named.group(1).lower() if " SMALL LETTER " in named.group(0) else named.group(1)


_TO_LATIN = _ToLatin(str.maketrans({lookalike: latin for latin, lookalikes in _LOOKALIKES.items()
                                    for lookalike in lookalikes}))


def as_latin(text: str) -> str:
    """`text` with each look-alike of a Latin letter (Cyrillic, Greek, or a Latin letter drawn
    another way) replaced by that letter."""
    return text.translate(_TO_LATIN)
