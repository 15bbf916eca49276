"""Build the extraction pipeline from ``extraction/pipeline.cfg`` (a ``spacy.blank("en")`` pipeline).

>>> nlp = build_pipeline()
>>> nlp.pipe_names
['sarcoma_sentences', 'sarcoma_entities', 'sarcoma_abbreviations', 'sarcoma_statistics', 'sarcoma_prognostic']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.util import load_config

import extraction.components  # noqa: F401  (registers the factories)

CONFIG_PATH = Path(__file__).with_name("pipeline.cfg")


def build_pipeline(config_overrides: dict[str, Any] | None = None) -> Language:
    """The pipeline defined by ``pipeline.cfg``; ``config_overrides`` use dotted keys
    (``{"components.sarcoma_entities.span_key": "x"}``, ``{"nlp.batch_size": 128}``).

    Nothing is downloaded: the pipeline has no trained weights.
    """
    config = load_config(CONFIG_PATH, overrides=dict(config_overrides or {}), interpolate=False)
    nlp = spacy.blank("en", config=config)
    return nlp
