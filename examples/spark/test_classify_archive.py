"""The Spark job against the CLI: every row of classify_archive.py's Parquet output equals what
``rubric classify --jsonl`` prints for the same article (ids, labels, scores exactly, evidence).

Runs the job as a user would (``python3 classify_archive.py --master local[2] ...``, a fresh
process each time) over ~3000 generated articles (seeded, so always the same: sentences of
seeds/sample-article.txt and of news-like sentences below, with curly quotes, accents and emoji),
as JSON Lines and as Parquet, with the embedded rules and with a rule file whose list files (one in
a subdirectory, one in a sibling directory) must be shipped to the executors; and over 2000
lines of the dev data at ../shared/data/dev when it is there (read in place, never copied into the
repo). The CLI is ``$RUBRIC_BIN``, else target/debug/rubric, else target/release/rubric (under
``$CARGO_TARGET_DIR`` or the repo root).

Needs pyspark, pandas, pyarrow, the ``rubric`` wheel and Java: outside CI a missing one skips
with the reason; in CI (``CI`` set) it fails.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
JOB = HERE / "classify_archive.py"
IN_CI = bool(os.environ.get("CI"))
DEV_DATA = REPO.parent / "shared" / "data" / "dev"
ARTICLES = 3000
DEV_LINES = 2000


def _missing(what: str):
    if IN_CI:
        pytest.fail(f"{what} (CI installs it: .ci/run)")
    pytest.skip(f"{what}; skipping the Spark tests", allow_module_level=True)


for _module in ("pyspark", "pandas", "pyarrow", "rubric"):
    try:
        importlib.import_module(_module)
    except ImportError:
        _missing(f"the Python package {_module} is not installed")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

sys.path.insert(0, str(HERE))
import classify_archive  # noqa: E402
from synthetic_corpus import generate, write_jsonl  # noqa: E402


def rubric_bin() -> str:
    if os.environ.get("RUBRIC_BIN"):
        return os.environ["RUBRIC_BIN"]
    roots = [Path(os.environ["CARGO_TARGET_DIR"])] if os.environ.get("CARGO_TARGET_DIR") else []
    roots.append(REPO / "target")
    for root in roots:
        for profile in ("debug", "release"):
            candidate = root / profile / "rubric"
            if candidate.is_file():
                return str(candidate)
    _missing("no rubric binary: set RUBRIC_BIN or run cargo build")


# ------------------------------------------------------------------------------------------------
# The generated corpus (synthetic_corpus.py), as JSON Lines and as Parquet
# ------------------------------------------------------------------------------------------------


def write_parquet(path: Path, articles: list[dict]) -> Path:
    """Missing title or body keys become nulls, which the job reads as ""."""
    table = pa.table(
        {
            "id": [a["id"] for a in articles],
            "title": [a.get("title") for a in articles],
            "body": [a.get("body") for a in articles],
        }
    )
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    articles = generate(ARTICLES)
    return {
        "articles": {a["id"]: a for a in articles},
        "jsonl": write_jsonl(tmp / "generated.jsonl", articles),
        "parquet": write_parquet(tmp / "generated.parquet", articles),
    }


# ------------------------------------------------------------------------------------------------
# Running the job and the CLI
# ------------------------------------------------------------------------------------------------


def run_job(*args: str) -> subprocess.CompletedProcess:
    # No PYSPARK_PYTHON: the job itself must make the workers run this interpreter (python3 on
    # PATH may have no pandas or rubric).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_")}
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    env["PYSPARK_SUBMIT_ARGS"] = (
        "--conf spark.ui.enabled=false --conf spark.sql.shuffle.partitions=4 pyspark-shell"
    )
    return subprocess.run(
        [sys.executable, str(JOB), "--master", "local[2]", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def classify_with_job(tmp: Path, input_path: Path, *args: str) -> list[dict]:
    out = tmp / "out"
    done = run_job("--input", str(input_path), "--output", str(out), *args)
    assert done.returncode == 0, f"the job failed ({done.returncode}):\n{done.stderr[-6000:]}"
    assert "classified " in done.stderr
    table = pq.read_table(out)
    expected = {
        "id": pa.string(),
        "labels": pa.list_(pa.string()),
        "scores": pa.map_(pa.string(), pa.float64()),
    }
    if "--evidence" in args:
        expected["evidence"] = pa.string()
    assert {f.name: f.type for f in table.schema} == expected
    rows = table.to_pylist()
    for row in rows:
        row["scores"] = dict(row["scores"])
    return rows


def classify_with_cli(input_path: Path, *, encoding: str, evidence: bool, rules=None) -> dict:
    cmd = [rubric_bin(), "classify", "--jsonl", "--offset-encoding", encoding]
    if rules:
        cmd += ["--rules", str(rules)]
    if not evidence:
        cmd.append("--no-evidence")
    done = subprocess.run(cmd + [str(input_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    by_id = {c["articleId"]: c for c in lines}
    assert len(by_id) == len(lines), "the corpus has duplicate ids"
    return by_id


def compare(rows: list[dict], expected: dict, *, evidence: bool) -> None:
    """Every row equals the CLI's classification of its article: nothing more, nothing less."""
    got = {r["id"]: r for r in rows}
    assert len(got) == len(rows), "the job wrote an id twice"
    assert got.keys() == expected.keys()
    mismatches = []
    for article_id, c in expected.items():
        row = got[article_id]
        want = {
            "id": article_id,
            "labels": [t["topic"] for t in c["topics"] if t["label"]],
            "scores": {t["topic"]: t["score"] for t in c["topics"]},
        }
        have = {"id": row["id"], "labels": row["labels"], "scores": row["scores"]}
        if evidence:
            want["evidence"] = [{"topic": t["topic"], "evidence": t["evidence"]} for t in c["topics"]]
            have["evidence"] = json.loads(row["evidence"])
        # Exact: the same engine gives the same floats, bit for bit.
        if have != want or any(
            repr(have["scores"][k]) != repr(v) for k, v in want["scores"].items()
        ):
            mismatches.append((have, want))
    assert not mismatches, (
        f"{len(mismatches)} of {len(expected)} rows differ from the CLI; the first:\n"
        + json.dumps(mismatches[0], ensure_ascii=False, indent=1)[:4000]
    )


