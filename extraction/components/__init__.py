"""Registered spaCy factories of the extraction pipeline (importing this module registers them).

The tokenizer ``sarcoma.Tokenizer.v1`` is spaCy's, with its cache kept warm (:mod:`.tokenizer`).

Each component is a thin class around pure module-level functions that can be tested alone:

* ``sarcoma_sentences`` — :mod:`extraction.sentences`;
* ``sarcoma_entities`` — vocabulary and pattern-file matching (:mod:`.entities`);
* ``sarcoma_abbreviations`` — abbreviations and arm labels defined in the text (:mod:`.abbreviations`);
* ``sarcoma_statistics`` — trial context and statistic assembly (:mod:`extraction.assembly`);
* ``sarcoma_prognostic`` — prognostic-factor statements (:mod:`extraction.prognostic`).
"""

from extraction.components import abbreviations, entities, mentions, prognostic, sentences, statistics, tokenizer

__all__ = ["abbreviations", "entities", "mentions", "prognostic", "sentences", "statistics", "tokenizer"]
