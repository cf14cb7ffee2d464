#!/usr/bin/env python3
"""Classify a news archive with rubric on Spark (PySpark, ``mapInPandas`` over Arrow).

Reads a corpus of articles (JSON Lines or Parquet, columns ``id``, ``title``, ``body``; a missing
or null title or body is ""), classifies every article with the ``rubric`` Python package (the
same engine as ``rubric classify``), and writes Parquet with one row per article:

  id        string               the article's id
  labels    array<string>        the labelled topics, highest score first
  scores    map<string,double>   every topic of the rule set and its score
  evidence  string               with --evidence only: the JSON text of a list with one object per
                                 topic, ``{"topic": ID, "evidence": [...]}``, in the order of
                                 ``labels``/the engine (highest score first), each ``evidence``
                                 exactly the ``evidence`` array ``rubric classify`` prints for that
                                 topic (``ruleId``, ``weight``, ``spans`` with ``field``,
                                 ``start``, ``end``, ``text`` and, for list matches, ``list`` and
                                 ``listEntry``)

The engine is compiled once per Python worker process (a module-level cache keyed by the SHA-256
of the rule file and its list files), not once per batch or per row. ``--rules FILE`` ships the
rule file and every list file it names (``[lists] x = { file = "..." }``, paths relative to the
rule file) to the executors with ``SparkContext.addFile``; each worker rebuilds the same layout in
a private temporary directory from ``SparkFiles.get`` and loads the rules from there, so nothing
needs to be installed on the executors but the ``rubric`` wheel. Without ``--rules``, the rule set
embedded in the package (``seeds/rules.toml``) is used. The rules are loaded once on the driver
before Spark starts, so a bad rule file fails at once with rubric's own message (file, line,
column) and exit status 2.

Usage:
  python3 classify_archive.py --input corpus.jsonl --output out/ [options]
  spark-submit [spark options] classify_archive.py --input s3a://bucket/corpus/ \\
      --input-format parquet --output s3a://bucket/labels/ [options]

Options:
  --input PATH               a file, directory or glob Spark can read
  --input-format FMT         jsonl or parquet; by default from the extension of PATH (.jsonl,
                             .ndjson, .json, optionally .gz/.bz2/.zst; .parquet), or of the files
                             in a local directory
  --output DIR               Parquet output directory (must not exist, unless --overwrite)
  --overwrite                replace DIR if it exists
  --rules FILE               a rule file (its list files are shipped with it); default: the
                             embedded rules
  --evidence                 add the evidence column
  --offset-encoding ENC      utf8, utf16 or code-point (default code-point: offsets index Python
                             and Spark strings directly); also spelt codepoint
  --partitions N             repartition the input into N partitions before classifying
                             (at least 2-4x the total number of cores)
  --master URL               Spark master; default: what spark-submit gives, or local[*] when run
                             with plain python

Exit status: 0 on success; 2 on a usage error or a rule file that does not load; 1 when the Spark
job fails (a malformed JSON line fails the job: the reader runs in FAILFAST mode).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

OUTPUT_SCHEMA = "id string, labels array<string>, scores map<string,double>"
EVIDENCE_SCHEMA = OUTPUT_SCHEMA + ", evidence string"
INPUT_SCHEMA = "id string, title string, body string"

JSONL_EXTENSIONS = (".jsonl", ".ndjson", ".json")
COMPRESSION_EXTENSIONS = ("", ".gz", ".bz2", ".zst", ".lz4", ".snappy", ".deflate")

OFFSET_ENCODINGS = {"utf8": "utf8", "utf16": "utf16", "code-point": "code-point", "codepoint": "code-point"}


class UsageError(Exception):
    """A problem with the command line or its files: one line on stderr, exit status 2."""


# ------------------------------------------------------------------------------------------------
# Rules: what is shipped, and the per-process engine cache
# ------------------------------------------------------------------------------------------------


class RulesSpec:
    """What a worker needs to load the rules: picklable, small.

    ``key`` is the SHA-256 of the rule file and of every list file it names (path and content), or
    "default" for the embedded rules. ``files`` maps each shipped file's name in SparkFiles to its
    path relative to the staging root, and ``rules`` is the rule file's path relative to that root.
    """

    def __init__(self, key: str, rules: str | None = None, files: dict[str, str] | None = None):
        self.key = key
        self.rules = rules
        self.files = files or {}


def list_files_named(rules_path: str) -> list[str]:
    """The list-file paths (as written) that a rule file's ``[lists]`` table names."""
    try:
        import tomllib  # CPython 3.11 and later
    except ModuleNotFoundError:  # 3.9 and 3.10: the same parser, from PyPI
        try:
            import tomli as tomllib
        except ModuleNotFoundError as e:
            raise UsageError(
                "--rules on Python 3.9 or 3.10 needs the tomli package (pip install tomli)"
            ) from e

    with open(rules_path, "rb") as f:
        doc = tomllib.load(f)
    lists = doc.get("lists", {})
    paths = []
    if isinstance(lists, dict):
        for value in lists.values():
            if isinstance(value, dict) and isinstance(value.get("file"), str):
                paths.append(value["file"])
    return sorted(set(paths))


