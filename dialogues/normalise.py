"""Text normalisation for matching what people type or say against the content's words.

People who rarely write spell words the way they sound ("anploi", "kaf", "karte vital",
"lé zimpo"). Both sides (the content's keywords and the person's message) go through the
same steps, so "emploi" and "anploi" meet on the same form:

1. lower case, accents off, apostrophes and punctuation become spaces (`words_of`, the
   same for every language);
2. small words that carry no meaning for the choice ("je", "la", "bonjour", "svp") go;
3. each word is reduced to a rough sound spelling by ordered rewrite rules (French:
   ph/f, c/k/qu, an/en/am/em, é/er/ez/ai, o/au/eau, ch, gu/ge, silent h, doubled letters,
   silent final letters).

Steps 2 and 3 are one language's data: language.yaml's `reading` block becomes a
`Reading`. A language without that block reads every word as written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from operator import methodcaller

_APOSTROPHES = "'’‘`´ʼ"
_NON_WORD = re.compile(r"[\W_]+")  # any script: French, and Korean in the tests
SOUNDS_KEPT = 65536  # words whose sound spelling is kept (then all forgotten)

Rule = tuple[str, str]  # a regular expression and what replaces it
Rewrite = Callable[[str], str]  # a rule applied to a word


def strip_accents(text: str) -> str:
    if text.isascii():  # most SMS: nothing to strip
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    # Composed again: Hangul syllables, which have no accent, come back whole.
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


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


def _compiled(rules: tuple[Rule, ...]) -> tuple[Rewrite, ...]:
    """Each rule as a function of a word; a plain string ("ph" -> "f") is replaced as a
    string, which is what its regular expression does, in less time."""
    return tuple(
        methodcaller("replace", pattern, repl)
        if re.escape(pattern) == pattern and "\\" not in repl
        else partial(re.compile(pattern).sub, repl)
        for pattern, repl in rules
    )


def letters_joined(
    words: Sequence[str], small_words: frozenset[str] = frozenset(), pairs: bool = True
) -> list[str]:
    """Letters spelled one by one become one word: "c a f" -> "caf", "a p l" -> "apl".
    A run's last letter that makes a small word with the next word stays itself ("c s s
    c est quoi" is "css", "c", "est": "c est" is "c'est"); with `pairs` False, two letters
    that are both small words stay two words ("il y a")."""
    out: list[str] = []
    run: list[str] = []
    for word in (*words, ""):
        if len(word) == 1:
            run.append(word)
            continue
        last = [run.pop()] if word and len(run) > 2 and run[-1] + word in small_words else []
        spelled = len(run) > 2 or (len(run) == 2 and (pairs or not set(run) <= small_words))
        out.extend(["".join(run)] if spelled else run)
        out.extend(last)
        run = []
        if word:
            out.append(word)
    return out


@dataclass(frozen=True)
class Reading:
    """How one language's words are read for matching (language.yaml's `reading`; words
    lower case without accents). The default reads every word as written."""

    # Words that never decide which choice a person means ("je", "bonjour").
    small_words: frozenset[str] = frozenset()
    # Small words the examples model and the danger check still read: negation, time.
    negations: frozenset[str] = frozenset()  # "pas reçu", "je ne suis pas en danger"
    not_negation_after: frozenset[str] = frozenset()  # "pas de toit" negates nothing
    kept_small_words: frozenset[str] = frozenset()  # "pas", "ne": kept by the model
    shading_words: frozenset[str] = frozenset()  # "toujours", "plus": describe nothing alone
    # Sounds of hesitation in speech ("euh"), skipped when reading a time ("un film euh où").
    hesitations: frozenset[str] = frozenset()
    # A small word glued to the next without its apostrophe: "lapl" is "l'apl".
    elided: tuple[str, ...] = ()
    # Whole words that only look like one glued to the next: "dame" is no "d'AME".
    not_glued: frozenset[str] = frozenset()
    # Two words people write as one ("m a" for "m'a" is "ma").
    joined: frozenset[tuple[str, str]] = frozenset()
    # Words of SMS shorthand and what they stand for ("vx": "veux", "g": "j ai"), read
    # out by the danger check, where every small word counts.
    shorthands: frozenset[tuple[str, str]] = frozenset()
    # A phrase of one word this short (letters) is an abbreviation ("PE"), found only as
    # written: "paye" and "payer" may sound like it.
    abbreviations: int = 0
    # Sound spelling: words of `short` letters or less take `short_rules` only (acronyms
    # keep their letters); longer ones `sound_rules`, then `silent_endings` one after the
    # other while `keep_at_least` letters stay, then `last_rules` (doubled letters).
    short: int = 0
    short_rules: tuple[Rule, ...] = ()
    sound_rules: tuple[Rule, ...] = ()
    silent_endings: tuple[Rule, ...] = ()
    keep_at_least: int = 1
    last_rules: tuple[Rule, ...] = ()
    _sounds: dict[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @cached_property
    def _rules(self) -> tuple[tuple[Rewrite, ...], ...]:
        return tuple(
            map(
                _compiled,
                (self.short_rules, self.sound_rules, self.silent_endings, self.last_rules),
            )
        )

    @cached_property
    def _not_glued(self) -> frozenset[str]:
        """The words that are not glued, as written and as they sound (both are read)."""
        return self.not_glued | {self.sound(word) for word in self.not_glued}

    @cached_property
    def stop_sounds(self) -> frozenset[str]:
        """Small words as they sound, so "koi" and "kel" go like "quoi" and "quel"."""
        return frozenset(self.sound(w) for w in self.small_words)

    def sound(self, word: str) -> str:
        """The rough sound spelling of one plain word (lower case, no accents)."""
        form = self._sounds.get(word)
        if form is None:
            if len(self._sounds) > SOUNDS_KEPT:
                self._sounds.clear()
            form = self._sounds[word] = self._sound(word)
        return form

    def _sound(self, word: str) -> str:
        short_rules, sound_rules, silent_endings, last_rules = self._rules
        if len(word) <= self.short:
            for rewrite in short_rules:
                word = rewrite(word)
            return word
        for rewrite in sound_rules:
            word = rewrite(word)
        for rewrite in silent_endings:
            shorter = rewrite(word)
            if len(shorter) >= self.keep_at_least:
                word = shorter
        for rewrite in last_rules:
            word = rewrite(word)
        return word

    def forget_words(self) -> None:
        """Empty the kept sound spellings (the benchmark's cold runs)."""
        self._sounds.clear()

    def plain_words(self, text: str) -> list[str]:
        """Lower case, accent-free words of `text`, letters spelled one by one joined,
        small meaningless words removed."""
        words = letters_joined(words_of(text), self.small_words, pairs=False)
        return [w for w in words if w not in self.small_words]

    def normalise(self, text: str) -> tuple[str, ...]:
        """The sound-spelled words of `text` used for matching (small words dropped)."""
        return tuple(
            s
            for s in (self.sound(w) for w in self.plain_words(text))
            if s and s not in self.stop_sounds
        )

    @cached_property
    def _shorthands(self) -> dict[str, tuple[str, ...]]:
        return {word: tuple(full.split()) for word, full in self.shorthands}

    def spelled_out(self, words: Sequence[str]) -> list[str]:
        """The words with SMS shorthands written out ("je vx mourir" is "je veux
        mourir"); a shorthand of one letter ("g" for "j'ai") only between longer words, so
        that letters spelled one by one ("c a f") stay letters."""
        table = self._shorthands
        if table.keys().isdisjoint(words):  # most messages
            return list(words)
        out: list[str] = []
        for i, word in enumerate(words):
            full = table.get(word, ())
            written_out = len(full) > 1 and tuple(words[i + 1 : i + len(full)]) == full[1:]
            near = [*words[max(i - 1, 0) : i], *words[i + 1 : i + 2]]
            spelled = len(word) == 1 and any(len(w) == 1 for w in near)  # "c a f"
            out.extend(full if full and not written_out and not spelled else (word,))
        return out

    def joined_words(self, words: list[str]) -> list[str]:
        """The words with the pairs people write as one joined ("m a" is "ma")."""
        out: list[str] = []
        for word in words:
            if out and (out[-1], word) in self.joined:
                out[-1] += word
            else:
                out.append(word)
        return out

    def unglued(self, word: str, rest_at_least: int = 2) -> tuple[str, str] | None:
        """A small word glued to the next without its apostrophe, and that next word:
        "lapl" is ("l", "apl"), "quil" ("qu", "il"); None for any other word."""
        if not word.startswith(self.elided) or word in self._not_glued:  # most words: one look
            return None
        for small in self.elided:
            if word.startswith(small) and len(word) - len(small) >= rest_at_least:
                return small, word[len(small) :]
        return None
