//! `rubric._rubric`: rubric's engine as a CPython extension module (PyO3, abi3 for CPython 3.9+),
//! imported by the Python package `rubric` (`python/rubric/__init__.py`).
//!
//! The binding is thin: it checks and converts what Python passes in, calls
//! [`rubric_engine::Engine`], and converts what the engine returns with serde ([`pythonize`]) from
//! the same [`ClassificationJson`] that `rubric classify` prints, so a result in Python is the
//! CLI's JSON as Python objects, field for field. Everything else (matching, scoring, offsets,
//! diagnostics) is the engine's.
//!
//! Errors never panic into Python: rule sets that do not load raise `rubric.RuleError` (a
//! `ValueError`), unreadable files `OSError` (`FileNotFoundError` when missing), arguments of the
//! wrong type `TypeError`, bad values `ValueError`.

use std::collections::HashMap;
use std::path::PathBuf;

use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use rayon::prelude::*;
use serde::Serialize;

use rubric_engine::rules::diagnostic::closest;
use rubric_engine::rules::{ListFiles, NoListFiles};
use rubric_engine::{
    Article, ClassificationJson, ClassifyOptions, Diagnostic, Engine, EngineLoadError,
    OffsetEncoding, RuleSetError, Severity,
};

/// Largest article, in UTF-8 bytes of title and body together: 64 MiB, the largest article file
/// `rubric classify` reads. A larger one raises `ValueError`.
pub const MAX_ARTICLE_BYTES: usize = 64 << 20;

/// The name rule text given as a string (`Engine.from_str`, `rubric.check`) has in diagnostics.
pub const STRING_ORIGIN: &str = "<string>";

pyo3::create_exception!(
    rubric,
    RuleError,
    PyValueError,
    "A rule set that does not load.\n\n\
     ``str(error)`` is the full report as ``rubric check`` prints it: every problem with its \
     file, line and column (``<string>:LINE:COLUMN`` for rule text given as a string), the \
     source line, and help. ``error.diagnostics`` is the same as a list of dicts (see \
     ``rubric.check``)."
);

/// A compiled rule set, ready to classify articles.
///
/// Build one with ``Engine.default()``, ``Engine.from_file(path)`` or
/// ``Engine.from_str(toml, lists)``; it is immutable and safe to share between threads.
/// Classifying releases the GIL.
#[pyclass(frozen, module = "rubric", name = "Engine")]
struct PyEngine {
    engine: Engine,
}

/// A text argument (title, body, id) as Python passed it, checked when used so that the error
/// names the argument: anything is accepted here, and only a `str` is accepted by [`Self::text`].
struct TextArg<'py>(Option<Bound<'py, PyAny>>);

impl<'a, 'py> FromPyObject<'a, 'py> for TextArg<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(TextArg(Some(obj.to_owned())))
    }
}

impl TextArg<'_> {
    /// The argument's text (`""` when it was not given); `name` names it in errors.
    fn text(&self, name: &dyn Fn() -> String) -> PyResult<String> {
        match &self.0 {
            None => Ok(String::new()),
            Some(obj) => text_of(obj, name),
        }
    }
}

/// The text of a Python `str` (or subclass).
///
/// # Errors
/// `TypeError` for anything else (`None`, `bytes`, numbers), `ValueError` for a `str` longer than
/// [`MAX_ARTICLE_BYTES`] or holding a lone surrogate (not valid Unicode text).
fn text_of(obj: &Bound<'_, PyAny>, name: &dyn Fn() -> String) -> PyResult<String> {
    let Ok(s) = obj.cast::<PyString>() else {
        return Err(PyTypeError::new_err(format!(
            "{} must be str, not {}",
            name(),
            type_name(obj)
        )));
    };
    // Code points are at most UTF-8 bytes: a string longer than the limit in code points is
    // refused before it is copied.
    if s.len()? > MAX_ARTICLE_BYTES {
        return Err(too_large(&name()));
    }
    match s.to_cow() {
        Ok(text) => Ok(text.into_owned()),
        Err(_) => Err(PyValueError::new_err(format!(
            "{} is not valid Unicode text (it holds a lone surrogate)",
            name()
        ))),
    }
}