def stage_rules(rules_path: str) -> tuple[RulesSpec, list[tuple[str, str]]]:
    """Plans the shipping of a rule file and its list files.

    Returns the spec for the workers and the (local path, name in SparkFiles) pairs to add with
    ``addFile``. The layout below the staging root keeps every list file where the rule file
    expects it: the root is the deepest directory holding the rule file and all its (relative)
    list files, so ``lists/x.txt`` and ``../common/y.txt`` both work. A list file given by an
    absolute path is not shipped (the rule file would still name the absolute path): it must
    exist at that path on every executor; the job says so on stderr.
    """
    rules_abs = os.path.abspath(rules_path)
    rules_dir = os.path.dirname(rules_abs)
    relative, absolute = [], []
    for p in list_files_named(rules_abs):
        (absolute if os.path.isabs(p) else relative).append(p)
    for p in absolute:
        print(
            f"warning: {rules_path}: list file {p} is an absolute path: it is not shipped and must "
            "exist at that path on every executor",
            file=sys.stderr,
        )
    targets = [os.path.normpath(os.path.join(rules_dir, p)) for p in relative]
    root = os.path.commonpath([rules_dir] + [os.path.dirname(t) for t in targets])

    digest = hashlib.sha256()
    with open(rules_abs, "rb") as f:
        digest.update(f.read())
    for p in relative + absolute:
        full = os.path.normpath(os.path.join(rules_dir, p))
        digest.update(b"\0" + p.encode() + b"\0")
        with open(full, "rb") as f:
            digest.update(f.read())
    key = digest.hexdigest()

    # Names in SparkFiles are flat and global to the application: prefix them with the key and a
    # counter so that two list files called countries.txt in different directories do not clash.
    shipped, files = [], {}
    for i, local in enumerate([rules_abs] + targets):
        name = f"rubric-{key[:16]}-{i}-{os.path.basename(local)}"
        shipped.append((local, name))
        files[name] = os.path.relpath(local, root)
    return RulesSpec(key, os.path.relpath(rules_abs, root), files), shipped


_ENGINES: dict = {}


def engine_for(spec: RulesSpec):
    """The engine for ``spec``, compiled at most once per Python process."""
    engine = _ENGINES.get(spec.key)
    if engine is not None:
        return engine
    # classify_many runs on a thread pool (rayon) sized, when it is first used in the process,
    # from RAYON_NUM_THREADS or else the number of cores. Spark already runs one task per core
    # (spark.task.cpus each): give each worker's pool that many threads, not every core, unless
    # the environment says otherwise (spark.executorEnv.RAYON_NUM_THREADS).
    if "RAYON_NUM_THREADS" not in os.environ:
        from pyspark import TaskContext

        context = TaskContext.get()
        os.environ["RAYON_NUM_THREADS"] = str(context.cpus() if context else 1)
    import rubric

    if spec.rules is None:
        engine = rubric.Engine.default()
    else:
        from pyspark import SparkFiles

        staging = tempfile.mkdtemp(prefix="rubric-rules-")
        try:
            for name, rel in spec.files.items():
                dest = os.path.join(staging, rel)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copyfile(SparkFiles.get(name), dest)
            engine = rubric.Engine.from_file(os.path.join(staging, spec.rules))
        finally:
            # The engine has read the rule file and its lists: it keeps nothing open.
            shutil.rmtree(staging, ignore_errors=True)
    _ENGINES[spec.key] = engine
    return engine


