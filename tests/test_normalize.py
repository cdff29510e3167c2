"""The string normalisation rule (``rjdb_bench/metrics/normalize.py``, ``docs/tasks.md``).

Every expected value below is written by hand from the rule: NFKC, lower-case, collapse
Unicode whitespace, strip surrounding punctuation (Unicode category P* plus ASCII
``string.punctuation``), keeping a leading ``.`` before a letter or digit and a trailing
``+``/``#`` run after one. Characters that are hard to see are written as escapes.
"""

from __future__ import annotations

import string
import sys
import unicodedata

import pytest

from rjdb_bench.metrics.normalize import normalize, normalized_list, normalized_set

CASES: list[tuple[str, str, str]] = [
    # (input, expected, what it shows)
    # ---- Pc: connector punctuation
    ("_Java_", "java", "Pc low line"),
    ("\u203fJava\u2040", "java", "Pc undertie / character tie"),
    ("\uff3fSQL\uff3f", "sql", "Pc full-width low line (NFKC -> _)"),
    ("snake_case", "snake_case", "Pc inside is kept"),
    # ---- Pd: dashes
    ("\u2014Go\u2014", "go", "Pd em dash"),
    ("\u2013 Go \u2013", "go", "Pd en dash"),
    ("\u2010Go\u2011", "go", "Pd hyphen, non-breaking hyphen"),
    ("\u2e3aGo\u2e3b", "go", "Pd two- and three-em dash"),
    ("\u301cGo\u301c", "go", "Pd wave dash"),
    ("- Customer Service.", "customer service", "Pd hyphen-minus as a bullet"),
    ("Project\u2014Management", "project\u2014management", "Pd inside is kept"),
    # ---- Ps / Pe: opening and closing brackets
    ("(PALS)", "pals", "Ps/Pe parentheses"),
    ("[Java]", "java", "Ps/Pe square brackets"),
    ("{Java}", "java", "Ps/Pe braces"),
    ("\u300cSQL\u300d", "sql", "Ps/Pe CJK corner brackets"),
    ("\u300eSQL\u300f", "sql", "Ps/Pe white corner brackets"),
    ("\u3010SQL\u3011", "sql", "Ps/Pe black lenticular brackets"),
    ("\u3008SQL\u3009", "sql", "Ps/Pe CJK angle brackets"),
    ("\u27e8SQL\u27e9", "sql", "Ps/Pe mathematical angle brackets"),
    ("\uff08Java\uff09", "java", "full-width parentheses (NFKC -> ASCII)"),
    ("\u201ePython\u201c", "python", "Ps low-9 quote + Pi left quote (German)"),
    ("\u201aPython\u2018", "python", "Ps single low-9 quote + Pi"),
    # ---- Pi / Pf: initial and final quotes
    ("\u00abJava\u00bb", "java", "Pi/Pf guillemets"),
    ("\u00bbJava\u00ab", "java", "Pf/Pi guillemets, reversed (Danish)"),
    ("\u2039R\u203a", "r", "Pi/Pf single guillemets"),
    ("\u201cTeamwork\u201d", "teamwork", "Pi/Pf double quotes"),
    ("\u2018Excel\u2019", "excel", "Pi/Pf single quotes"),
    ("Rock \u2019n\u2019 Roll", "rock \u2019n\u2019 roll", "Pf inside is kept"),
    # ---- Po: other punctuation
    ("\u00a1Excel!", "excel", "Po inverted exclamation"),
    ("\u00bfExcel?", "excel", "Po inverted question"),
    ('"Scala"', "scala", "Po ASCII double quote"),
    ("'Scala'", "scala", "Po apostrophe"),
    ('"Excel",', "excel", "Po quote and comma"),
    ("**Python**", "python", "Po asterisks (markdown bold)"),
    ("\u2022 Excel", "excel", "Po bullet"),
    ("\u00b7 Excel", "excel", "Po middle dot"),
    ("\u2023 Excel", "excel", "Po triangular bullet"),
    ("\u00a7 Excel \u00b6", "excel", "Po section and pilcrow signs"),
    ("\u2020Excel\u2021", "excel", "Po daggers"),
    ("Excel\u3002", "excel", "Po ideographic full stop"),
    ("Excel\u3001", "excel", "Po ideographic comma"),
    ("Excel\u060c", "excel", "Po Arabic comma"),
    ("Excel\u2026", "excel", "Po ellipsis (NFKC -> ...)"),
    ("#Java @Java", "java @java", "Po hash and at sign: only the ends"),
    ("%Java;", "java", "Po percent, semicolon"),
    ("/Java\\", "java", "Po slash, backslash"),
    ("Node.js.", "node.js", "Po inside is kept, the final full stop is not"),
    ("R&D", "r&d", "Po inside is kept"),
    ("\u00abJava\u00bb \u00abSQL\u00bb", "java\u00bb \u00absql", "only surrounding punctuation"),
    # ---- a stripped character takes its combining marks with it
    ("\u203eJava\u203e", "java", "overline (NFKC: space + U+0305)"),
    ("\u2017Java\u2017", "java", "double low line (NFKC: space + U+0333)"),
    ("\u00b4Java\u00b4", "java", "acute accent (Sk; NFKC: space + U+0301)"),
    ("(\u0301Java)\u0301", "java", "combining accent on a bracket"),
    ("Caf\u00e9.", "caf\u00e9", "a mark on a letter is kept"),
    ("Java \u0301SQL", "java \u0301sql", "a mark on an inner space is kept"),
    # ---- ASCII symbols of string.punctuation (category S*): stripped as before
    ("$Java$", "java", "Sc dollar"),
    ("<Java>", "java", "Sm less/greater"),
    ("=Java=", "java", "Sm equals"),
    ("^Java^", "java", "Sk circumflex"),
    ("`Java`", "java", "Sk backtick (markdown code)"),
    ("| Java |", "java", "Sm vertical bar (markdown table)"),
    ("~Java~", "java", "Sm tilde"),
    ("+ Java", "java", "Sm plus as a bullet"),
    # ---- non-ASCII symbols (S*) are not punctuation: kept
    ("\u00a9Java", "\u00a9java", "So copyright sign kept"),
    ("Java\u00ae", "java\u00ae", "So registered sign kept"),
    ("\u2192 Java", "\u2192 java", "Sm arrow kept"),
    ("\u2713 SQL", "\u2713 sql", "So check mark kept"),
    ("\u20ac100", "\u20ac100", "Sc euro sign kept"),
    ("C\u266f", "c\u266f", "So music sharp sign kept (not merged into C)"),
    ("Java\u2122", "javatm", "trade mark sign: NFKC makes it TM"),
    # ---- the skill-name refinement: C++, C#, F#, A+, .NET
    ("C++", "c++", "trailing ++ after a letter kept"),
    ("c++.", "c++", "full stop after C++ stripped"),
    ("(C#)", "c#", "trailing # after a letter kept"),
    ("F#", "f#", ""),
    ("A+", "a+", ""),
    ("(A+)", "a+", ""),
    ("C/C++", "c/c++", ""),
    ("\u00abC++\u00bb", "c++", "guillemets around C++"),
    ("\u201eC#\u201c", "c#", "German quotes around C#"),
    ("C++\u3002", "c++", "ideographic full stop after C++"),
    ("\u300cA+\u300d", "a+", "corner brackets around A+"),
    ("\uff23\uff03", "c#", "full-width C# (NFKC)"),
    ("\uff23\uff0b\uff0b", "c++", "full-width C++ (NFKC)"),
    (".NET", ".net", "leading . before a letter kept"),
    ("...NET", ".net", "only the last leading . is kept"),
    (".NET Core", ".net core", ""),
    ("(.NET)", ".net", ""),
    ("\u2014.NET\u2014", ".net", "em dashes around .NET"),
    ("\uff0eNET", ".net", "full-width full stop (NFKC -> .)"),
    (".5", ".5", "leading . before a digit kept"),
    (". Excel", "excel", "leading . before a space stripped"),
    ("a +", "a", "+ after a space is punctuation"),
    ("a#", "a#", ""),
    ("#C#", "c#", "leading # stripped, trailing kept"),
    # ---- NFKC
    ("\uff33\uff31\uff2c", "sql", "full-width letters"),
    ("\ufb01nance", "finance", "fi ligature"),
    ("\ufb02ask", "flask", "fl ligature"),
    ("\u2163", "iv", "Roman numeral four"),
    ("x\u00b2", "x2", "superscript two"),
    ("\u338f", "kg", "square kg"),
    ("\u2460 Excel", "1 excel", "circled digit one"),
    ("\uff76\uff9e", "\u30ac", "half-width katakana ka + voiced mark -> ga"),
    ("Cafe\u0301", "caf\u00e9", "combining accent composed"),
    # ---- case
    ("PROJECT Management", "project management", ""),
    ("\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2", "Greek capitals; final sigma"),
    ("Stra\u00dfe", "stra\u00dfe", "lower-case, not case-fold: sharp s stays"),
    ("\u0130stanbul", "i\u0307stanbul", "dotted capital I -> i + combining dot"),
    ("\u212aelvin", "kelvin", "Kelvin sign (NFKC -> K)"),
    # ---- whitespace
    ("  Project \t\n  Management  ", "project management", "ASCII whitespace"),
    ("Project\u00a0Management", "project management", "no-break space"),
    ("Project\u2003Management", "project management", "em space"),
    ("Project\u3000Management", "project management", "ideographic space"),
    ("Project\u202fManagement", "project management", "narrow no-break space"),
    ("Project\u2028\u2029Management", "project management", "line and paragraph separators"),
    ("Project\x85\x0b\x0cManagement", "project management", "NEL, VT, FF"),
    ("Project\u1680Management", "project management", "Ogham space mark"),
    ("\u3000Java\u00a0", "java", "leading/trailing Unicode spaces"),
    ("\u00ab Java \u00bb", "java", "spaces inside the guillemets"),
    # ---- strings that become empty
    ("", "", "empty"),
    ("   ", "", "spaces"),
    ("\u3000\u00a0\u2003", "", "Unicode spaces"),
    ("...", "", "full stops"),
    ("\u2026", "", "ellipsis"),
    ("!!!", "", ""),
    ("\u00ab\u00bb", "", "empty guillemets"),
    ("\u300c\u300d", "", "empty corner brackets"),
    ("\u2014", "", "em dash"),
    ("\u2022 \u00b7 \u2013", "", "bullets and a dash"),
    ("\u00a1!", "", ""),
    ("( )", "", ""),
    ("**", "", ""),
    ("`|`", "", "ASCII symbols"),
    ("+", "", "lone plus"),
    ("#", "", "lone hash"),
    ("++", "", ""),
    (".", "", ""),
    (" + ", "", ""),
    (". . .", "", ""),
]