/// The `ValueError` for an article over [`MAX_ARTICLE_BYTES`]; `what` names it.
fn too_large(what: &str) -> PyErr {
    PyValueError::new_err(format!(
        "{what}: the article is larger than the limit of {MAX_ARTICLE_BYTES} bytes (64 MiB of \
         title and body, in UTF-8)"
    ))
}

/// The name of an object's type, for messages (`None` for `None`).
fn type_name(obj: &Bound<'_, PyAny>) -> String {
    if obj.is_none() {
        return "None".to_owned();
    }
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "an object of another type".to_owned())
}

/// An article's texts, owned, so it can be classified with the GIL released.
struct OwnedArticle {
    id: String,
    title: String,
    body: String,
}

impl OwnedArticle {
    /// Checks the size limit; `what` names the article in the error.
    fn new(id: String, title: String, body: String, what: &str) -> PyResult<OwnedArticle> {
        if title.len() + body.len() > MAX_ARTICLE_BYTES {
            return Err(too_large(what));
        }
        Ok(OwnedArticle { id, title, body })
    }

    fn article(&self) -> Article<'_> {
        Article {
            id: &self.id,
            title: &self.title,
            body: &self.body,
        }
    }
}

/// Parses `offset_encoding` as the CLI's `--offset-encoding` does.
fn parse_encoding(name: &str) -> PyResult<OffsetEncoding> {
    match name {
        "utf8" => Ok(OffsetEncoding::Utf8),
        "utf16" => Ok(OffsetEncoding::Utf16),
        "code-point" | "codepoint" => Ok(OffsetEncoding::CodePoint),
        _ => Err(PyValueError::new_err(format!(
            "offset_encoding: unknown encoding {:?}; use \"code-point\" (Python str indexes, the \
             default), \"utf16\" (UTF-16 code units) or \"utf8\" (UTF-8 bytes)",
            name
        ))),
    }
}

/// A list of `str` from a list, tuple or other iterable of them (not a `str` itself, which would
/// be read as its characters); `name` names the argument in errors.
fn str_list(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Vec<String>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a list of str, not a str (write [{:?}])",
            obj.to_string()
        )));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a list of str, not {}",
            type_name(obj)
        ))
    })?;
    let mut out = Vec::new();
    for (i, item) in iter.enumerate() {
        out.push(text_of(&item?, &|| format!("{name}[{i}]"))?);
    }
    Ok(out)
}

/// Builds the engine's options from `classify`'s keyword arguments, and checks every topic and
/// rule id they name against the rule set (with the closest id as a hint), before any article is
/// read.
#[allow(clippy::too_many_arguments)]
fn options(
    engine: &Engine,
    offset_encoding: &str,
    topics: Option<&Bound<'_, PyAny>>,
    evidence: bool,
    min_score: Option<f64>,
    explain_rules: Option<&Bound<'_, PyAny>>,
    explain_candidates: bool,
) -> PyResult<ClassifyOptions> {
    let offset_encoding = parse_encoding(offset_encoding)?;
    if let Some(score) = min_score.filter(|s| !s.is_finite()) {
        return Err(PyValueError::new_err(format!(
            "min_score must be a finite number, not {score}"
        )));
    }
    let topics = str_list(topics, "topics")?;
    let known: Vec<&str> = engine.topics().iter().map(|t| t.id.as_str()).collect();
    for (i, topic) in topics.iter().enumerate() {
        if !known.contains(&topic.as_str()) {
            let hint = closest(topic, &known)
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            return Err(PyValueError::new_err(format!(
                "topics[{i}]: unknown topic {:?}{hint}; the topics are: {}",
                topic,
                known.join(", ")
            )));
        }
    }
    let explain_rules = str_list(explain_rules, "explain_rules")?;
    for (i, rule) in explain_rules.iter().enumerate() {
        if engine.rule_index(rule).is_none() {
            let ids: Vec<&str> = engine.rules().map(|r| r.0).collect();
            let hint = closest(rule, &ids)
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            return Err(PyValueError::new_err(format!(
                "explain_rules[{i}]: unknown rule id {:?}{hint}; the rule ids are those of the \
                 rule file ({} rules)",
                rule,
                ids.len()
            )));
        }
    }
    Ok(ClassifyOptions {
        topics,
        evidence,
        offset_encoding,
        min_score,
        explain_rules,
        explain_candidates,
    })
}

