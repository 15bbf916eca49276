"""Text from documents and URLs shown literally: never parsed as markdown or HTML.

Streamlit renders ``st.markdown``, ``st.title``/``st.subheader``, ``st.caption``, the alert boxes
(``st.error`` …) and widget labels as markdown (GitHub-flavoured, with autolinks); Plotly renders a
subset of HTML (``<b>``, ``<a href>``) in hover text and tick labels. A document title
``![x](http://host/x)`` would load an image, ``[a](javascript:…)`` would be a link, ``**b**`` bold.
So every piece of untrusted text goes through one of these before it reaches the page:

* :func:`md` for markdown contexts: ASCII punctuation becomes numeric character references
  (CommonMark §2.5: "entity and numeric character references cannot be used in place of symbols
  indicating structure"), so the text shows as typed and forms no link, image, emphasis, HTML tag,
  autolink, heading or list; line breaks become spaces.
* :func:`html_text` for HTML that Streamlit renders inside markdown (``unsafe_allow_html=True``): the
  same references (they are valid HTML too), with line breaks as ``<br>`` so no blank line ever ends
  the HTML block and lets markdown parse the rest.
* :func:`plotly` for Plotly labels: ``html.escape`` (Plotly decodes ``&lt;`` … back to the character).

>>> md("**b** <b> [a](javascript:x)")
'&#42;&#42;b&#42;&#42; &#60;b&#62; &#91;a&#93;&#40;javascript&#58;x&#41;'
>>> html_text("a\\n\\n![x](y)")
'a<br><br>&#33;&#91;x&#93;&#40;y&#41;'
>>> plotly("<a href='j'>x</a>")
'&lt;a href=&#x27;j&#x27;&gt;x&lt;/a&gt;'
"""

from __future__ import annotations

import html
import re
import string
from typing import Any

_PUNCT = {ord(ch): f"&#{ord(ch)};" for ch in string.punctuation}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BREAK = re.compile(r"\r\n|\r|\n|\u2028|\u2029")


def _text(value: Any) -> str:
    return _CONTROL.sub("", "" if value is None else str(value))


def md(value: Any) -> str:
    """``value`` as markdown source that renders exactly as the text (one line)."""
    return _BREAK.sub(" ", _text(value)).translate(_PUNCT)


def html_text(value: Any) -> str:
    """``value`` as HTML text safe inside Streamlit's markdown-with-HTML (line breaks as ``<br>``)."""
    return _BREAK.sub("<br>", _text(value).translate(_PUNCT))


def plotly(value: Any) -> str:
    """``value`` as a Plotly label: escaped, so Plotly shows its tags as text and follows no link."""
    return html.escape(_BREAK.sub(" ", _text(value)))


__all__ = ["html_text", "md", "plotly"]
