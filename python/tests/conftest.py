"""Shared helpers of the Python package's tests: the repository root, the `rubric` binary, and
running `rubric classify` to compare with the package."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "seeds" / "sample-article.txt"
ENCODINGS = ["code-point", "utf16", "utf8"]


def rubric_bin() -> Path:
    """The `rubric` binary: $RUBRIC_BIN, else target/debug/rubric, else target/release/rubric
    (under $CARGO_TARGET_DIR when set, then the workspace's target/)."""
    if os.environ.get("RUBRIC_BIN"):
        path = Path(os.environ["RUBRIC_BIN"])
        if not path.is_file():
            raise FileNotFoundError(f"RUBRIC_BIN={path} is not a file")
        return path
    targets = [ROOT / "target"]
    if os.environ.get("CARGO_TARGET_DIR"):
        targets.insert(0, Path(os.environ["CARGO_TARGET_DIR"]))
    for target in targets:
        for profile in ("debug", "release"):
            path = target / profile / "rubric"
            if path.is_file():
                return path
    raise FileNotFoundError(
        "no rubric binary: build it (cargo build) or set RUBRIC_BIN to its path"
    )


def run_cli(*args: str, stdin: str = None) -> str:
    """Runs `rubric ARGS` from the repository root; its standard output (it must succeed)."""
    done = subprocess.run(
        [str(rubric_bin()), *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert done.returncode == 0, f"rubric {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def cli_classify_jsonl(articles, *flags: str) -> list:
    """`rubric classify --jsonl FLAGS` on dicts {id, title, body}: one result per article."""
    lines = "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles)
    out = run_cli("classify", "--jsonl", *flags, stdin=lines)
    results = [json.loads(line) for line in out.splitlines()]
    assert len(results) == len(articles)
    return results


def plain_article(text: str):
    """(title, body) of a plain-text article as `rubric classify` splits it: the first line is
    the title when a blank line follows it."""
    if text.startswith("\ufeff"):
        text = text[1:]
    first, nl, rest = text.partition("\n")
    if nl:
        rest_trimmed = rest[1:] if rest.startswith("\r") else rest
        blank, nl2, body = rest_trimmed.partition("\n")
        if nl2 and blank.strip() == "" and first.strip() != "":
            return first.rstrip("\r"), body
    return "", text


@pytest.fixture(scope="session")
def engine():
    import rubric

    return rubric.Engine.default()
