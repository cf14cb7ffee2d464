"""The package gives exactly what `rubric classify` prints: on the seed article in every offset
encoding and with options, and on random Unicode text (hypothesis) against `--jsonl`."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ENCODINGS, SAMPLE, cli_classify_jsonl, plain_article, run_cli


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_sample_article_equals_the_cli(engine, encoding):
    expected = json.loads(
        run_cli("classify", "--offset-encoding", encoding, "seeds/sample-article.txt")
    )
    title, body = plain_article(SAMPLE.read_text(encoding="utf-8"))
    got = engine.classify(
        title, body, id="seeds/sample-article.txt", offset_encoding=encoding
    )
    assert got == expected
    assert any(t["label"] for t in got["topics"])
    assert sum(len(e["spans"]) for t in got["topics"] for e in t["evidence"]) > 10


def test_sample_article_with_options_equals_the_cli(engine):
    flags = [
        "--offset-encoding=codepoint",
        "--topic=aid",
        "--topic=diplomacy",
        "--min-score=0.5",
        "--explain=security.ceasefire",
        "--explain-candidates",
        "seeds/sample-article.txt",
    ]
    expected = json.loads(run_cli("classify", *flags))
    title, body = plain_article(SAMPLE.read_text(encoding="utf-8"))
    got = engine.classify(
        title,
        body,
        id="seeds/sample-article.txt",
        offset_encoding="codepoint",
        topics=["aid", "diplomacy"],
        min_score=0.5,
        explain_rules=["security.ceasefire"],
        explain_candidates=True,
    )
    assert got == expected
    assert got["explanations"][0]["ruleId"] == "security.ceasefire"
    assert {t["topic"] for t in got["topics"]} <= {"aid", "diplomacy"}


def test_no_evidence_equals_the_cli(engine):
    expected = json.loads(run_cli("classify", "--no-evidence", "seeds/sample-article.txt"))
    title, body = plain_article(SAMPLE.read_text(encoding="utf-8"))
    got = engine.classify(
        title, body, id="seeds/sample-article.txt", offset_encoding="utf8", evidence=False
    )
    assert got == expected
    assert all(t["evidence"] == [] for t in got["topics"])


# Words the default rules match, and Unicode that tests offsets and normalization: combining
# marks, curly quotes, emoji (outside the BMP; a ZWJ sequence), CJK, NBSP, soft hyphen.
WORDS = [
    "ceasefire",
    "cease\u00adfire",
    "aid convoys",
    "troops",
    "peace talks",
    "foreign minister",
    "humanitarian",
    "sanctions",
    "U.S.",
    "negotiations",
    "Security Council",
    "refugees",
    "Zürich",
    "Zu\u0308rich",
    "don\u2019t",
]
UNICODE = [
    "\u0301",
    "\u201c",
    "\u201d",
    "\u2019",
    "\U0001f600",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467",
    "\u505c\u706b",
    "\u00a0",
    "\u00ad",
    "\ufb01",
    "\r\n",
]
piece = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(UNICODE),
    st.text(max_size=8),
)
separator = st.sampled_from([" ", "", "\n", "-", "\u00a0", ", "])


@st.composite
def texts(draw):
    parts = draw(st.lists(st.tuples(piece, separator), max_size=12))
    return "".join(p + s for p, s in parts)


@st.composite
def articles(draw):
    title = draw(texts())
    # At least one word the rules know, so the article is never blank (the CLI refuses those).
    body = draw(texts()) + " " + draw(st.sampled_from(WORDS)) + " " + draw(texts())
    return {"title": title, "body": body}


def field_slice(article, field, start, end, encoding):
    text = article["title" if field == "ARTICLE_FIELD_TITLE" else "body"]
    if encoding in ("code-point", "codepoint"):
        return text[start:end]
    if encoding == "utf16":
        return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")
    return text.encode("utf-8")[start:end].decode("utf-8")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    batch=st.lists(articles(), min_size=1, max_size=12),
    encoding=st.sampled_from(ENCODINGS + ["codepoint"]),
)
def test_random_unicode_equals_the_cli(engine, batch, encoding):
    batch = [dict(a, id=f"a{i}") for i, a in enumerate(batch)]
    expected = cli_classify_jsonl(batch, "--offset-encoding", encoding)
    for article, want in zip(batch, expected):
        got = engine.classify(
            article["title"], article["body"], id=article["id"], offset_encoding=encoding
        )
        assert got == want
        for topic in got["topics"]:
            for evidence in topic["evidence"]:
                for s in evidence["spans"]:
                    assert field_slice(article, s["field"], s["start"], s["end"], encoding) == s["text"]
    assert engine.classify_many(batch, offset_encoding=encoding) == expected
