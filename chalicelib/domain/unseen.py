"""Characters a screen draws as nothing, which hide what a word is from whoever reads the text
(a STOP reply, an account's name in a text): "ST\u200bOP" and "ST\u034fOP" both read STOP."""
from __future__ import annotations

import unicodedata

# Unicode's Default_Ignorable_Code_Point characters that are not format characters (Cf, below):
# the combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian variation
# selectors, variation selectors and the reserved U+FFF0-U+FFF8 (DerivedCoreProperties.txt).
_DEFAULT_IGNORABLE = frozenset(map(chr, [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, *range(0x180B, 0x1810),
                                         0x3164, *range(0xFE00, 0xFE10), 0xFFA0, *range(0xFFF0, 0xFFF9),
                                         *range(0xE0100, 0xE01F0)]))


def drawn_as_nothing(char: str) -> bool:
    """Whether `char` is a format character (zero-width space, soft hyphen, bidi control, tag)
    or another default-ignorable one."""
    return unicodedata.category(char) == "Cf" or char in _DEFAULT_IGNORABLE