/// One article of `classify_many`'s input: a dict with `title`/`body`/`id` keys (missing means
/// `""`; other keys are not read) or a `(title, body)` tuple.
fn article_of(i: usize, item: &Bound<'_, PyAny>) -> PyResult<OwnedArticle> {
    let what = format!("articles[{i}]");
    if let Ok(dict) = item.cast::<PyDict>() {
        let field = |key: &str| -> PyResult<String> {
            match dict.get_item(key)? {
                None => Ok(String::new()),
                Some(value) => text_of(&value, &|| format!("articles[{i}]['{key}']")),
            }
        };
        return OwnedArticle::new(field("id")?, field("title")?, field("body")?, &what);
    }
    if let Ok(tuple) = item.cast::<PyTuple>() {
        if tuple.len() == 2 {
            let title = text_of(&tuple.get_item(0)?, &|| format!("articles[{i}][0] (title)"))?;
            let body = text_of(&tuple.get_item(1)?, &|| format!("articles[{i}][1] (body)"))?;
            return OwnedArticle::new(String::new(), title, body, &what);
        }
        return Err(PyTypeError::new_err(format!(
            "{what} must be a dict with title/body/id keys or a (title, body) tuple, not a tuple \
             of {} items",
            tuple.len()
        )));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be a dict with title/body/id keys or a (title, body) tuple, not {}",
        type_name(item)
    )))
}

/// A diagnostic as a Python dict (through serde): the fields of [`Diagnostic`], its location
/// spread out, and `rendered`, the text `rubric check` prints for it.
#[derive(Serialize)]
struct DiagnosticDict<'a> {
    severity: &'static str,
    code: &'static str,
    message: &'a str,
    rule: Option<&'a str>,
    topic: Option<&'a str>,
    file: Option<&'a str>,
    line: Option<usize>,
    column: Option<usize>,
    help: Option<&'a str>,
    rendered: String,
}

impl<'a> DiagnosticDict<'a> {
    fn new(d: &'a Diagnostic) -> Self {
        DiagnosticDict {
            severity: match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            code: d.code,
            message: &d.message,
            rule: d.rule.as_deref(),
            topic: d.topic.as_deref(),
            file: d.location.as_ref().map(|l| l.file.as_str()),
            line: d.location.as_ref().map(|l| l.line),
            column: d.location.as_ref().map(|l| l.column),
            help: d.help.as_deref(),
            rendered: d.to_string().trim_end().to_owned(),
        }
    }
}

/// Diagnostics as a Python list of dicts ([`DiagnosticDict`]).
fn diagnostics<'py>(py: Python<'py>, list: &[Diagnostic]) -> PyResult<Bound<'py, PyAny>> {
    let dicts: Vec<DiagnosticDict<'_>> = list.iter().map(DiagnosticDict::new).collect();
    Ok(pythonize::pythonize(py, &dicts)?)
}

/// `RuleError(report)` with `.diagnostics`.
fn rule_error(py: Python<'_>, err: &RuleSetError) -> PyErr {
    let error = RuleError::new_err(err.to_string());
    match diagnostics(py, err.diagnostics()) {
        Ok(list) => match error.value(py).setattr("diagnostics", list) {
            Ok(()) => error,
            Err(e) => e,
        },
        Err(e) => e,
    }
}

/// List files given as a dict `{path as the rule file names it: text}`.
struct GivenLists(HashMap<String, String>);

impl ListFiles for GivenLists {
    fn read(&self, path: &str) -> Result<String, String> {
        self.0.get(path).cloned().ok_or_else(|| {
            let mut given: Vec<&str> = self.0.keys().map(String::as_str).collect();
            given.sort_unstable();
            format!(
                "{path} is not among the list files given in `lists` ({})",
                if given.is_empty() {
                    "none".to_owned()
                } else {
                    given.join(", ")
                }
            )
        })
    }
}