# ------------------------------------------------------------------------------------------------
# The classification of one Arrow batch
# ------------------------------------------------------------------------------------------------


def make_classifier(spec: RulesSpec, offset_encoding: str, evidence: bool):
    """The function for ``mapInPandas``: pandas batches of (id, title, body) in, results out."""

    def classify_batches(batches):
        import pandas as pd

        engine = engine_for(spec)
        for pdf in batches:
            ids = pdf["id"].tolist()
            articles = [
                {"id": i, "title": t, "body": b}
                for i, t, b in zip(ids, pdf["title"].tolist(), pdf["body"].tolist())
            ]
            results = engine.classify_many(
                articles, offset_encoding=offset_encoding, evidence=evidence
            )
            if len(results) != len(articles):
                raise RuntimeError(
                    f"classify_many returned {len(results)} results for {len(articles)} articles"
                )
            labels, scores, evidences = [], [], []
            for article_id, result in zip(ids, results):
                if result["articleId"] != article_id:
                    raise RuntimeError(
                        f"classify_many out of order: {result['articleId']!r} for {article_id!r}"
                    )
                topics = result["topics"]
                labels.append([t["topic"] for t in topics if t["label"]])
                scores.append({t["topic"]: float(t["score"]) for t in topics})
                if evidence:
                    evidences.append(
                        json.dumps(
                            [{"topic": t["topic"], "evidence": t["evidence"]} for t in topics],
                            ensure_ascii=False,
                            separators=(",", ":"),
                        )
                    )
            out = pd.DataFrame({"id": ids, "labels": labels, "scores": scores})
            if evidence:
                out["evidence"] = evidences
            yield out

    return classify_batches


# ------------------------------------------------------------------------------------------------
# The job
# ------------------------------------------------------------------------------------------------


def input_format(path: str, given: str | None) -> str:
    if given:
        return given
    lowered = path.rstrip("/").lower()
    for compression in COMPRESSION_EXTENSIONS:
        if lowered.endswith(tuple(e + compression for e in JSONL_EXTENSIONS)):
            return "jsonl"
    if lowered.endswith(".parquet"):
        return "parquet"
    if os.path.isdir(path):
        names = [n.lower() for n in os.listdir(path) if not n.startswith((".", "_"))]
        if names and all(n.endswith(".parquet") for n in names):
            return "parquet"
        if names and all(
            n.endswith(tuple(e + c for e in JSONL_EXTENSIONS for c in COMPRESSION_EXTENSIONS))
            for n in names
        ):
            return "jsonl"
    raise UsageError(f"cannot tell the format of {path}: give --input-format jsonl or parquet")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="classify_archive.py",
        description="Classify a news archive with rubric on Spark; writes Parquet.",
    )
    parser.add_argument("--input", required=True, help="JSON Lines or Parquet corpus: file, directory or glob")
    parser.add_argument("--input-format", choices=["jsonl", "parquet"], help="default: by extension")
    parser.add_argument("--output", required=True, help="Parquet output directory")
    parser.add_argument("--overwrite", action="store_true", help="replace the output directory")
    parser.add_argument("--rules", help="rule file (default: the embedded rules)")
    parser.add_argument("--evidence", action="store_true", help="add the evidence column (JSON)")
    parser.add_argument(
        "--offset-encoding",
        "--offsets",
        default="code-point",
        choices=sorted(OFFSET_ENCODINGS),
        help="units of the evidence offsets (default code-point)",
    )
    parser.add_argument("--partitions", type=int, help="repartition into N partitions before classifying")
    parser.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    args = parser.parse_args(argv)
    if args.partitions is not None and args.partitions < 1:
        parser.error("--partitions must be at least 1")
    args.offset_encoding = OFFSET_ENCODINGS[args.offset_encoding]
    return args


