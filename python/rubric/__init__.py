"""rubric: a rule-based news topic classifier, in process.

The Rust engine of the ``rubric`` command and service as a Python extension: the same rules, the
same matching, and the same results, as plain Python objects (the JSON that ``rubric classify``
prints, as dicts, lists, str, float, int and bool).

>>> import rubric
>>> engine = rubric.Engine.default()
>>> result = engine.classify(title="Ceasefire holds", body="Aid convoys reached the city.")
>>> [t["topic"] for t in result["topics"] if t["label"]]  # doctest: +SKIP

- ``Engine.default()``, ``Engine.from_file(path)``, ``Engine.from_str(toml, lists=None)``
- ``engine.classify(title, body, *, id, offset_encoding, topics, evidence, min_score,
  explain_rules, explain_candidates)`` and ``engine.classify_many(articles, ...)``
- ``engine.check()``, ``rubric.check(toml, lists=None)``: lint warnings and errors
- ``rubric.RuleError`` (a ``ValueError``): a rule set that does not load

Span offsets are code points by default (Python ``str`` indexes), end-exclusive.
"""

from typing import TYPE_CHECKING

from ._rubric import MAX_ARTICLE_BYTES, Engine, RuleError, check

__all__ = ["Engine", "RuleError", "check", "MAX_ARTICLE_BYTES"]

if TYPE_CHECKING:  # the result types exist for type checkers only (python/rubric/_rubric.pyi)
    from ._rubric import (  # noqa: F401
        Article,
        ArticleDict,
        Classification,
        Diagnostic,
        ExplanationNode,
        RuleEvidence,
        RuleExplanation,
        Span,
        Topic,
        TopicScore,
    )
