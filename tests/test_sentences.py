"""Sentence boundaries (extraction/sentences.py) and the sentence component."""

import spacy

from extraction.components.sentences import SentenceSplitter
from extraction.sentences import split_sentences


def _texts(text):
    return [text[s:e] for s, e in split_sentences(text)]


def test_no_break_at_abbreviations_and_decimals():
    t = ("Drug A vs. drug B gave HR 0·70 (95% CI 0.55–0.89; p<0·001), approx. 30 pts. as in Lee et al. "
         "Fig. 2 shows e.g. the curves. P = .017 was reported. Next sentence here.")
    got = _texts(t)
    assert got[0].endswith("the curves.")
    assert got[1] == "P = .017 was reported."
    assert got[2] == "Next sentence here."


def test_headings_and_blank_lines_split_and_offsets_point_into_text():
    t = "A title line\n\nRESULTS\nOf 90 patients, 45 were assigned. Median OS was 9 months."
    spans = split_sentences(t)
    assert [t[s:e] for s, e in spans] == ["A title line", "RESULTS", "Of 90 patients, 45 were assigned.",
                                        "Median OS was 9 months."]


def test_bullets_split():
    assert len(_texts("• first point\n• second point")) == 2


def test_empty_and_whitespace():
    assert split_sentences("") == [] and split_sentences("  \n ") == []


def test_component_sets_sent_starts():
    nlp = spacy.blank("en")
    doc = SentenceSplitter("s")(nlp.make_doc("One sentence here. Another one vs. that."))
    assert [s.text for s in doc.sents] == ["One sentence here.", "Another one vs. that."]
    assert doc._.sentences == [(0, 18), (19, 40)]


def test_component_sent_starts_are_the_tokens_that_start_a_sentence():
    import glob
    from pathlib import Path

    nlp = spacy.blank("en")
    splitter = SentenceSplitter("s")
    texts = [Path(p).read_text(encoding="utf-8") for p in sorted(glob.glob("/work/shared/gold/*/*.txt"))]
    texts += [" (lead) a.  B c.\n\nD", "x", "Last one ends here. A"]
    for text in texts:
        doc = splitter(nlp.make_doc(text))
        starts = {s for s, _ in doc._.sentences}
        want = [i == 0 or t.idx in starts for i, t in enumerate(doc)]
        assert [bool(t.is_sent_start) for t in doc] == want


def test_warm_tokenizer_gives_spacys_tokens_and_keeps_the_text():
    import glob
    import random
    from pathlib import Path

    from bench.bench_extraction import make_abstract
    from extraction.components.tokenizer import WarmTokenizer, doc_text
    from extraction.pipeline import build_pipeline

    nlp = build_pipeline()
    assert isinstance(nlp.tokenizer, WarmTokenizer)
    plain = spacy.blank("en").tokenizer
    rng = random.Random(3)
    texts = [Path(p).read_text(encoding="utf-8") for p in sorted(glob.glob("/work/shared/gold/*/*.txt"))]
    texts += [make_abstract(rng) for _ in range(200)]
    texts += ["  lead", "a  b\n\nc \n d\t e   ", "x ", " ", "", "can't U.S. e.g. :) 5pm (HR 0·77; p=.017)"]
    for text in texts * 2:  # the second pass reads spaCy's warmed cache
        doc = nlp.make_doc(text)
        assert [(t.text, t.whitespace_, t.norm_) for t in doc] == \
            [(t.text, t.whitespace_, t.norm_) for t in plain(text)]
        assert doc_text(doc) == text == doc.text


def _heading_breaks_by_regex(text):
    import re

    out = []
    for m in re.finditer(r"(?m)^[ \t]*([^\n]{1,60}?)[ \t]*\n(?=[ \t]*\S)", text):
        line = m.group(1)
        words = line.split()
        if (1 <= len(words) <= 6 and not re.search(r"[.,;:)\-]$", line) and line[:1].isupper()
                and not re.search(r"\d", line)):
            out.append(m.end())
    return out


def test_heading_breaks_line_by_line_equal_the_regex():
    import glob
    import random
    from pathlib import Path

    from extraction.sentences import _heading_breaks

    texts = [Path(p).read_text(encoding="utf-8") for p in sorted(glob.glob("/work/shared/gold/*/*.txt"))]
    rng = random.Random(11)
    alpha = ["\n", "\n\n", " ", "\t", "Results", "METHODS", "a", "B", "x.", ":", "-", "1", "\x0b", "\x0c", "É",
             "word " * 7, "Y" * 61, "\r", "\u2028", ".", "!", "?", ")", "'", "”", "• ", "– ", "vs.", "(", "0"]
    texts += ["".join(rng.choice(alpha) for _ in range(rng.randint(0, 25))) for _ in range(20000)]
    for text in texts:
        assert _heading_breaks(text) == _heading_breaks_by_regex(text), repr(text)
        assert split_sentences(text) == _split_by_loops(text), repr(text)


def _split_by_loops(text):
    """split_sentences with the character loops it had before it trimmed with str.strip."""
    import itertools
    import re

    from extraction.sentences import _RUN_ON, _is_abbrev, _title_line_end

    candidate = re.compile(r"[.!?](?:[\"'’”)\]]*)(?=\s+[\"'‘“(\[]?[A-Z0-9•\-–])|\n[ \t]*\n\s*|\n(?=[ \t]*[•▪●◦\-–*] )")
    cuts = {0, len(text)}
    for m in candidate.finditer(text):
        if not (text[m.start()] == "." and _is_abbrev(text, m.start())):
            cuts.add(m.end())
    for m in _RUN_ON.finditer(text):  # a period glued to the next sentence ("limited.Patients")
        if not _is_abbrev(text, m.start()):
            cuts.add(m.end())
    cuts.update(_heading_breaks_by_regex(text))
    cuts.add(_title_line_end(text) or 0)  # a title on the first line (tested on its own below)
    spans = []
    for s, e in itertools.pairwise(sorted(cuts)):
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


def test_a_first_line_title_is_its_own_sentence_but_a_wrapped_first_line_is_not():
    title = "Betacin for Advanced Leiomyosarcoma: A Phase II Trial\nPurpose We asked whether betacin works."
    assert len(split_sentences(title)) == 2
    wrapped = "In this phase II trial of betacin in patients with advanced leiomyosarcoma and\nPrior therapy, we asked."
    assert len(split_sentences(wrapped)) == 1