def load_rules_on_driver(rules_path: str | None) -> RulesSpec:
    """Loads the rules once on the driver (a bad file fails here, before Spark starts)."""
    import rubric

    if rules_path is None:
        rubric.Engine.default()
        return RulesSpec("default"), []
    if not os.path.exists(rules_path):
        raise UsageError(f"cannot read {rules_path}: no such file")
    if not os.path.isfile(rules_path):
        raise UsageError(f"cannot read {rules_path}: not a regular file (give the rule file)")
    try:
        rubric.Engine.from_file(rules_path)
    except (rubric.RuleError, OSError) as e:
        # A rule error is rubric check's report; an OSError says why the file cannot be read
        # (not UTF-8 at LINE:COLUMN, too large).
        raise UsageError(str(e)) from e
    return stage_rules(rules_path)


def spark_session(master: str | None, app_name: str):
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    # Start (or join, under spark-submit) the JVM first so that SparkConf sees spark-submit's
    # settings; only then can "no master given" be told apart from "spark-submit gave one".
    SparkContext._ensure_initialized()
    conf = SparkConf()
    if master:
        conf.setMaster(master)
    elif not conf.contains("spark.master"):
        conf.setMaster("local[*]")
    if (
        conf.get("spark.master", "").startswith("local")
        and "PYSPARK_PYTHON" not in os.environ
        and not conf.contains("spark.pyspark.python")
    ):
        # Local mode with plain python: the workers run this interpreter (its venv has rubric,
        # pandas and pyarrow), not whatever python3 is first on PATH. SparkContext reads it from
        # the environment when it starts (spark-submit turns spark.pyspark.python into it).
        os.environ["PYSPARK_PYTHON"] = sys.executable
    conf.setIfMissing("spark.app.name", app_name)
    return SparkSession.builder.config(conf=conf).getOrCreate()


def read_corpus(spark, path: str, fmt: str):
    from pyspark.sql import functions as F

    if fmt == "jsonl":
        # An explicit schema: no inference pass over the corpus; other keys (url, labels) are
        # read past; a missing key is null. FAILFAST: a malformed line fails the job.
        df = spark.read.schema(INPUT_SCHEMA).option("mode", "FAILFAST").json(path)
    else:
        df = spark.read.parquet(path)
        if "id" not in df.columns:
            raise UsageError(f"{path}: no id column (columns: {', '.join(df.columns)})")
        for column in ("title", "body"):
            if column not in df.columns:
                df = df.withColumn(column, F.lit(None).cast("string"))
    # As `rubric classify --jsonl` reads an article: a missing or null id, title or body is "".
    return df.select(
        F.coalesce(F.col("id").cast("string"), F.lit("")).alias("id"),
        F.coalesce(F.col("title").cast("string"), F.lit("")).alias("title"),
        F.coalesce(F.col("body").cast("string"), F.lit("")).alias("body"),
    )


def run(args) -> int:
    fmt = input_format(args.input, args.input_format)
    spec, shipped = load_rules_on_driver(args.rules)

    spark = spark_session(args.master, "rubric classify_archive")
    outbox = None
    try:
        sc = spark.sparkContext
        if shipped:
            # addFile ships a file under its base name: copy each under its unique name first.
            outbox = tempfile.mkdtemp(prefix="rubric-ship-")
            for local, name in shipped:
                shutil.copyfile(local, os.path.join(outbox, name))
                sc.addFile(os.path.join(outbox, name))

        started = time.monotonic()
        df = read_corpus(spark, args.input, fmt)
        if args.partitions:
            df = df.repartition(args.partitions)
        schema = EVIDENCE_SCHEMA if args.evidence else OUTPUT_SCHEMA
        out = df.mapInPandas(make_classifier(spec, args.offset_encoding, args.evidence), schema)
        out.write.mode("overwrite" if args.overwrite else "errorifexists").parquet(args.output)
        seconds = time.monotonic() - started
        rows = spark.read.parquet(args.output).count()
        rate = rows / seconds if seconds > 0 else float("inf")
        print(
            f"classified {rows} articles in {seconds:.2f} s ({rate:.0f} articles/s, "
            f"{sc.master}, {sc.defaultParallelism} cores) -> {args.output}",
            file=sys.stderr,
        )
    finally:
        spark.stop()
        if outbox:
            shutil.rmtree(outbox, ignore_errors=True)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