@pytest.mark.parametrize(("raw", "expected", "why"), CASES, ids=[c[2] or c[0] for c in CASES])
def test_normalize(raw: str, expected: str, why: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(("raw", "expected", "why"), CASES, ids=[c[2] or c[0] for c in CASES])
def test_normalize_is_a_fixed_point(raw: str, expected: str, why: str) -> None:
    assert normalize(expected) == expected


def _code_points() -> list[str]:
    return [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]


def test_every_punctuation_character_is_stripped_around_a_word() -> None:
    punctuation = [c for c in _code_points() if unicodedata.category(c)[0] == "P"]
    punctuation += list(string.punctuation)
    assert len(punctuation) > 800  # every P* code point of the Unicode database, and ASCII
    kept = {c for c in punctuation if normalize(f"{c} java {c}") != "java"}
    assert kept == set()
    # With no space, a leading "." before a letter and a trailing "+"/"#" are kept (.NET, C#):
    # for the characters that are, or whose NFKC form is, a run of "." or one "#" (no P*
    # character's NFKC form is "+", which is a symbol).
    kept = {c for c in punctuation if normalize(f"{c}java{c}") != "java"}
    assert kept == set(".+#\u2024\u2025\u2026\ufe19\ufe30\ufe52\ufe5f\uff03\uff0e")
    assert {c for c in kept if unicodedata.normalize("NFKC", c).strip(".") == ""} == set(
        ".\u2024\u2025\u2026\ufe19\ufe30\ufe52\uff0e"
    )
    assert {normalize(f"{c}java{c}") for c in kept} == {".java", "java+", "java#"}


def test_non_ascii_symbols_are_not_stripped() -> None:
    symbols = [
        c
        for c in _code_points()
        if unicodedata.category(c)[0] == "S"
        and c not in string.punctuation
        and unicodedata.normalize("NFKC", c) == c
        and c.lower() == c
    ]
    assert len(symbols) > 5000
    assert [c for c in symbols if normalize(f"{c}java{c}") != f"{c}java{c}"] == []


def test_every_single_character_normalises_to_a_fixed_point() -> None:
    # All assigned characters except plain letters and digits (no NFKC or case mapping).
    for c in _code_points():
        category = unicodedata.category(c)
        if category in ("Cn", "Co") or (
            category[0] in "LN" and unicodedata.normalize("NFKC", c) == c == c.lower()
        ):
            continue
        once = normalize(f"({c}{c}.")
        assert normalize(once) == once, repr(c)


def test_c_cpp_csharp_and_dotnet_stay_distinct_under_any_quotes() -> None:
    variants = ["C", "\u00abC\u00bb", "C++", "\u201eC++\u201c", "C#", "\u300cC#\u300d", ".NET"]
    assert len({normalize(s) for s in variants}) == 4


def test_helpers_merge_variants_and_drop_pure_punctuation() -> None:
    items = ["\u00abJava\u00bb", "java", "\u201eJAVA\u201c", "\u2014", "\u300cSQL\u300d", "sql."]
    assert normalized_set(items) == {"java", "sql"}
    assert normalized_list(items) == ["java", "sql"]
