//! Thin tonic handlers over the engine: validate, classify, convert, map errors.
//!
//! Every handler runs inside [`observe`], which opens one tracing span per RPC (method, article
//! id), logs the outcome with its code and duration, and logs a call that is dropped before it
//! finished (client cancelled, deadline passed).

mod convert;
mod editing;

use std::collections::BTreeMap;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, info, info_span, Instrument, Span};

use crate::engine::{ClassifyOptions, Engine};
use crate::error::{echo, to_rpc_status, FieldViolation, ServiceError};
use crate::pb;
use crate::pb::classifier_service_server::ClassifierService;
use crate::server::code_name;
use crate::RuleSetError;

pub use convert::MAX_ARTICLE_ID_BYTES;
pub use editing::{RuleEditing, SENT_RULES_ORIGIN};

/// Largest number of requests in one `ClassifyBatch` call.
pub const MAX_BATCH_SIZE: usize = 1000;

/// Articles larger than this (title + body, bytes) are classified on the blocking thread pool, so
/// a few large articles do not stall the async workers serving everyone else.
pub const LARGE_ARTICLE_BYTES: usize = 128 * 1024;

/// A compiled rule set with the facts `GetRuleSet` reports.
#[derive(Debug)]
pub struct LoadedRules {
    /// The compiled rules.
    pub engine: Engine,
    /// Where they came from: the path given, or `<embedded>`.
    pub source: String,
    /// SHA-256 of everything loaded (the rule file and its list files), lowercase hex; see
    /// [`crate::RuleSet::content_sha256`].
    pub content_sha256: String,
    /// When they were loaded.
    pub load_time: SystemTime,
    /// The rule file's text as loaded (`GetRuleSet` with the FULL view).
    pub text: Arc<str>,
    /// The list files the rule file named, as read when it was loaded, by path as written in the
    /// rule file: rules sent by a client (`CheckRules`, `ClassifyWithRules`) that name the same
    /// paths read these, never the server's disk.
    pub list_files: Arc<BTreeMap<String, Arc<str>>>,
    /// The last reload that failed while these rules were served (`GetRuleSet` reports it);
    /// rules loaded by a later successful reload start without one.
    reload_failure: std::sync::Mutex<Option<ReloadFailure>>,
}

/// A reload of the rule file that failed: the rules it was to replace kept serving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReloadFailure {
    /// When the reload was attempted.
    pub time: SystemTime,
    /// The first lines of the report (bounded; the log has it in full), with the rule file and
    /// list files named without their directory.
    pub report: String,
    /// SHA-256 of the content that failed to load; empty when the file could not be read.
    pub content_sha256: String,
}

impl LoadedRules {
    /// Compiles rule file text; `source` names it in diagnostics and in `GetRuleSet`.
    ///
    /// # Errors
    /// [`RuleSetError`] with every problem of the file.
    pub fn from_text(source: &str, text: &str) -> Result<LoadedRules, RuleSetError> {
        Ok(LoadedRules::new(source, Engine::from_toml(source, text)?)
            .with_sources(text, BTreeMap::new()))
    }

    /// Wraps a compiled engine; `source` names it in `GetRuleSet`. Its rule text and list files
    /// are empty until [`LoadedRules::with_sources`] sets them.
    pub fn new(source: &str, engine: Engine) -> LoadedRules {
        LoadedRules {
            content_sha256: engine.info().content_sha256.clone(),
            engine,
            source: source.to_owned(),
            load_time: SystemTime::now(),
            text: Arc::from(""),
            list_files: Arc::default(),
            reload_failure: std::sync::Mutex::default(),
        }
    }

    /// Sets the rule file text and the list files (by path as written in the rule file) the
    /// engine was compiled from.
    pub fn with_sources(mut self, text: &str, list_files: BTreeMap<String, Arc<str>>) -> Self {
        self.text = Arc::from(text);
        self.list_files = Arc::new(list_files);
        self
    }

