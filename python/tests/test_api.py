"""The package's API: classify_many against classify, bad input, rule errors, check, topics."""

import os

import pytest

import rubric
from conftest import ROOT, SAMPLE, plain_article

ARTICLES = [
    {"id": "1", "title": "Ceasefire holds", "body": "Aid convoys reached the city. \U0001f600"},
    {"id": "2", "title": "", "body": "The foreign ministers met for peace talks in Geneva."},
    {"body": "Troops withdrew as the cease\u00adfire took hold.", "url": "not read"},
    ("Sanctions \u201cextended\u201d", "The Security Council voted on Tuesday."),
    {"id": "5"},
]

RULES = """
[rule_set]
name = "example"
version = "1"

[[topics]]
id = "diplomacy"

[[rules]]
id = "diplomacy.talks"
topic = "diplomacy"
query = '"peace talks" OR negotiat*'
"""


def as_kwargs(article):
    if isinstance(article, tuple):
        return {"title": article[0], "body": article[1]}
    return {k: article.get(k, "") for k in ("id", "title", "body")}


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"offset_encoding": "utf16"},
        {"offset_encoding": "utf8", "evidence": False},
        {"topics": ["aid", "security"], "min_score": 0.1},
        {"explain_rules": ["aid.convoys_workers"], "explain_candidates": True},
    ],
)
def test_classify_many_equals_classify_one_by_one(engine, options):
    one_by_one = [engine.classify(**as_kwargs(a), **options) for a in ARTICLES]
    assert engine.classify_many(ARTICLES, **options) == one_by_one
    # Any iterable, e.g. a generator; results in input order.
    assert engine.classify_many((a for a in ARTICLES), **options) == one_by_one
    assert [r["articleId"] for r in one_by_one] == ["1", "2", "", "", "5"]


def test_classify_many_in_order_on_many_articles(engine):
    articles = [{"id": str(i), "body": f"{i} troops and {i % 7} aid convoys"} for i in range(500)]
    results = engine.classify_many(articles)
    assert [r["articleId"] for r in results] == [str(i) for i in range(500)]
    assert results[123] == engine.classify(**articles[123])
    assert engine.classify_many([]) == []


def test_code_point_offsets_slice_python_strings(engine):
    title, body = plain_article(SAMPLE.read_text(encoding="utf-8"))
    result = engine.classify(title, body)
    assert result["offsetEncoding"] == "OFFSET_ENCODING_CODE_POINT"
    fields = {"ARTICLE_FIELD_TITLE": title, "ARTICLE_FIELD_BODY": body}
    spans = [s for t in result["topics"] for e in t["evidence"] for s in e["spans"]]
    assert spans
    for s in spans:
        assert fields[s["field"]][s["start"] : s["end"]] == s["text"]


def test_result_is_plain_python_objects(engine):
    result = engine.classify(body="Aid convoys reached the city.")

    def check(value):
        assert type(value) in (dict, list, str, float, int, bool), type(value)
        if isinstance(value, dict):
            for k, v in value.items():
                assert type(k) is str
                check(v)
        elif isinstance(value, list):
            for v in value:
                check(v)

    check(result)
    assert result["topics"][0]["topic"] == "aid"
    assert type(result["topics"][0]["score"]) is float


@pytest.mark.parametrize("name", ["title", "body", "id"])
@pytest.mark.parametrize("value", [None, b"bytes", 3, ["a"]])
def test_non_str_text_is_a_type_error(engine, name, value):
    with pytest.raises(TypeError, match=f"^{name} must be str, not "):
        engine.classify(**{name: value})


@pytest.mark.parametrize(
    "bad, message",
    [
        (None, r"articles\[1\] must be a dict"),
        ({"body": None}, r"articles\[1\]\['body'\] must be str, not None"),
        ({"title": b"x"}, r"articles\[1\]\['title'\] must be str, not bytes"),
        (("a", "b", "c"), r"not a tuple of 3 items"),
        (("a", 1), r"articles\[1\]\[1\] \(body\) must be str, not int"),
        ("just a string", r"articles\[1\] must be a dict"),
    ],
)
def test_classify_many_bad_articles_are_type_errors(engine, bad, message):
    with pytest.raises(TypeError, match=message):
        engine.classify_many([{"body": "troops"}, bad])


@pytest.mark.parametrize("articles", ["troops", {"body": "troops"}, 3, None])
def test_classify_many_needs_a_list(engine, articles):
    with pytest.raises(TypeError, match="articles must be a list"):
        engine.classify_many(articles)


