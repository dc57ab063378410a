"""Text normalisation for matching what people type or say against the content's words.

People who rarely write spell French the way it sounds ("anploi", "kaf", "karte vital",
"lé zimpo"). Both sides (the content's keywords and the person's message) go through the
same steps, so "emploi" and "anploi" meet on the same form:

1. lower case, accents off, apostrophes and punctuation become spaces;
2. small words that carry no meaning for the choice ("je", "la", "bonjour", "svp") go;
3. each word is reduced to a rough French sound spelling: ph/f, c/k/qu, an/en/am/em,
   é/er/ez/ai, o/au/eau, ch, gu/ge, silent h, doubled letters, silent final letters.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Words that never decide which choice a person means. Kept short on purpose: a word that
# could be a keyword ("aide", "carte", "papiers") must not be here.
STOPWORDS = frozenset(
    """
    a ai allo alo au aux avec bjr bonjour bonsoir c ca ce ces cest cet cette chui comment d de
    des du dois doit donc e elle en est et etre faire fait faut il j jai je jpeux jpx jsuis l la le
    les leur lui m ma me merci mes moi mon n ne nous o on ou par pas peut peux plait pour
    pourriez pr qu que quel quelle qui quoi s sa salut se sest ses si sil slt son sont stp
    sur svp t ta te tes toi ton tu un une veut veux voudrai voudrais voudrait voulais vous
    vouloir vx jvx jveux jvoudrai jvoudrais y ya
    """.split()
)

_APOSTROPHES = "'’‘`´ʼ"
_NON_WORD = re.compile(r"[\W_]+")  # any script: French, and Korean in the tests


def _rules(pairs: list[tuple[str, str]]) -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(pattern), repl) for pattern, repl in pairs]


# Short words are often acronyms (CAF, APL, AAH, CEP): only the spelling of "c" changes,
# so that "kaf" meets "caf" but "aah" keeps its letters.
_SHORT_RULES = _rules([(r"qu", "k"), (r"c(?=[eiy])", "s"), (r"c", "k")])
SHORT = 3

# Ordered sound rewrites applied to one longer word (lower case, no accents).
_SOUND_RULES = _rules(
    [
        (r"ph", "f"),
        (r"ti(?=on)", "ssi"),  # "inscription" = "inscripsion"
        (r"sch", "x"),
        (r"ch", "x"),  # "ch" keeps its own sound: protect it from the c -> k rule
        (r"gu(?=[eiy])", "g"),
        (r"g(?=[eiy])", "j"),
        (r"ge(?=[aou])", "j"),
        (r"qu", "k"),
        (r"q", "k"),
        (r"ck", "k"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"w", "v"),
        (r"y", "i"),
        (r"h", ""),
        (r"eau", "o"),
        (r"au", "o"),
        (r"(?<=[aeiou])s(?=[aeiou])", "z"),
        (r"(?:ai|ei)(?=[nm])", "e"),  # "pain", "plein" -> "pen", "plen" -> "pin"
        (r"e[nm](?![aeiounm])", "an"),  # "emploi" -> "anploi", "en" -> "an"
        (r"am(?![aeiounm])", "an"),
        (r"[ie]n(?![aeiounm])", "in"),  # "plein" "pin" "ein" -> "in"
        (r"im(?![aeiounm])", "in"),
        (r"om(?![aeiounm])", "on"),
        (r"ai|ei|et$|er$|ez$|es$", "e"),
    ]
)
# Silent final letters, dropped one after the other while the word stays long enough to
# keep its meaning ("vitales" -> "vitale" -> "vital", but "aide" stays "ede").
_SILENT_END = _rules([(r"x$", ""), (r"[stdpz]$", ""), (r"e$", ""), (r"[stdp]$", "")])
_KEEP_AT_LEAST = 4
_DOUBLED = re.compile(r"(.)\1+")


def strip_accents(text: str) -> str:
    if text.isascii():  # most SMS: nothing to strip
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def sound(word: str) -> str:
    """The rough French sound spelling of one plain word (lower case, no accents)."""
    if len(word) <= SHORT:
        for pattern, repl in _SHORT_RULES:
            word = pattern.sub(repl, word)
        return word
    for pattern, repl in _SOUND_RULES:
        word = pattern.sub(repl, word)
    for pattern, repl in _SILENT_END:
        shorter = pattern.sub(repl, word)
        if len(shorter) >= _KEEP_AT_LEAST:
            word = shorter
    return _DOUBLED.sub(r"\1", word)


# Stop words as they sound, so "koi" and "kel" go like "quoi" and "quel".
STOP_SOUNDS = frozenset(sound(w) for w in STOPWORDS)


def words_of(text: str) -> list[str]:
    """Lower case, accent-free words of `text`, every one kept."""
    return list(_words_of(text))


# The danger check, the keywords and the model each read the message being understood:
# only the last few messages are kept (a server's messages are each new).
@lru_cache(maxsize=4)
def _words_of(text: str) -> tuple[str, ...]:
    text = strip_accents(text.lower().replace("œ", "oe").replace("æ", "ae"))
    for mark in _APOSTROPHES:
        text = text.replace(mark, " ")
    return tuple(w for w in _NON_WORD.split(text) if w)


def plain_words(text: str) -> list[str]:
    """Lower case, accent-free words of `text`, small meaningless words removed."""
    return [w for w in words_of(text) if w not in STOPWORDS]


def normalise(text: str) -> tuple[str, ...]:
    """The sound-spelled words of `text` used for matching (empty and stop words dropped)."""
    return tuple(s for s in (sound(w) for w in plain_words(text)) if s and s not in STOP_SOUNDS)