def spans(rows: list[dict]):
    for row in rows:
        for topic in json.loads(row["evidence"]):
            for ev in topic["evidence"]:
                for span in ev["spans"]:
                    yield row["id"], topic["topic"], ev["ruleId"], span


def field_text(article: dict, span: dict) -> str:
    return article.get("title" if span["field"] == "ARTICLE_FIELD_TITLE" else "body", "")


def assert_labels_found(rows: list[dict], topics: set[str]) -> None:
    """Guards against a vacuous comparison: the rules fired, on many rows, for every topic."""
    labelled = [r for r in rows if r["labels"]]
    assert len(labelled) >= len(rows) // 5, f"only {len(labelled)} of {len(rows)} rows labelled"
    assert {t for r in rows for t in r["labels"]} == topics


# ------------------------------------------------------------------------------------------------
# The tests
# ------------------------------------------------------------------------------------------------

DEFAULT_TOPICS = {"aid", "diplomacy", "security"}


def test_jsonl_embedded_rules_code_points(corpus, tmp_path):
    rows = classify_with_job(tmp_path, corpus["jsonl"], "--evidence", "--partitions", "4")
    assert len(rows) == ARTICLES
    compare(rows, classify_with_cli(corpus["jsonl"], encoding="code-point", evidence=True), evidence=True)
    assert_labels_found(rows, DEFAULT_TOPICS)
    # Code-point offsets index Python strings: every span slices its own text out of the article.
    checked = 0
    for article_id, _, _, span in spans(rows):
        article = corpus["articles"][article_id]
        assert field_text(article, span)[span["start"] : span["end"]] == span["text"]
        checked += 1
    assert checked > ARTICLES


def test_parquet_embedded_rules_utf16(corpus, tmp_path):
    rows = classify_with_job(tmp_path, corpus["parquet"], "--evidence", "--offset-encoding", "utf16")
    assert len(rows) == ARTICLES
    compare(rows, classify_with_cli(corpus["jsonl"], encoding="utf16", evidence=True), evidence=True)
    assert_labels_found(rows, DEFAULT_TOPICS)
    # The encoding reached the engine: the offsets slice the UTF-16 text, and past an emoji they
    # are not code points.
    shifted = 0
    for article_id, _, _, span in spans(rows):
        units = field_text(corpus["articles"][article_id], span).encode("utf-16-le")
        assert units[span["start"] * 2 : span["end"] * 2].decode("utf-16-le") == span["text"]
        text = field_text(corpus["articles"][article_id], span)
        shifted += text[span["start"] : span["end"]] != span["text"]
    assert shifted > 0, "no span after an emoji: the corpus does not test the offsets"


CUSTOM_RULES = """\
[rule_set]
name = "spark-test"
version = "spark-test.1"

[[topics]]
id = "places"
threshold = 1.0

[[topics]]
id = "relief"
threshold = 1.0

[[rules]]
id = "places.named"
topic = "places"
query = '@places'

[[rules]]
id = "relief.orgs"
topic = "relief"
query = '@relief_orgs'
weight = 0.5

[[rules]]
id = "relief.words"
topic = "relief"
query = 'convoy* OR refugee* OR rations'
weight = 0.5

[lists]
places = { file = "lists/places.txt", description = "a list file in a subdirectory" }
relief_orgs = { file = "../common/relief_orgs.txt", description = "one beside the rules' directory" }
"""


