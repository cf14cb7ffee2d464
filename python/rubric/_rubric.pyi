"""Type stubs of rubric's native module (``rubric._rubric``), re-exported by ``rubric``.

The result types are the JSON that ``rubric classify`` prints, as Python objects: keys in
lowerCamelCase (protobuf's JSON mapping of the service contract), enum values by their contract
names. Span offsets are end-exclusive, in the units of ``offset_encoding``.
"""

import os
from collections.abc import Iterable
from typing import Literal, Optional, Sequence, Tuple, Union

from typing_extensions import NotRequired, TypedDict

OffsetEncodingName = Literal["code-point", "codepoint", "utf16", "utf8"]
"""``classify``'s ``offset_encoding``: code points (Python ``str`` indexes), UTF-16 code units or
UTF-8 bytes."""

Field = Literal["ARTICLE_FIELD_TITLE", "ARTICLE_FIELD_BODY"]

class Span(TypedDict):
    """A matched piece of the original text: ``text == field_text[start:end]`` with code-point
    offsets."""

    field: Field
    start: int
    """Start offset, inclusive, in the requested encoding, into the original field text."""
    end: int
    """End offset, exclusive, same unit."""
    text: str
    """The original text of the span, exactly as given."""
    list: NotRequired[str]
    """For a match of a named list (``@name`` in the rule): the list's name."""
    listEntry: NotRequired[str]
    """For a match of a named list: the entry that matched, as written in the list."""

class RuleEvidence(TypedDict):
    """A rule that fired and counted for its topic."""

    ruleId: str
    weight: float
    spans: list[Span]

class TopicScore(TypedDict):
    """One topic's result."""

    topic: str
    score: float
    """Sum of the weights of the rules that counted."""
    confidence: float
    """``score / (score + threshold)`` for a positive score, else 0: in [0, 1), 0.5 at the
    threshold."""
    label: bool
    """``score >= threshold``."""
    evidence: list[RuleEvidence]
    """The rules that counted, highest weight first; empty with ``evidence=False``."""

class ExplanationNode(TypedDict):
    """One node of a rule's query, with its truth value on the article and why."""

    operator: Literal[
        "QUERY_OPERATOR_OR",
        "QUERY_OPERATOR_AND",
        "QUERY_OPERATOR_NOT",
        "QUERY_OPERATOR_NEAR",
        "QUERY_OPERATOR_FIELD_SCOPE",
        "QUERY_OPERATOR_LITERAL",
    ]
    query: str
    satisfied: bool
    reason: str
    spans: NotRequired[list[Span]]
    operands: NotRequired[list["ExplanationNode"]]

class RuleExplanation(TypedDict):
    """Why one rule fired or did not fire on an article."""

    ruleId: str
    topic: str
    fired: bool
    summary: str
    query: ExplanationNode

class Classification(TypedDict):
    """What ``classify`` returns: ``rubric classify``'s JSON for the article."""

    articleId: str
    topics: list[TopicScore]
    """Sorted by score, highest first, then by id."""
    ruleSetVersion: str
    offsetEncoding: Literal[
        "OFFSET_ENCODING_CODE_POINT", "OFFSET_ENCODING_UTF16", "OFFSET_ENCODING_UTF8"
    ]
    explanations: NotRequired[list[RuleExplanation]]
    """Only with ``explain_rules`` or ``explain_candidates``."""

class Diagnostic(TypedDict):
    """A problem of a rule set, as ``rubric check`` reports it."""

    severity: Literal["error", "warning"]
    code: str
    """A stable short name of the kind of problem (``query-syntax``, ``duplicate-id``, ...)."""
    message: str
    rule: Optional[str]
    topic: Optional[str]
    file: Optional[str]
    """The rule file's path, or ``<string>`` for rule text given as a string."""
    line: Optional[int]
    """1-based."""
    column: Optional[int]
    """1-based, in code points."""
    help: Optional[str]
    rendered: str
    """The diagnostic as ``rubric check`` prints it (with the source line and a caret)."""

class Topic(TypedDict):
    """A topic of the rule set (``Engine.topics``)."""

    id: str
    name: str
    description: str
    threshold: float
    ruleCount: int

class ArticleDict(TypedDict, total=False):
    """An article for ``classify_many``; a missing key means ``""``, other keys are not read."""

    id: str
    title: str
    body: str

Article = Union[ArticleDict, dict[str, str], Tuple[str, str]]

MAX_ARTICLE_BYTES: int
"""Largest article ``classify`` accepts: 64 MiB (67108864) UTF-8 bytes of title and body."""

class RuleError(ValueError):
    """A rule set that does not load. ``str(error)`` is the full report as ``rubric check``
    prints it (file, line, column, source line, help)."""

    diagnostics: list[Diagnostic]
    """Every problem, errors first."""

class Engine:
    """A compiled rule set, ready to classify articles; immutable and thread-safe. Classifying
    releases the GIL."""

    @staticmethod
    def default() -> Engine:
        """The default rule set (``seeds/rules.toml`` and its list files), embedded."""
    @staticmethod
    def from_file(path: Union[str, os.PathLike[str]]) -> Engine:
        """A rule file and the list files it names, read beside it (as ``rubric classify
        --rules PATH`` loads it). Raises ``FileNotFoundError``/``OSError`` when the file cannot be
        read, ``RuleError`` when the rules do not load."""
    @staticmethod
    def from_str(toml: str, lists: Optional[dict[str, str]] = None) -> Engine:
        """Rule text, named ``<string>`` in diagnostics; ``lists`` maps list file paths, as the
        rules name them, to their text. Raises ``RuleError`` when the rules do not load."""
    def classify(
        self,
        title: str = "",
        body: str = "",
        *,
        id: str = "",
        offset_encoding: OffsetEncodingName = "code-point",
        topics: Optional[Sequence[str]] = None,
        evidence: bool = True,
        min_score: Optional[float] = None,
        explain_rules: Optional[Sequence[str]] = None,
        explain_candidates: bool = False,
    ) -> Classification:
        """Classifies one article: ``rubric classify``'s JSON as Python objects. Raises
        ``TypeError`` for a title, body or id that is not a ``str``, ``ValueError`` for an
        unknown offset encoding, topic or rule id, a non-finite ``min_score``, or an article over
        ``MAX_ARTICLE_BYTES``."""
    def classify_many(
        self,
        articles: Iterable[Article],
        *,
        offset_encoding: OffsetEncodingName = "code-point",
        topics: Optional[Sequence[str]] = None,
        evidence: bool = True,
        min_score: Optional[float] = None,
        explain_rules: Optional[Sequence[str]] = None,
        explain_candidates: bool = False,
    ) -> list[Classification]:
        """Classifies many articles on all cores with the GIL released; results in input
        order. Raises as ``classify`` does, naming the article."""
    def check(self) -> list[Diagnostic]:
        """The rule set's lint warnings."""
    @property
    def topics(self) -> list[Topic]:
        """The topics, in rule file order."""
    @property
    def version(self) -> str:
        """``rule_set.version``."""
    @property
    def name(self) -> str:
        """``rule_set.name``."""

def check(toml: str, lists: Optional[dict[str, str]] = None) -> list[Diagnostic]:
    """Every error and warning of rule text, errors first, without raising (empty when clean)."""
