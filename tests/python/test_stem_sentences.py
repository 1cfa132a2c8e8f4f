"""data/stem_sentences.csv keeps the paper's CSV layout and the rules the project set for it."""
import collections
import csv
import pathlib
import re

CSV = pathlib.Path(__file__).resolve().parents[2] / "data" / "stem_sentences.csv"
CATEGORIES = {"short": (5, 12), "medium": (13, 20), "long": (21, 29), "very_long": (30, 38)}


def rows():
    with open(CSV, newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["text", "word_count", "focus_word", "predictability",
                                     "field", "category"]
        return list(reader)


def test_size_and_fields():
    data = rows()
    assert len(data) >= 300
    fields = collections.Counter(r["field"] for r in data)
    assert set(fields) == {"mathematics", "physics", "chemistry", "medicine"}
    assert min(fields.values()) >= 75
    assert len({r["text"] for r in data}) == len(data), "duplicate sentences"


def test_every_row_is_consistent():
    for i, r in enumerate(rows()):
        words = r["text"].split()
        assert int(r["word_count"]) == len(words), i
        low, high = CATEGORIES[r["category"]]
        assert low <= len(words) <= high, (i, r["category"], len(words))
        tokens = {re.sub(r"^\W+|\W+$", "", w) for w in words}
        assert r["focus_word"] in tokens, (i, r["focus_word"])
        assert 0.1 <= float(r["predictability"]) <= 1.5, i
        assert r["text"].isascii(), i