def test_custom_rules_ship_with_their_lists(corpus, tmp_path):
    rules_dir = tmp_path / "rules"
    (rules_dir / "lists").mkdir(parents=True)
    (tmp_path / "common").mkdir()
    rules = rules_dir / "custom.toml"
    rules.write_text(CUSTOM_RULES, encoding="utf-8")
    (rules_dir / "lists" / "places.txt").write_text(
        "# places of the generated corpus\nVeloria\nKarsh\nOstin\nMaro\nGenève\nSão Paulo\nİzmir\n",
        encoding="utf-8",
    )
    (tmp_path / "common" / "relief_orgs.txt").write_text(
        "World Food Programme\nRed Cross\n{UNICEF}\nMédecins Sans Frontières\n", encoding="utf-8"
    )
    rows = classify_with_job(
        tmp_path, corpus["jsonl"], "--rules", str(rules), "--evidence", "--offset-encoding", "utf8"
    )
    compare(
        rows,
        classify_with_cli(corpus["jsonl"], encoding="utf8", evidence=True, rules=rules),
        evidence=True,
    )
    assert_labels_found(rows, {"places", "relief"})
    # Both list files reached the workers: each list fired (spans name the list they came from).
    lists_seen = {span.get("list") for _, _, _, span in spans(rows)}
    assert {"places", "relief_orgs"} <= lists_seen


def test_bad_rules_file_fails_with_its_position(tmp_path):
    rules = tmp_path / "bad.toml"
    rules.write_text(
        CUSTOM_RULES.replace("query = '@places'", "query = 'peace talks OR'").split("[lists]")[0],
        encoding="utf-8",
    )
    line = CUSTOM_RULES.splitlines().index("query = '@places'") + 1
    done = run_job("--input", "x.jsonl", "--output", str(tmp_path / "out"), "--rules", str(rules))
    assert done.returncode == 2, done.stderr
    assert f"bad.toml:{line}:" in done.stderr, done.stderr
    assert "places.named" in done.stderr
    assert not (tmp_path / "out").exists()


def dev_articles(limit: int) -> list[dict]:
    """`limit` articles (id, title, body only) from the dev files, shared out evenly among them
    (smallest file first, so a short one leaves its share to the others)."""
    files = sorted(DEV_DATA.glob("*.jsonl"), key=lambda p: (p.stat().st_size, p.name))
    seen, articles = set(), []
    for index, path in enumerate(files):
        quota = -(-(limit - len(articles)) // (len(files) - index))
        taken = 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                if taken == quota:
                    break
                if not line.strip():
                    continue
                a = json.loads(line)
                if a["id"] in seen or not (a.get("title") or a.get("body")):
                    continue
                seen.add(a["id"])
                articles.append({"id": a["id"], "title": a.get("title", ""), "body": a.get("body", "")})
                taken += 1
    assert len(articles) == limit, f"the dev data has only {len(articles)} usable lines"
    return articles


@pytest.mark.skipif(not DEV_DATA.is_dir(), reason=f"no dev data at {DEV_DATA}")
def test_dev_data_without_evidence(tmp_path):
    corpus = write_jsonl(tmp_path / "dev.jsonl", dev_articles(DEV_LINES))
    rows = classify_with_job(tmp_path, corpus, "--partitions", "3")
    assert len(rows) == DEV_LINES
    compare(rows, classify_with_cli(corpus, encoding="code-point", evidence=False), evidence=False)
    assert_labels_found(rows, DEFAULT_TOPICS)


def test_input_format_by_extension(tmp_path):
    assert classify_archive.input_format("a/corpus.jsonl", None) == "jsonl"
    assert classify_archive.input_format("a/corpus.ndjson.gz", None) == "jsonl"
    assert classify_archive.input_format("s3a://b/corpus.parquet/", None) == "parquet"
    assert classify_archive.input_format("whatever", "parquet") == "parquet"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "part-0.parquet").write_bytes(b"")
    (tmp_path / "d" / "_SUCCESS").write_bytes(b"")
    assert classify_archive.input_format(str(tmp_path / "d"), None) == "parquet"
    with pytest.raises(classify_archive.UsageError, match="give --input-format"):
        classify_archive.input_format(str(tmp_path / "corpus.txt"), None)


def test_articles_without_an_id_are_classified_with_an_empty_one(tmp_path):
    """The review case: a line without an id, or with a null one, failed the whole job."""
    path = tmp_path / "no-ids.jsonl"
    path.write_text(
        json.dumps({"title": "Ceasefire talks", "body": "Envoys met to negotiate."}) + "\n"
        + json.dumps({"id": None, "body": "Aid convoys reached the city."}) + "\n",
        encoding="utf-8",
    )
    rows = classify_with_job(tmp_path, path)
    assert [row["id"] for row in rows] == ["", ""]
    assert sorted(label for row in rows for label in row["labels"]) == ["aid", "diplomacy"]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d, "not a regular file"),
        (lambda d: (d / "binary.toml").write_bytes(b"\xff\xfe rules") and d / "binary.toml", "UTF-8"),
    ],
)
def test_unreadable_rules_exit_2_with_the_reason(tmp_path, make, message):
    """The review case: a directory was "no such file", a binary file a traceback (exit 1)."""
    done = run_job("--input", str(tmp_path / "x.jsonl"), "--output", str(tmp_path / "o"),
                   "--rules", str(make(tmp_path)))
    assert done.returncode == 2, done.stderr[-3000:]
    assert message in done.stderr
    assert "Traceback" not in done.stderr