    /// The last reload that failed while these rules were served, if any.
    pub fn last_reload_failure(&self) -> Option<ReloadFailure> {
        self.reload_failure
            .lock()
            .map(|f| f.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Records (or, with `None`, clears) the last failed reload.
    pub fn set_reload_failure(&self, failure: Option<ReloadFailure>) {
        match self.reload_failure.lock() {
            Ok(mut f) => *f = failure,
            Err(poisoned) => *poisoned.into_inner() = failure,
        }
    }

    /// `(name, version, sha256)`, the labels of `rubric_rule_set_info`.
    pub fn metric_labels(&self) -> (&str, &str, &str) {
        let info = self.engine.info();
        (&info.name, &info.version, &self.content_sha256)
    }

    /// The embedded default rule set (`seeds/rules.toml`).
    ///
    /// # Errors
    /// Never in a released build (a test loads it on every CI run).
    pub fn embedded() -> Result<LoadedRules, RuleSetError> {
        let lists = crate::DEFAULT_LISTS
            .0
            .iter()
            .map(|(path, text)| ((*path).to_owned(), Arc::from(*text)))
            .collect();
        Ok(LoadedRules::new("<embedded>", Engine::embedded()?)
            .with_sources(crate::DEFAULT_RULES, lists))
    }

    /// Reads and compiles a rule file.
    ///
    /// # Errors
    /// A message naming the file when it cannot be read, or the full [`RuleSetError`] report.
    ///
    /// Diagnostics name the path as given; `source` (reported by `GetRuleSet` to any client) is
    /// only the file name, so the server's directory layout is not disclosed.
    pub fn from_file(path: &Path) -> Result<LoadedRules, String> {
        // What `Engine::from_path` does, keeping the text and the list files read.
        let text = crate::rules::read_rule_file(path)?;
        let dir = crate::rules::ListDir::beside(path);
        let lists = crate::rules::RecordingLists::new(&dir);
        let engine = match Engine::check_with(&path.display().to_string(), &text, &lists) {
            (Some(engine), _) => engine,
            (None, diagnostics) => return Err(RuleSetError::new(diagnostics).to_string()),
        };
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(LoadedRules::new(&name, engine).with_sources(&text, lists.into_files()))
    }
}

/// The rules the service reads on every call; swapped atomically on reload.
pub type SharedRules = Arc<ArcSwap<LoadedRules>>;

/// Request limits checked by the handlers (INVALID_ARGUMENT beyond them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest article: title + body, UTF-8 bytes.
    pub max_article_bytes: usize,
    /// Most requests in one `ClassifyBatch`, at most [`MAX_BATCH_SIZE`].
    pub max_batch_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_article_bytes: 1024 * 1024,
            max_batch_size: MAX_BATCH_SIZE,
        }
    }
}

/// The `rubric.v1.ClassifierService` implementation. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Classifier {
    rules: SharedRules,
    limits: Limits,
    compiler: editing::RuleCompiler,
}

impl Classifier {
    /// A service reading its rules from `rules`, with rule editing off.
    pub fn new(rules: SharedRules, limits: Limits) -> Classifier {
        Classifier {
            rules,
            limits,
            compiler: editing::RuleCompiler::new(RuleEditing::default()),
        }
    }

    /// Serves `CheckRules` and `ClassifyWithRules` with these settings.
    pub fn with_rule_editing(mut self, settings: RuleEditing) -> Classifier {
        self.compiler = editing::RuleCompiler::new(settings);
        self
    }
}

/// The tracing span of one RPC.
fn rpc_span(method: &'static str, article_id: &str) -> Span {
    // Debug formatting quotes and escapes the client's id, so it cannot forge log lines; `echo`
    // bounds its length.
    info_span!("rpc", method, article_id = ?echo(article_id))
}

/// Runs one RPC's work in its tracing span (see [`rpc_span`]) and logs its outcome.
async fn observe<T>(
    span: Span,
    work: impl std::future::Future<Output = Result<T, ServiceError>>,
) -> Result<T, Status> {
    let mut guard = CancelGuard {
        span: span.clone(),
        finished: false,
    };
    let start = Instant::now();
    let result = work.instrument(span.clone()).await;
    guard.finished = true;
    let elapsed_us = start.elapsed().as_micros() as u64;
    let _entered = span.enter();
    match &result {
        Ok(_) => debug!(code = "OK", elapsed_us, "rpc finished"),
        Err(ServiceError::Internal(_)) => {} // logged with its cause when converted
        // The call layer logs every failed call at info; this adds the details at debug.
        Err(e) => debug!(code = code_name(e.code()), elapsed_us, error = %e, "rpc failed"),
    }
    drop(_entered);
    result.map_err(Status::from)
}

/// Logs a call whose future was dropped before it finished.
struct CancelGuard {
    span: Span,
    finished: bool,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.finished {
            let _entered = self.span.enter();
            info!("rpc cancelled before it finished (client went away or its deadline passed)");
        }
    }
}

