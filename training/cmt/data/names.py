"""Made-up names for the synthetic workspace, and the held-out partitions behind them.

Entity names (and the other made-up words: database names, hosts, channels) are built from
syllables whose first one belongs to one split, and people's first names are partitioned between
the splits, so a dev/test name never occurs in train. Answer values are partitioned by a stable hash
(`value_split`), independent of any seed.
"""
from __future__ import annotations

import random
import zlib
from collections.abc import Sequence


def value_split(s: str) -> str:
    """Stable split assignment of an answer string: 70% train, 15% dev, 15% test."""
    h = zlib.crc32(("cmt-ws-v1|" + s).encode("utf-8")) % 20
    return "train" if h < 14 else ("dev" if h < 17 else "test")


def partition(items: Sequence[str], salt: str) -> dict[str, list[str]]:
    """Deterministic 70/15/15 partition of a list (independent of any seed)."""
    items = sorted(set(items))
    random.Random(salt).shuffle(items)
    n = len(items)
    a, b = int(round(n * 0.70)), int(round(n * 0.85))
    return {"train": items[:a], "dev": items[a:b], "test": items[b:]}


_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr",
           "kr", "tr", "pl", "gl", "st", "sk", "th", "sh", "ch", "fl", "gr", "pr", "h", "j"]
_VOWELS = ["a", "e", "i", "o", "u"]
_CODAS = ["", "", "", "n", "r", "l", "s", "x", "m"]
# The split of a made-up word is decided by its prefix up to the first vowel (onset + vowel), which
# parses uniquely, so no word can be produced by two splits.
_FIRST_CV = partition([o + v for o in _ONSETS for v in _VOWELS], "first-syllables")
_FIRST = {s: [cv + c for cv in _FIRST_CV[s] for c in ("", "n", "r", "l")] for s in _FIRST_CV}
_MID_SYLS = [o + v for o in ["b", "d", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "g", "f"]
             for v in _VOWELS]
_ENDINGS = ["", "", "", "a", "o", "ix", "en", "is", "us", "on", "ar", "el", "io", "ex"]

_FIRST_NAMES = [
    "Priya", "Marcus", "Elena", "Tomas", "Aisha", "Kenji", "Sofia", "Daniel", "Ingrid", "Rahul",
    "Chloe", "Mateo", "Yuki", "Omar", "Hannah", "Lucas", "Amara", "Felix", "Nadia", "Oliver",
    "Zara", "Diego", "Freya", "Hugo", "Leila", "Jonas", "Mira", "Samir", "Clara", "Viktor",
    "Anya", "Bruno", "Carmen", "Dmitri", "Esther", "Farid", "Greta", "Hamid", "Iris", "Jasper",
    "Kira", "Lorenzo", "Maya", "Nikolai", "Olga", "Pablo", "Quinn", "Rosa", "Stefan", "Tara",
    "Uma", "Valentin", "Wendy", "Xavier", "Yara", "Zoltan", "Agnes", "Bilal", "Cyrus", "Dalia",
    "Emil", "Fatima", "Gideon", "Helga", "Ivo", "Jana", "Kofi", "Lena", "Milo", "Noor",
    "Otto", "Petra", "Rafael", "Selma", "Theo", "Ursula", "Vera", "Wiktor", "Yusuf", "Zelda",
    "Arjun", "Bea", "Cosmin", "Dunja", "Elif", "Fern", "Goran", "Hedda", "Ines", "Joaquin",
    "Karin", "Luca", "Mei", "Nils", "Orla", "Pavel", "Rhea", "Soren", "Tilde", "Uri",
]
LAST_NAMES = [
    "Raman", "Okafor", "Lindqvist", "Novak", "Haddad", "Tanaka", "Moreau", "Fischer", "Costa",
    "Kowalski", "Nguyen", "Alvarez", "Brennan", "Sato", "Petrov", "Osei", "Larsen", "Ibrahim",
    "Weber", "Rossi", "Kaur", "Schmidt", "Dubois", "Mensah", "Horvat", "Jansen", "Yilmaz",
    "Castillo", "Park", "Silva", "Ahmed", "Berg", "Cohen", "Demir", "Eriksen", "Fontaine",
    "Gallo", "Hoffmann", "Ito", "Jovanovic", "Keller", "Lopez", "Meyer", "Nakamura", "Ortiz",
    "Popescu", "Quist", "Reyes", "Stein", "Takahashi", "Ueda", "Vargas", "Wagner", "Xu", "Zhou",
]
PEOPLE_FIRST = partition(_FIRST_NAMES, "first-names")


def word(rng: random.Random, split: str) -> str:
    """A made-up word; its first syllable belongs to the split's inventory."""
    w = rng.choice(_FIRST[split])
    r = rng.random()
    if r < 0.55:
        w += rng.choice(_MID_SYLS)
    elif r < 0.9:
        w += rng.choice(_MID_SYLS) + rng.choice(_MID_SYLS)
    return w + rng.choice(_ENDINGS) if len(w) < 7 else w