def test_lone_surrogate_is_a_value_error(engine):
    with pytest.raises(ValueError, match="body is not valid Unicode text"):
        engine.classify(body="troops \ud800")
    with pytest.raises(ValueError, match=r"articles\[0\]\['title'\] is not valid Unicode"):
        engine.classify_many([{"title": "\udfff"}])


def test_size_limit(engine):
    limit = rubric.MAX_ARTICLE_BYTES
    assert limit == 64 * 1024 * 1024
    with pytest.raises(ValueError, match="larger than the limit of 67108864 bytes"):
        engine.classify(body="a" * (limit + 1))
    # Title and body together; UTF-8 bytes, not code points.
    with pytest.raises(ValueError, match="larger than the limit"):
        engine.classify(title="a" * (limit // 2), body="b" * (limit // 2 + 1))
    with pytest.raises(ValueError, match="larger than the limit"):
        engine.classify(body="\u00e9" * (limit // 2 + 1))
    with pytest.raises(ValueError, match=r"articles\[1\]: the article is larger"):
        engine.classify_many([{"body": "troops"}, ("a" * limit, "b")])
    # A moderate article well under the limit works, with offsets to its end.
    body = "Aid convoys reached the city. " * 100_000 + "troops"
    result = engine.classify(body=body, topics=["security"])
    spans = result["topics"][0]["evidence"][0]["spans"]
    assert spans[-1]["end"] == len(body)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"offset_encoding": "utf-8"}, ValueError, "offset_encoding: unknown encoding"),
        ({"offset_encoding": "CODE-POINT"}, ValueError, "offset_encoding: unknown encoding"),
        ({"topics": ["diplomcy"]}, ValueError, r"topics\[0\]: unknown topic .*did you mean `diplomacy`"),
        ({"topics": ["aid", "nope"]}, ValueError, r"topics\[1\]: unknown topic \"nope\"; the topics are: "),
        ({"topics": "aid"}, TypeError, r"topics must be a list of str, not a str"),
        ({"topics": [None]}, TypeError, r"topics\[0\] must be str, not None"),
        ({"explain_rules": ["aid.convoy_workers"]}, ValueError, r"did you mean `aid.convoys_workers`"),
        ({"explain_rules": 5}, TypeError, "explain_rules must be a list of str, not int"),
        ({"min_score": float("nan")}, ValueError, "min_score must be a finite number"),
        ({"min_score": float("inf")}, ValueError, "min_score must be a finite number"),
        ({"min_score": "1"}, TypeError, "min_score"),
        ({"evidence": "yes"}, TypeError, "evidence"),
    ],
)
def test_bad_options(engine, kwargs, error, message):
    with pytest.raises(error, match=message):
        engine.classify(body="troops", **kwargs)
    with pytest.raises(error, match=message):
        engine.classify_many([{"body": "troops"}], **kwargs)


def test_from_str_and_properties():
    engine = rubric.Engine.from_str(RULES)
    assert engine.name == "example"
    assert engine.version == "1"
    assert engine.topics == [
        {"id": "diplomacy", "name": "diplomacy", "description": "", "threshold": 1.0, "ruleCount": 1}
    ]
    result = engine.classify(body="Negotiations resumed.")
    assert result["topics"][0]["evidence"][0]["spans"][0]["text"] == "Negotiations"
    assert result["ruleSetVersion"] == "1"
    assert engine.check() == []
    assert rubric.check(RULES) == []
    assert "example" in repr(engine)


def test_default_engine_properties(engine):
    assert engine.name == "default"
    assert [t["id"] for t in engine.topics] == ["diplomacy", "security", "aid"]
    assert sum(t["ruleCount"] for t in engine.topics) > 100


def test_syntax_error_is_a_rule_error():
    text = RULES.replace("'\"peace talks\" OR negotiat*'", "'peace talks'")
    with pytest.raises(rubric.RuleError) as caught:
        rubric.Engine.from_str(text)
    error = caught.value
    assert isinstance(error, ValueError)
    message = str(error)
    assert "error[query-syntax]" in message
    assert "<string>:12:16 (rule diplomacy.talks)" in message
    assert "= help: " in message
    assert message.endswith("rule set rejected: 1 error(s)")
    [d] = error.diagnostics
    assert d["severity"] == "error"
    assert d["code"] == "query-syntax"
    assert (d["file"], d["line"], d["column"]) == ("<string>", 12, 16)
    assert d["rule"] == "diplomacy.talks"
    assert d["help"] and d["help"] in d["rendered"]
    # rubric.check reports the same without raising.
    assert rubric.check(text) == error.diagnostics


