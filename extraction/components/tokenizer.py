"""spaCy's English tokenizer with its piece cache kept warm (``@tokenizers = "sarcoma.Tokenizer.v1"``).

spaCy's tokenizer splits the text at whitespace and tokenizes every piece on its own (prefixes, suffixes,
infixes, special cases), remembering each piece's tokens in a cache. But once a piece of a document
needs a special case (``vs.``, ``e.g.``, ``:``), no later piece *of that document* is cached (spaCy
issue #1250 guard), so in a trial abstract most numbers (``0.62–0.95;``, ``(HR``) go through the Python
affix regexes on every document. Here each piece not seen before is first tokenized on its own, which
fills spaCy's cache with exactly the tokens spaCy gives that piece; the document is then tokenized by
spaCy itself. The tokens are therefore spaCy's, by construction (``tests/test_sentences.py`` compares
them on the gold texts and generated abstracts); only the time changes. The seen set and spaCy's cache
are emptied after ``limit`` pieces, so memory stays flat on a long stream.

The text as given is kept in ``doc.user_data`` (:func:`doc_text`), so components need not rebuild
``doc.text`` from the tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from spacy.language import Language
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex, registry

TEXT_KEY = "sarcoma_text"
#: Distinct pieces warmed before the caches are emptied, when spaCy does not say its cache size.
PIECE_LIMIT = 10_000


def doc_text(doc: Doc) -> str:
    """The text of ``doc`` (kept by the tokenizer; rebuilt from the tokens for any other Doc)."""
    text = doc.user_data.get(TEXT_KEY)
    if text is None:
        text = doc.text
    return text


def release_text(doc: Doc) -> None:
    """Drop the kept text (the last component calls it, so serialised Docs stay small)."""
    doc.user_data.pop(TEXT_KEY, None)


class WarmTokenizer:
    """spaCy's tokenizer, its piece cache warmed piece by piece; a drop-in ``nlp.tokenizer``."""

    def __init__(self, tokenizer: Any, limit: int | None = None) -> None:
        self.tokenizer = tokenizer
        self.vocab = tokenizer.vocab
        self.limit = limit or getattr(tokenizer, "max_cache_size", None) or PIECE_LIMIT
        self._seen: set[str] = set()

    def __call__(self, text: str) -> Doc:
        pieces = text.split()
        if not self._seen.issuperset(pieces):
            new = set(pieces) - self._seen
            if len(self._seen) + len(new) > self.limit:
                # spaCy stops caching at max_cache_size pieces: start afresh rather than stay cold
                self._seen.clear()
                self.tokenizer._flush_cache()
            tok = self.tokenizer
            for piece in new:
                tok(piece)
            self._seen |= new
        doc = self.tokenizer(text)
        doc.user_data[TEXT_KEY] = text
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        for text in texts:
            yield self(text)

    def __getattr__(self, name: str) -> Any:
        # rules, prefix_search, explain, to_bytes/from_bytes, to_disk/from_disk … of the wrapped tokenizer
        if name in ("tokenizer", "vocab", "limit", "_seen"):
            raise AttributeError(name)
        return getattr(self.tokenizer, name)


@registry.tokenizers("sarcoma.Tokenizer.v1")
def create_memo_tokenizer() -> Callable[[Language], WarmTokenizer]:
    """spaCy's default tokenizer for the language, its piece cache kept warm."""
    def make(nlp: Language) -> WarmTokenizer:
        # spaCy's ``spacy.Tokenizer.v1`` factory, built with the infixes below from the start (setting
        # ``infix_finditer`` afterwards would compile the infixes and load the special cases twice)
        d = nlp.Defaults
        # ``olaratumab+doxorubicin``: a plus between two words joins two agents, as in ``X + Y``
        infixes = [*(d.infixes or ()), r"(?<=[A-Za-z])\+(?=[A-Za-z])"]
        tok = Tokenizer(nlp.vocab, rules=d.tokenizer_exceptions,
                        prefix_search=compile_prefix_regex(d.prefixes).search if d.prefixes else None,
                        suffix_search=compile_suffix_regex(d.suffixes).search if d.suffixes else None,
                        infix_finditer=compile_infix_regex(infixes).finditer,
                        token_match=d.token_match, url_match=d.url_match)
        return WarmTokenizer(tok)

    return make