/// Checks rule text with the given list files: the engine, or every diagnostic (errors first),
/// as `rubric check` reports them.
fn check_text(
    toml: &str,
    lists: Option<HashMap<String, String>>,
) -> (Option<Engine>, Vec<Diagnostic>) {
    let (engine, found) = match lists {
        Some(lists) => Engine::check_with(STRING_ORIGIN, toml, &GivenLists(lists)),
        None => Engine::check_with(STRING_ORIGIN, toml, &NoListFiles),
    };
    match engine {
        Some(engine) => {
            let warnings = engine.warnings().to_vec();
            (Some(engine), warnings)
        }
        None => (None, RuleSetError::new(found).diagnostics().to_vec()),
    }
}

#[pymethods]
impl PyEngine {
    /// The default rule set (``seeds/rules.toml`` and its list files), embedded in the module.
    #[staticmethod]
    #[pyo3(name = "default")]
    fn embedded(py: Python<'_>) -> PyResult<PyEngine> {
        match Engine::embedded() {
            Ok(engine) => Ok(PyEngine { engine }),
            Err(err) => Err(rule_error(py, &err)),
        }
    }

    /// A rule file on disk (TOML), with the list files it names read beside it: what
    /// ``rubric classify --rules PATH`` loads.
    ///
    /// ``path`` is a ``str`` or ``os.PathLike``. Raises ``FileNotFoundError`` when the file does
    /// not exist, ``OSError`` when it cannot be read (not a regular file, over 64 MiB, not UTF-8),
    /// with the CLI's message, and ``RuleError`` when the rules do not load (a list file that
    /// cannot be read is one of its diagnostics).
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<PyEngine> {
        match py.detach(|| Engine::from_path(&path)) {
            Ok(engine) => Ok(PyEngine { engine }),
            Err(EngineLoadError::Read(message)) => {
                let missing = matches!(
                    std::fs::metadata(&path),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound
                );
                Err(if missing {
                    PyFileNotFoundError::new_err(message)
                } else {
                    PyOSError::new_err(message)
                })
            }
            Err(EngineLoadError::Rules(err)) => Err(rule_error(py, &err)),
        }
    }

    /// Rule text (the TOML of a rule file), named ``<string>`` in diagnostics.
    ///
    /// ``lists`` maps the list files the rules name (``file = "lists/countries.txt"``), by path
    /// exactly as written in the rule text, to their text; without it a rule set that names a
    /// list file does not load. Raises ``RuleError`` when the rules do not load.
    #[staticmethod]
    #[pyo3(name = "from_str", signature = (toml, lists = None))]
    fn from_text(
        py: Python<'_>,
        toml: &Bound<'_, PyAny>,
        lists: Option<HashMap<String, String>>,
    ) -> PyResult<PyEngine> {
        let toml = text_of(toml, &|| "toml".to_owned())?;
        match py.detach(|| check_text(&toml, lists)) {
            (Some(engine), _) => Ok(PyEngine { engine }),
            (None, found) => Err(rule_error(py, &RuleSetError::new(found))),
        }
    }