def test_check_reports_warnings_and_errors():
    lint = RULES + """
[[rules]]
id = "diplomacy.talks2"
topic = "diplomacy"
query = '"peace talks" OR negotiat*'
"""
    warnings = rubric.Engine.from_str(lint).check()
    assert warnings and all(w["severity"] == "warning" for w in warnings)
    assert "duplicate-query" in {w["code"] for w in warnings}
    assert rubric.check(lint) == warnings
    broken = lint + '\n[[rules]]\nid = "x"\ntopic = "nope"\nquery = "a"\n'
    found = rubric.check(broken)
    # Errors first, then the warnings, as `rubric check` prints them.
    assert [(d["severity"], d["code"], d["rule"], d["line"]) for d in found] == [
        ("error", "unknown-topic", "x", 21),
        ("warning", "duplicate-query", "diplomacy.talks2", 17),
    ]
    with pytest.raises(rubric.RuleError) as caught:
        rubric.Engine.from_str(broken)
    assert caught.value.diagnostics == found
    with pytest.raises(TypeError, match="toml must be str, not None"):
        rubric.check(None)


def test_lists_given_as_a_dict():
    text = RULES + """
[lists]
envoys = { file = "lists/envoys.txt" }

[[rules]]
id = "diplomacy.envoy"
topic = "diplomacy"
query = "@envoys"
"""
    engine = rubric.Engine.from_str(text, lists={"lists/envoys.txt": "special envoy\nmediator*\n"})
    span = engine.classify(body="A special envoy arrived.")["topics"][0]["evidence"][0]["spans"][0]
    assert (span["text"], span["list"], span["listEntry"]) == ("special envoy", "envoys", "special envoy")
    with pytest.raises(rubric.RuleError, match="given as text"):
        rubric.Engine.from_str(text)
    with pytest.raises(rubric.RuleError, match="not among the list files given in `lists`"):
        rubric.Engine.from_str(text, lists={"other.txt": "x"})
    with pytest.raises(TypeError):
        rubric.Engine.from_str(text, lists={"lists/envoys.txt": None})


def test_from_file(engine):
    loaded = rubric.Engine.from_file("seeds/rules.toml")
    title, body = plain_article(SAMPLE.read_text(encoding="utf-8"))
    assert loaded.classify(title, body) == engine.classify(title, body)
    assert rubric.Engine.from_file(ROOT / "seeds" / "rules.toml").version == engine.version


def test_from_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot read rule file .*missing.toml"):
        rubric.Engine.from_file(tmp_path / "missing.toml")
    with pytest.raises(OSError, match="not a regular file"):
        rubric.Engine.from_file(tmp_path)
    bad = tmp_path / "rules.toml"
    bad.write_bytes(b"[rule_set]\nname = \"\xff\"\n")
    with pytest.raises(OSError, match="not UTF-8: invalid byte at line 2"):
        rubric.Engine.from_file(bad)
    bad.write_text(RULES.replace("negotiat*", "negotiat* OR"), encoding="utf-8")
    with pytest.raises(rubric.RuleError, match=f"{bad}:12:39"):
        rubric.Engine.from_file(bad)
    with pytest.raises(TypeError):
        rubric.Engine.from_file(None)


def test_docstrings():
    for obj in [
        rubric,
        rubric.Engine,
        rubric.Engine.default,
        rubric.Engine.from_file,
        rubric.Engine.from_str,
        rubric.Engine.classify,
        rubric.Engine.classify_many,
        rubric.Engine.check,
        rubric.Engine.topics,
        rubric.Engine.version,
        rubric.Engine.name,
        rubric.RuleError,
        rubric.check,
    ]:
        assert obj.__doc__ and len(obj.__doc__) > 20, obj
    assert "end" in rubric.Engine.classify.__doc__ and "exclusive" in rubric.Engine.classify.__doc__
    stubs = os.path.join(os.path.dirname(rubric.__file__), "_rubric.pyi")
    assert os.path.exists(stubs)
    assert os.path.exists(os.path.join(os.path.dirname(rubric.__file__), "py.typed"))


def test_copies_are_the_engine_and_pickling_says_no():
    """The review case: copy.copy raised; an immutable engine's copy is itself. Pickling is not
    supported (the README says to build one per process) and must fail cleanly."""
    import copy
    import pickle

    engine = rubric.Engine.default()
    assert copy.copy(engine) is engine
    assert copy.deepcopy(engine) is engine
    with pytest.raises(TypeError):
        pickle.dumps(engine)
