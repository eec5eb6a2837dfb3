"""Put text that comes from outside (subtitle lines, episode and file names, error
messages) into Markdown so that it renders as the text itself, nothing else.

The Prefect UI renders markdown artifacts, table cells, artifact descriptions and the
review form's description as Markdown with raw HTML: a subtitle line such as
``[Open](javascript:alert(1))`` or ``<img src=x onerror=...>`` would otherwise become a
link, an image or HTML in the reviewer's browser.
"""

from __future__ import annotations

import re

#: the ASCII punctuation Markdown (CommonMark + GFM) can act on: escaped, none of it
#: opens a link, image, emphasis, code span, HTML tag, entity, table cell or autolink
#: (``http\://``, ``www\.``, ``a\@b`` no longer match one). Commas, quotes, ``/``, ``?``
#: and the like stay as they are, so the text reads the same in plain-text views.
_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&:@$=^])")
_LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")


def escape_markdown(text: str, *, newline: str = " / ") -> str:
    """``text`` as literal Markdown inline text: on one line (line breaks become
    ``newline``), with every character that Markdown or HTML could act on escaped.

    Safe in a paragraph, a heading, a list item and a table cell (``|`` is escaped too).
    """
    flat = _LINE_BREAKS.sub(newline, str(text).strip())
    return _PUNCTUATION.sub(r"\\\1", flat.replace("\x00", "\ufffd"))


def code_span(text: str) -> str:
    """``text`` (one line) as an inline code span: shown verbatim, whatever it contains
    (the fence is longer than any run of backticks inside, as CommonMark allows)."""
    flat = _LINE_BREAKS.sub(" ", str(text).strip())
    runs = [len(run) for run in re.findall(r"`+", flat)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"