/// Validates and classifies one article; large articles go to the blocking pool.
async fn classify_one(
    engine: Engine,
    limits: Limits,
    article: Option<pb::Article>,
    options: Option<pb::ClassifyOptions>,
) -> Result<pb::Classification, ServiceError> {
    let mut violations = Vec::new();
    let validated = convert::validate(
        article.as_ref(),
        options.as_ref(),
        &engine,
        limits,
        convert::FieldPrefix::None,
        &mut violations,
    );
    let (Some(article), Some(options)) = (article, validated) else {
        return Err(ServiceError::InvalidArgument(violations));
    };
    if article.title.len() + article.body.len() > LARGE_ARTICLE_BYTES {
        tokio::task::spawn_blocking(move || run(&engine, &article, &options))
            .await
            .map_err(|e| ServiceError::Internal(format!("classification task failed: {e}")))?
    } else {
        run(&engine, &article, &options)
    }
}

fn run(
    engine: &Engine,
    article: &pb::Article,
    options: &ClassifyOptions,
) -> Result<pb::Classification, ServiceError> {
    let result = engine
        .classify(&convert::article(article), options)
        .map_err(|e| {
            // Validation checked the topics, so this is a bug if it happens.
            ServiceError::Internal(format!("engine rejected validated options: {e}"))
        })?;
    crate::metrics::record_labels(result.topics.iter().filter(|t| t.label).map(|t| &t.topic));
    Ok(convert::classification(result, options.offset_encoding))
}