    /// Classifies one article; returns the classification as ``rubric classify`` prints it (its
    /// JSON, as dicts, lists, str, float, int and bool):
    ///
    /// ``{"articleId": str, "topics": [{"topic": str, "score": float, "confidence": float,
    /// "label": bool, "evidence": [{"ruleId": str, "weight": float, "spans": [{"field":
    /// "ARTICLE_FIELD_TITLE" | "ARTICLE_FIELD_BODY", "start": int, "end": int, "text": str,
    /// "list"?: str, "listEntry"?: str}]}]}], "ruleSetVersion": str, "offsetEncoding":
    /// "OFFSET_ENCODING_CODE_POINT" | "OFFSET_ENCODING_UTF16" | "OFFSET_ENCODING_UTF8",
    /// "explanations"?: [...]}``
    ///
    /// Topics are sorted by score, highest first, then by id. Span offsets are into the original
    /// field text, ``start`` inclusive, ``end`` exclusive, in ``offset_encoding`` units:
    /// ``"code-point"`` (the default; also ``"codepoint"``: Python ``str`` indexes, so
    /// ``body[s["start"]:s["end"]] == s["text"]``), ``"utf16"`` (UTF-16 code units) or ``"utf8"``
    /// (UTF-8 bytes).
    ///
    /// Options: ``topics`` scores only these topic ids; ``evidence=False`` leaves out rules and
    /// spans (faster); ``min_score`` leaves out topics scoring below it (a finite number);
    /// ``explain_rules`` explains these rule ids, fired or not (``explanations``);
    /// ``explain_candidates`` also explains every rule with a term, phrase or list entry in the
    /// article.
    ///
    /// Raises ``TypeError`` when title, body or id is not a ``str`` (``None`` and ``bytes``
    /// included), ``ValueError`` for an unknown offset encoding, topic or rule id, a non-finite
    /// ``min_score``, or an article over 64 MiB (UTF-8 bytes of title and body). The GIL is
    /// released while the engine works.
    #[pyo3(
        signature = (
            title = TextArg(None),
            body = TextArg(None),
            *,
            id = TextArg(None),
            offset_encoding = "code-point",
            topics = None,
            evidence = true,
            min_score = None,
            explain_rules = None,
            explain_candidates = false
        ),
        text_signature = "($self, title='', body='', *, id='', offset_encoding='code-point', \
                          topics=None, evidence=True, min_score=None, explain_rules=None, \
                          explain_candidates=False)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn classify<'py>(
        &self,
        py: Python<'py>,
        title: TextArg<'py>,
        body: TextArg<'py>,
        id: TextArg<'py>,
        offset_encoding: &str,
        topics: Option<&Bound<'py, PyAny>>,
        evidence: bool,
        min_score: Option<f64>,
        explain_rules: Option<&Bound<'py, PyAny>>,
        explain_candidates: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = options(
            &self.engine,
            offset_encoding,
            topics,
            evidence,
            min_score,
            explain_rules,
            explain_candidates,
        )?;
        let article = OwnedArticle::new(
            id.text(&|| "id".to_owned())?,
            title.text(&|| "title".to_owned())?,
            body.text(&|| "body".to_owned())?,
            "title + body",
        )?;
        let engine = &self.engine;
        let result = py
            .detach(|| engine.classify(&article.article(), &options))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(pythonize::pythonize(
            py,
            &ClassificationJson::new(&result, options.offset_encoding),
        )?)
    }

    /// Classifies many articles on all cores, with the GIL released; returns their
    /// classifications (as ``classify`` returns them) in input order.
    ///
    /// ``articles`` is a list (or any iterable) of dicts with ``"title"``, ``"body"`` and
    /// ``"id"`` keys (a missing key means ``""``; other keys are not read) or of
    /// ``(title, body)`` tuples. The keyword options are ``classify``'s. Raises as ``classify``
    /// does, naming the article (``articles[3]['body'] must be str, not None``); nothing is
    /// classified then.
    #[pyo3(
        signature = (
            articles,
            *,
            offset_encoding = "code-point",
            topics = None,
            evidence = true,
            min_score = None,
            explain_rules = None,
            explain_candidates = false
        ),
        text_signature = "($self, articles, *, offset_encoding='code-point', topics=None, \
                          evidence=True, min_score=None, explain_rules=None, \
                          explain_candidates=False)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn classify_many<'py>(
        &self,
        py: Python<'py>,
        articles: &Bound<'py, PyAny>,
        offset_encoding: &str,
        topics: Option<&Bound<'py, PyAny>>,
        evidence: bool,
        min_score: Option<f64>,
        explain_rules: Option<&Bound<'py, PyAny>>,
        explain_candidates: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let options = options(
            &self.engine,
            offset_encoding,
            topics,
            evidence,
            min_score,
            explain_rules,
            explain_candidates,
        )?;
        if articles.is_instance_of::<PyString>() || articles.is_instance_of::<PyDict>() {
            return Err(PyTypeError::new_err(format!(
                "articles must be a list of dicts or (title, body) tuples, not a {}",
                type_name(articles)
            )));
        }
        let iter = articles.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "articles must be a list of dicts or (title, body) tuples, not {}",
                type_name(articles)
            ))
        })?;
        let mut owned = Vec::new();
        for (i, item) in iter.enumerate() {
            owned.push(article_of(i, &item?)?);
        }
        let engine = &self.engine;
        let results = py
            .detach(|| {
                owned
                    .par_iter()
                    .map(|a| engine.classify(&a.article(), &options))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let out = PyList::empty(py);
        for result in &results {
            out.append(pythonize::pythonize(
                py,
                &ClassificationJson::new(result, options.offset_encoding),
            )?)?;
        }
        Ok(out)
    }

    /// The rule set's lint warnings (it loads, but these are probably mistakes), as
    /// ``rubric check`` prints them: a list of dicts with ``severity`` (``"warning"``),
    /// ``code``, ``message``, ``rule``, ``topic``, ``file``, ``line``, ``column`` (1-based, in
    /// code points), ``help`` (each ``None`` where it does not apply) and ``rendered`` (the
    /// text ``rubric check`` prints).
    fn check<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        diagnostics(py, self.engine.warnings())
    }

    /// The topics, in rule file order: a list of dicts ``{"id": str, "name": str,
    /// "description": str, "threshold": float, "ruleCount": int}``.
    #[getter]
    fn topics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Topic<'a> {
            id: &'a str,
            name: &'a str,
            description: &'a str,
            threshold: f64,
            rule_count: usize,
        }
        let topics: Vec<Topic<'_>> = self
            .engine
            .topics()
            .iter()
            .map(|t| Topic {
                id: &t.id,
                name: &t.name,
                description: &t.description,
                threshold: t.threshold,
                rule_count: t.rule_count,
            })
            .collect();
        Ok(pythonize::pythonize(py, &topics)?)
    }

    /// The rule set's version (``rule_set.version``), as ``ruleSetVersion`` in classifications.
    #[getter]
    fn version(&self) -> &str {
        &self.engine.info().version
    }

    /// The rule set's name (``rule_set.name``).
    #[getter]
    fn name(&self) -> &str {
        &self.engine.info().name
    }

    /// The engine itself: it is immutable, so a copy is the same object. (It cannot be pickled:
    /// build one per process, e.g. per Spark worker, as ``examples/spark/classify_archive.py``
    /// does.)
    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// As ``__copy__``: the same object.
    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }

    /// ``<rubric.Engine "NAME" version "VERSION": N rules in M topics>``.
    fn __repr__(&self) -> String {
        let info = self.engine.info();
        format!(
            "<rubric.Engine {:?} version {:?}: {} rules in {} topics>",
            info.name, info.version, info.rule_count, info.topic_count
        )
    }
}

/// Checks rule text (the TOML of a rule file) without raising: every error and warning, errors
/// first, as ``rubric check`` reports them (an empty list for a clean rule set). ``lists`` is as
/// for ``Engine.from_str``. Each item is a dict as ``Engine.check`` returns, ``severity``
/// ``"error"`` or ``"warning"``.
#[pyfunction]
#[pyo3(signature = (toml, lists = None))]
fn check<'py>(
    py: Python<'py>,
    toml: &Bound<'py, PyAny>,
    lists: Option<HashMap<String, String>>,
) -> PyResult<Bound<'py, PyAny>> {
    let toml = text_of(toml, &|| "toml".to_owned())?;
    let (_, found) = py.detach(|| check_text(&toml, lists));
    diagnostics(py, &found)
}

/// rubric's engine, in process (the native part of the ``rubric`` package).
#[pymodule]
mod _rubric {
    #[pymodule_export]
    use super::{check, PyEngine, RuleError};

    #[pymodule_export]
    const MAX_ARTICLE_BYTES: usize = super::MAX_ARTICLE_BYTES;
}