type ResponseStream =
    Pin<Box<dyn Stream<Item = Result<pb::ClassifyStreamResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ClassifierService for Classifier {
    async fn classify(
        &self,
        request: Request<pb::ClassifyRequest>,
    ) -> Result<Response<pb::ClassifyResponse>, Status> {
        let req = request.into_inner();
        let span = rpc_span(
            "Classify",
            req.article.as_ref().map_or("", |a| a.id.as_str()),
        );
        let rules = self.rules.load_full();
        let limits = self.limits;
        observe(span, async move {
            let classification =
                classify_one(rules.engine.clone(), limits, req.article, req.options).await?;
            Ok(Response::new(pb::ClassifyResponse {
                classification: Some(classification),
            }))
        })
        .await
    }

    async fn classify_batch(
        &self,
        request: Request<pb::ClassifyBatchRequest>,
    ) -> Result<Response<pb::ClassifyBatchResponse>, Status> {
        let requests = request.into_inner().requests;
        let rules = self.rules.load_full();
        let limits = self.limits;
        let span = rpc_span("ClassifyBatch", &format!("batch of {}", requests.len()));
        observe(span, async move {
            let max = limits.max_batch_size.min(MAX_BATCH_SIZE);
            if requests.is_empty() || requests.len() > max {
                return Err(ServiceError::InvalidArgument(vec![FieldViolation::new(
                    "requests",
                    format!("{} given; send 1 to {max} per call", requests.len()),
                )]));
            }
            let mut violations = Vec::new();
            let options: Vec<Option<ClassifyOptions>> = requests
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    convert::validate(
                        r.article.as_ref(),
                        r.options.as_ref(),
                        &rules.engine,
                        limits,
                        convert::FieldPrefix::Batch(i),
                        &mut violations,
                    )
                })
                .collect();
            if !violations.is_empty() {
                return Err(ServiceError::InvalidArgument(violations));
            }
            let work = move || {
                requests
                    .iter()
                    .zip(options)
                    .map(|(r, o)| {
                        let article = r.article.as_ref().expect("validated");
                        run(&rules.engine, article, &o.expect("validated"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            };
            let classifications = tokio::task::spawn_blocking(work)
                .await
                .map_err(|e| ServiceError::Internal(format!("batch task failed: {e}")))??;
            Ok(Response::new(pb::ClassifyBatchResponse { classifications }))
        })
        .await
    }

    type ClassifyStreamStream = ResponseStream;

    async fn classify_stream(
        &self,
        request: Request<Streaming<pb::ClassifyStreamRequest>>,
    ) -> Result<Response<Self::ClassifyStreamStream>, Status> {
        let mut inbound = request.into_inner();
        let rules = self.rules.clone();
        let limits = self.limits;
        // Bounded: a client that does not read its responses slows down its own stream only.
        let (tx, rx) = mpsc::channel(64);
        let span = info_span!("rpc", method = "ClassifyStream");
        tokio::spawn(
            async move {
                let mut count = 0u64;
                while let Some(message) = inbound.next().await {
                    let response = match message {
                        Ok(req) => {
                            count += 1;
                            let sent = req.article.as_ref().map_or("", |a| a.id.as_str());
                            // An id over the limit is rejected; its response carries it cut
                            // (see `echo`) rather than repeating a client's megabyte.
                            let id = if sent.len() > MAX_ARTICLE_ID_BYTES {
                                echo(sent).into_owned()
                            } else {
                                sent.to_owned()
                            };
                            let result =
                                classify_one(
                                    rules.load().engine.clone(),
                                    limits,
                                    req.article,
                                    req.options,
                                )
                                .await;
                            let result = match result {
                                Ok(c) => pb::classify_stream_response::Result::Classification(c),
                                Err(e) => {
                                    // `id` is cut already where it was long.
                                    info!(article_id = ?id, error = %e, "stream item rejected");
                                    pb::classify_stream_response::Result::Error(to_rpc_status(
                                        &Status::from(e),
                                    ))
                                }
                            };
                            Ok(pb::ClassifyStreamResponse {
                                article_id: id,
                                result: Some(result),
                            })
                        }
                        Err(status) => {
                            let status = crate::error::wire_status(&status).unwrap_or(status);
                            info!(code = code_name(status.code()), status_message = ?status.message(), "stream ended by an error");
                            Err(status)
                        }
                    };
                    let failed = response.is_err();
                    if tx.send(response).await.is_err() {
                        info!(count, "rpc cancelled before it finished (client went away)");
                        return;
                    }
                    if failed {
                        return;
                    }
                }
                if tx.is_closed() {
                    info!(count, "rpc cancelled before it finished (client went away)");
                } else {
                    debug!(count, code = "OK", "rpc finished");
                }
            }
            .instrument(span),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn list_topics(
        &self,
        _request: Request<pb::ListTopicsRequest>,
    ) -> Result<Response<pb::ListTopicsResponse>, Status> {
        let rules = self.rules.load();
        let topics = rules.engine.topics().iter().map(convert::topic).collect();
        observe(rpc_span("ListTopics", ""), async {
            Ok(Response::new(pb::ListTopicsResponse { topics }))
        })
        .await
    }

    async fn check_rules(
        &self,
        request: Request<pb::CheckRulesRequest>,
    ) -> Result<Response<pb::CheckRulesResponse>, Status> {
        let req = request.into_inner();
        let served = self.rules.load().list_files.clone();
        let compiler = self.compiler.clone();
        observe(rpc_span("CheckRules", ""), async move {
            let checked = compiler.check(req.rules, req.list_files, served).await?;
            Ok(Response::new(pb::CheckRulesResponse {
                valid: checked.engine.is_some(),
                diagnostics: checked
                    .diagnostics
                    .iter()
                    .map(editing::diagnostic)
                    .collect(),
                rule_count: u32::try_from(checked.rule_count).unwrap_or(u32::MAX),
                topic_count: u32::try_from(checked.topic_count).unwrap_or(u32::MAX),
            }))
        })
        .await
    }

    async fn classify_with_rules(
        &self,
        request: Request<pb::ClassifyWithRulesRequest>,
    ) -> Result<Response<pb::ClassifyWithRulesResponse>, Status> {
        let req = request.into_inner();
        let span = rpc_span(
            "ClassifyWithRules",
            req.article.as_ref().map_or("", |a| a.id.as_str()),
        );
        let served = self.rules.load().list_files.clone();
        let compiler = self.compiler.clone();
        let limits = self.limits;
        observe(span, async move {
            let checked = compiler.check(req.rules, req.list_files, served).await?;
            let Some(engine) = checked.engine else {
                return Err(editing::rule_errors(&checked.diagnostics));
            };
            let classification = classify_one(engine, limits, req.article, req.options).await?;
            Ok(Response::new(pb::ClassifyWithRulesResponse {
                classification: Some(classification),
                diagnostics: checked
                    .diagnostics
                    .iter()
                    .map(editing::diagnostic)
                    .collect(),
            }))
        })
        .await
    }

    async fn get_rule_set(
        &self,
        request: Request<pb::GetRuleSetRequest>,
    ) -> Result<Response<pb::GetRuleSetResponse>, Status> {
        let view = request.into_inner().view;
        let rules = self.rules.load();
        observe(rpc_span("GetRuleSet", ""), async {
            let full = match pb::RuleSetView::try_from(view) {
                Ok(pb::RuleSetView::Full) => true,
                Ok(_) => false,
                Err(_) => {
                    return Err(ServiceError::InvalidArgument(vec![FieldViolation::new(
                        "view",
                        format!("unknown value {view}: send RULE_SET_VIEW_BASIC (1) or RULE_SET_VIEW_FULL (2), or leave it unset"),
                    )]))
                }
            };
            let mut rule_set = convert::rule_set(&rules);
            if full {
                rule_set.text = rules.text.to_string();
            }
            Ok(Response::new(pb::GetRuleSetResponse {
                rule_set: Some(rule_set),
            }))
        })
        .await
    }
}
