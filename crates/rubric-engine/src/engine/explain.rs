//! "Why (not)": explanations of rules on one article, operator by operator.
//!
//! An explanation is computed from the engine's own matching: the article's literal occurrences
//! found by presearch ([`MatchState`]) and the rule's compiled query ([`Node`]), each node's truth
//! value by the same [`MatchState::eval`] that classification uses. The rule's query text is
//! parsed again only to give each node its text as written and to show the field scopes, which
//! compiling folds into the literals.
//!
//! Nothing here runs unless [`ClassifyOptions`](super::ClassifyOptions) asks for explanations.

use std::sync::Arc;

use serde::Serialize;

use crate::article::{Article, Field};
use crate::rules::{parse_query, Expr, ExprKind};
use crate::text::{convert_offsets, OffsetEncoding};

use super::compile::{FieldMask, LitId, Node, MAX_PHRASE_WORDS};
use super::eval::{MatchState, Occ};
use super::{Inner, Span};

/// Most rule ids one request may name in `ClassifyOptions::explain_rules` (the service's limit;
/// the engine itself takes any number).
pub const MAX_EXPLAINED_RULES: usize = 100;

/// Most spans one [`ExplanationNode`] lists (of a literal's occurrences).
pub const MAX_NODE_SPANS: usize = 20;

/// Why one rule fired or did not fire on an article. Serializes as the contract's
/// `RuleExplanation` in protobuf's JSON mapping (`ruleId`, `topic`, `fired`, `summary`, `query`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleExplanation {
    /// Rule id from the rule file.
    pub rule_id: Arc<str>,
    /// The topic the rule belongs to.
    pub topic: Arc<str>,
    /// Whether the rule's query is true for the article: exactly when classification finds the
    /// rule fired ([`Engine::fired_rules`](super::Engine::fired_rules) lists it).
    pub fired: bool,
    /// One line of English saying the deciding reason, e.g. `NEAR/4 failed: 'aid' at body word
    /// 12 and 'deliver' at body word 19 have 6 words between them (at most 4 allowed)` or `AND
    /// NOT excluded it: 'hearing aid' at body[120,131)`. Offsets in it are in the requested
    /// offset encoding; words are counted from 0 in their field.
    pub summary: String,
    /// The rule's query as evaluated, operator by operator.
    pub query: ExplanationNode,
}

/// The operators of the query language, as the contract's `QueryOperator` enum names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum QueryOperator {
    /// `a OR b`: true when an operand is.
    #[serde(rename = "QUERY_OPERATOR_OR")]
    Or,
    /// `a AND b`: true when every operand is.
    #[serde(rename = "QUERY_OPERATOR_AND")]
    And,
    /// `NOT a`: true when its operand is false.
    #[serde(rename = "QUERY_OPERATOR_NOT")]
    Not,
    /// `a NEAR/n b` or `a ONEAR/n b` (proximity).
    #[serde(rename = "QUERY_OPERATOR_NEAR")]
    Near,
    /// `title:expr` or `body:expr` (field scope).
    #[serde(rename = "QUERY_OPERATOR_FIELD_SCOPE")]
    FieldScope,
    /// A term, wildcard, phrase, exact literal or named list reference.
    #[serde(rename = "QUERY_OPERATOR_LITERAL")]
    Literal,
}

/// One node of a rule's query with its truth value on the article and why. Serializes as the
/// contract's `ExplanationNode`; `spans` and `operands` are left out when empty.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExplanationNode {
    /// What the node is.
    pub operator: QueryOperator,
    /// The node as written in the rule's query (`aid NEAR/4 deliver*`, `"peace talks"`).
    pub query: String,
    /// Whether the node is true for the article.
    pub satisfied: bool,
    /// Why, in one line of English (`found 2 times: ...`, `not found in the title; found in the
    /// body at body[10,14)`).
    pub reason: String,
    /// For a literal: its occurrences in the fields it may match in, at most
    /// [`MAX_NODE_SPANS`]; for a proximity: the closest pair found, in text order. Offsets as
    /// in evidence spans.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    /// The operands, in query order (empty for a literal).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operands: Vec<ExplanationNode>,
}

/// Explains the rules `named` (indices into the engine's rules, repeats counting once), then,
/// with `candidates`, every other rule with a literal in the article, in rule file order.
pub(super) fn explain(
    inner: &Inner,
    state: &MatchState,
    article: &Article<'_>,
    named: &[usize],
    candidates: bool,
    encoding: OffsetEncoding,
) -> Vec<RuleExplanation> {
    let mut order: Vec<usize> = Vec::with_capacity(named.len());
    for &r in named {
        if !order.contains(&r) {
            order.push(r);
        }
    }
    if candidates {
        let mut named = order.clone();
        named.sort_unstable();
        let mut found: Vec<usize> = state
            .literals()
            .flat_map(|lit| inner.rules_by_literal[lit as usize].iter())
            .map(|&r| r as usize)
            .filter(|r| named.binary_search(r).is_err())
            .collect();
        found.sort_unstable();
        found.dedup();
        order.extend(found);
    }
    let explainer = Explainer::new(inner, state, article, encoding);
    order.into_iter().map(|r| explainer.rule(r)).collect()
}

/// A node's explanation and the summary line it gives when it decides its rule.
type Explained = (ExplanationNode, String);

/// Explains rules on one matched article.
struct Explainer<'a, 'b> {
    inner: &'a Inner,
    state: &'a MatchState,
    article: &'a Article<'b>,
    /// For each field, each word's start and end offset (`[2i]`, `[2i + 1]`) in the requested
    /// encoding; empty for UTF-8, the offsets the words already have.
    units: [Vec<usize>; 2],
}

impl<'a, 'b> Explainer<'a, 'b> {
    fn new(
        inner: &'a Inner,
        state: &'a MatchState,
        article: &'a Article<'b>,
        encoding: OffsetEncoding,
    ) -> Self {
        let units = Field::ALL.map(|field| {
            if encoding == OffsetEncoding::Utf8 {
                return Vec::new();
            }
            let words = &state.fields[field.index()];
            let mut offsets: Vec<usize> = (0..words.len())
                .flat_map(|i| {
                    let span = words.span(i);
                    [span.start, span.end]
                })
                .collect();
            let mut refs: Vec<&mut usize> = offsets.iter_mut().collect();
            convert_offsets(article.field(field), encoding, &mut refs);
            offsets
        });
        Explainer {
            inner,
            state,
            article,
            units,
        }
    }

    /// Explains rule `r` (an index into the engine's rules).
    fn rule(&self, r: usize) -> RuleExplanation {
        let rule = &self.inner.rules[r];
        let query = self.inner.queries.get(r);
        let fired = self.holds(&rule.node);
        // The query parsed when the rule set was loaded, so it parses again.
        let (node, summary) = match parse_query(query) {
            Ok(expr) => self.node(&expr, &rule.node, query),
            Err(_) => self.opaque(query, &rule.node),
        };
        debug_assert_eq!(node.satisfied, fired, "{query}");
        RuleExplanation {
            rule_id: rule.id.clone(),
            topic: self.inner.topic_ids[rule.topic].clone(),
            fired,
            summary,
            query: node,
        }
    }

    /// Whether `node` is true: the matcher's own evaluation.
    fn holds(&self, node: &Node) -> bool {
        self.state.eval(node, &mut Vec::new())
    }

    /// Explains `expr` of `query`, compiled as `node`.
    fn node(&self, expr: &Expr, node: &Node, query: &str) -> Explained {
        let text = query.get(expr.span.clone()).unwrap_or(query);
        match (&expr.kind, node) {
            (
                ExprKind::Scope {
                    field,
                    expr: scoped,
                },
                _,
            ) => self.scope(text, *field, scoped, node, query),
            (ExprKind::Literal(_), &Node::Lit { lit, fields }) => self.literal(text, lit, fields),
            (ExprKind::Or(exprs), Node::Or(nodes)) if exprs.len() == nodes.len() => {
                self.or(text, exprs, nodes, node, query)
            }
            (ExprKind::And(exprs), Node::And(nodes)) if exprs.len() == nodes.len() => {
                self.and(text, exprs, nodes, node, query)
            }
            (ExprKind::Not(operand), Node::Not(compiled)) => {
                self.not(text, operand, compiled, node, query)
            }
            (
                ExprKind::Near {
                    left: left_expr,
                    right: right_expr,
                    ..
                },
                Node::Near {
                    left,
                    right,
                    distance,
                    ordered,
                },
            ) => {
                let near = Near {
                    distance: *distance,
                    ordered: *ordered,
                };
                self.near(
                    text,
                    near,
                    (left_expr, left),
                    (right_expr, right),
                    node,
                    query,
                )
            }
            // Compiling mirrors the parsed query, so this is not reached.
            _ => self.opaque(text, node),
        }
    }

    /// A node explained by its truth value alone.
    fn opaque(&self, text: &str, node: &Node) -> Explained {
        let operator = match node {
            Node::Lit { .. } => QueryOperator::Literal,
            Node::And(_) => QueryOperator::And,
            Node::Or(_) => QueryOperator::Or,
            Node::Not(_) => QueryOperator::Not,
            Node::Near { .. } => QueryOperator::Near,
        };
        let satisfied = self.holds(node);
        let reason = if satisfied { "holds" } else { "does not hold" }.to_owned();
        let summary = format!("{} {reason}", shown(text));
        (leaf(operator, text, satisfied, reason, Vec::new()), summary)
    }

    fn literal(&self, text: &str, lit: LitId, fields: FieldMask) -> Explained {
        let mut occs = Vec::new();
        let satisfied = self.state.eval(&Node::Lit { lit, fields }, &mut occs);
        let spans: Vec<Span> = occs
            .iter()
            .take(MAX_NODE_SPANS)
            .map(|o| self.literal_span(lit, o))
            .collect();
        let reason = if satisfied {
            format!(
                "found {}: {}",
                times(occs.len()),
                list_spans(&spans, occs.len())
            )
        } else {
            self.elsewhere(lit, fields)
        };
        let summary = format!("{} {reason}", shown(text));
        let node = leaf(QueryOperator::Literal, text, satisfied, reason, spans);
        (node, summary)
    }

    /// Why a literal scoped to `fields` was not found: where else it is, if anywhere.
    fn elsewhere(&self, lit: LitId, fields: FieldMask) -> String {
        let Some(field) = Field::ALL
            .into_iter()
            .find(|&f| fields == FieldMask::only(f))
        else {
            return "not found".to_owned();
        };
        let mut occs = Vec::new();
        let anywhere = Node::Lit {
            lit,
            fields: FieldMask::ALL,
        };
        if !self.state.eval(&anywhere, &mut occs) {
            return format!(
                "not found in the {}, nor in the {}",
                field.name(),
                other(field).name()
            );
        }
        let spans: Vec<Span> = occs
            .iter()
            .take(3)
            .map(|o| self.literal_span(lit, o))
            .collect();
        format!(
            "not found in the {}; found in the {}: {}",
            field.name(),
            other(field).name(),
            list_spans(&spans, occs.len())
        )
    }

    /// The explanations of a Boolean operator's operands, in query order.
    fn operands(&self, exprs: &[Expr], nodes: &[Node], query: &str) -> Vec<Explained> {
        exprs
            .iter()
            .zip(nodes)
            .map(|(e, n)| self.node(e, n, query))
            .collect()
    }

    fn or(
        &self,
        text: &str,
        exprs: &[Expr],
        nodes: &[Node],
        node: &Node,
        query: &str,
    ) -> Explained {
        let operands = self.operands(exprs, nodes, query);
        let satisfied = self.holds(node);
        let held: Vec<&Explained> = operands.iter().filter(|(o, _)| o.satisfied).collect();
        let (reason, summary) = match held.first() {
            Some((first, summary)) if satisfied => {
                let reason = if held.len() == 1 {
                    format!("{} holds", shown(&first.query))
                } else {
                    format!(
                        "{} of its {} operands hold, first {}",
                        held.len(),
                        operands.len(),
                        shown(&first.query)
                    )
                };
                (reason, summary.clone())
            }
            _ => {
                let reason = format!("none of its {} operands holds", operands.len());
                let summary = format!("OR failed: {reason}");
                (reason, summary)
            }
        };
        (
            branch(QueryOperator::Or, text, satisfied, reason, operands),
            summary,
        )
    }

    fn and(
        &self,
        text: &str,
        exprs: &[Expr],
        nodes: &[Node],
        node: &Node,
        query: &str,
    ) -> Explained {
        let operands = self.operands(exprs, nodes, query);
        let satisfied = self.holds(node);
        let failed = operands.iter().find(|(o, _)| !o.satisfied);
        let (reason, summary) = match failed {
            Some((first, summary)) if !satisfied => {
                let reason = format!("{} fails: {}", shown(&first.query), first.reason);
                let summary = if first.operator == QueryOperator::Not {
                    format!("AND {summary}")
                } else {
                    summary.clone()
                };
                (reason, summary)
            }
            _ => {
                let reason = format!("all {} operands hold", operands.len());
                // What made it true: the first operand that is not an exclusion.
                let summary = match operands
                    .iter()
                    .find(|(o, _)| o.operator != QueryOperator::Not)
                {
                    Some((_, summary))
                        if operands
                            .iter()
                            .any(|(o, _)| o.operator == QueryOperator::Not) =>
                    {
                        format!("{summary}; no AND NOT exclusion applies")
                    }
                    Some((_, summary)) => summary.clone(),
                    None => format!("AND held: {reason}, none of the excluded words occurs"),
                };
                (reason, summary)
            }
        };
        (
            branch(QueryOperator::And, text, satisfied, reason, operands),
            summary,
        )
    }

    fn not(
        &self,
        text: &str,
        operand: &Expr,
        compiled: &Node,
        node: &Node,
        query: &str,
    ) -> Explained {
        let (op, _) = self.node(operand, compiled, query);
        let satisfied = self.holds(node);
        let (reason, summary) = if satisfied {
            let reason = format!("{} does not hold: {}", shown(&op.query), op.reason);
            let summary = format!("NOT held: {reason}");
            (reason, summary)
        } else {
            let reason = format!("{} holds: {}", shown(&op.query), op.reason);
            let summary = format!("NOT excluded it: {}", evidence(&op));
            (reason, summary)
        };
        (
            branch(
                QueryOperator::Not,
                text,
                satisfied,
                reason,
                vec![(op, String::new())],
            ),
            summary,
        )
    }

    fn scope(
        &self,
        text: &str,
        field: Field,
        scoped: &Expr,
        node: &Node,
        query: &str,
    ) -> Explained {
        let (op, op_summary) = self.node(scoped, node, query);
        // The scope is compiled into the literals of `node`: the node is the scoped expression.
        let satisfied = op.satisfied;
        let (reason, summary) = if satisfied {
            (format!("holds in the {}", field.name()), op_summary)
        } else {
            match self.unscoped(field, node) {
                // Only the scope made it fail: say where the words are.
                Ok(reason) => {
                    let summary = format!("{}: scope failed: {reason}", field.name());
                    (reason, summary)
                }
                // It fails in any field: what decides is inside.
                Err(reason) => (reason, op_summary),
            }
        };
        let explained = branch(
            QueryOperator::FieldScope,
            text,
            satisfied,
            reason,
            vec![(op, String::new())],
        );
        (explained, summary)
    }

    /// Why a node scoped to `field` is false: `Ok` when it would hold with the other field (and
    /// where its words are there), `Err` when it holds in no field.
    fn unscoped(&self, field: Field, node: &Node) -> Result<String, String> {
        let mut occs = Vec::new();
        let field_name = field.name();
        let other = other(field).name();
        if !self
            .state
            .eval(&node.with_fields(FieldMask::ALL), &mut occs)
        {
            return Err(format!(
                "does not hold in the {field_name}, nor in the {other}"
            ));
        }
        occs.sort_unstable();
        occs.dedup();
        let outside: Vec<Span> = occs
            .iter()
            .filter(|o| o.field != field)
            .map(|o| self.span(o))
            .collect();
        let shown: Vec<Span> = outside.iter().take(3).cloned().collect();
        let spans = list_spans(&shown, outside.len());
        if outside.len() == occs.len() {
            Ok(format!(
                "the words are in the {other}, not the {field_name}: {spans}"
            ))
        } else {
            Ok(format!("holds only with the {other} too: {spans}"))
        }
    }

    fn near(
        &self,
        text: &str,
        near: Near,
        (left_expr, left): (&Expr, &[(LitId, FieldMask)]),
        (right_expr, right): (&Expr, &[(LitId, FieldMask)]),
        node: &Node,
        query: &str,
    ) -> Explained {
        let left_node = self.operand(left_expr, left, query);
        let right_node = self.operand(right_expr, right, query);
        let satisfied = self.holds(node);
        let lefts = self.occurrences(left);
        let rights = self.occurrences(right);
        let pair = closest(&lefts, &rights, near.ordered);
        debug_assert_eq!(
            satisfied,
            pair.is_some_and(|(_, _, gap)| gap <= near.distance),
            "{text}"
        );
        let (l, r) = (&left_node.0.query, &right_node.0.query);
        let label = near.label();
        let mut spans = Vec::new();
        let reversed = closest(&rights, &lefts, true)
            .filter(|&(_, _, gap)| near.ordered && !satisfied && gap <= near.distance);
        let reason = if lefts.is_empty() || rights.is_empty() {
            // Where the operands were looked for, when a field scope says.
            let within = match scope_of(left).zip(scope_of(right)) {
                Some((a, b)) if a == b => format!(" in the {}", a.name()),
                _ => String::new(),
            };
            match (lefts.is_empty(), rights.is_empty()) {
                (true, true) => format!("neither {} nor {} found{within}", shown(l), shown(r)),
                (true, _) => format!("{} not found{within}", shown(l)),
                _ => format!("{} not found{within}", shown(r)),
            }
        } else if let Some((b, a, gap)) = reversed {
            // ONEAR failed, but the operands are close in the other order.
            let (a, b) = (&lefts[a], &rights[b]);
            spans = self.pair_spans(a, b);
            format!(
                "{} comes before {} ({} between them), but {label} needs {} first",
                self.at_word(b),
                self.at_word(a),
                words(gap),
                shown(l)
            )
        } else if let Some((a, b, gap)) = pair {
            // In text order.
            let (a, b) = (&lefts[a], &rights[b]);
            let (a, b) = if a.0 <= b.0 { (a, b) } else { (b, a) };
            spans = self.pair_spans(a, b);
            format!(
                "{} and {} have {} between them (at most {} allowed)",
                self.at_word(a),
                self.at_word(b),
                words(gap),
                near.distance
            )
        } else {
            self.no_pair(l, r, &lefts, &rights, near)
        };
        let summary = format!(
            "{label} {}: {reason}",
            if satisfied { "held" } else { "failed" }
        );
        let mut explained = branch(
            QueryOperator::Near,
            text,
            satisfied,
            reason,
            vec![left_node, right_node],
        );
        explained.spans = spans;
        (explained, summary)
    }

    /// Why both operands of a proximity occur but never as a pair: not in one field, or
    /// only on the same words (or, for `ONEAR`, never in order).
    fn no_pair(
        &self,
        l: &str,
        r: &str,
        lefts: &[(Occ, LitId)],
        rights: &[(Occ, LitId)],
        near: Near,
    ) -> String {
        let fields = |occs: &[(Occ, LitId)]| {
            let mut fields: Vec<Field> = occs.iter().map(|(o, _)| o.field).collect();
            fields.dedup();
            fields
        };
        let (lf, rf) = (fields(lefts), fields(rights));
        let label = near.label();
        if !lf.iter().any(|f| rf.contains(f)) {
            format!(
                "{} is only in the {} and {} only in the {}; {label} needs both in one field",
                shown(l),
                lf[0].name(),
                shown(r),
                rf[0].name()
            )
        } else if near.ordered {
            format!("{} never comes after {} in one field", shown(r), shown(l))
        } else {
            format!("{} and {} only occur on the same words", shown(l), shown(r))
        }
    }

    /// A proximity operand (a literal, a scoped one, or an OR-group of them), whose literals
    /// compiling flattened into `flat` in query order, explained as a query of its own.
    fn operand(&self, expr: &Expr, flat: &[(LitId, FieldMask)], query: &str) -> Explained {
        let mut literals = flat.iter();
        match operand_node(expr, &mut literals) {
            Some(node) if literals.next().is_none() => {
                let (node, summary) = self.node(expr, &node, query);
                (node, summary)
            }
            _ => {
                let text = query.get(expr.span.clone()).unwrap_or(query);
                let node = Node::Or(
                    flat.iter()
                        .map(|&(lit, fields)| Node::Lit { lit, fields })
                        .collect(),
                );
                self.opaque(text, &node)
            }
        }
    }

    /// The occurrences of a proximity operand's literals, each with its literal, sorted by
    /// position and distinct (as the matcher gathers them).
    fn occurrences(&self, operand: &[(LitId, FieldMask)]) -> Vec<(Occ, LitId)> {
        let mut out = Vec::new();
        let mut occs = Vec::new();
        for &(lit, fields) in operand {
            occs.clear();
            self.state.eval(&Node::Lit { lit, fields }, &mut occs);
            out.extend(occs.iter().map(|&o| (o, lit)));
        }
        out.sort_unstable_by_key(|&(o, _)| o);
        out.dedup_by_key(|&mut (o, _)| o);
        out
    }

    /// The spans of a proximity pair, in text order.
    fn pair_spans(&self, a: &(Occ, LitId), b: &(Occ, LitId)) -> Vec<Span> {
        let mut pair = [a, b];
        pair.sort_by_key(|(o, _)| *o);
        pair.iter()
            .map(|(o, lit)| self.literal_span(*lit, o))
            .collect()
    }

    /// `'text' at body word 12`.
    fn at_word(&self, (occ, lit): &(Occ, LitId)) -> String {
        let span = self.literal_span(*lit, occ);
        format!(
            "{} at {} word {}",
            quote(&span.text),
            occ.field.name(),
            occ.start
        )
    }

    /// The span of an occurrence, in the requested offset encoding.
    fn span(&self, occ: &Occ) -> Span {
        let mut span = super::span(self.state, self.article, occ);
        let units = &self.units[occ.field.index()];
        if !units.is_empty() {
            span.start = units[2 * occ.start as usize];
            span.end = units[2 * (occ.end as usize - 1) + 1];
        }
        span
    }

    /// The span of an occurrence of `lit`, naming the list and entry when `lit` is a named list.
    fn literal_span(&self, lit: LitId, occ: &Occ) -> Span {
        let mut span = self.span(occ);
        if let Some(list) = self.inner.dictionary.list_of(lit) {
            if let Some(entry) = self.state.entry_at(lit, occ) {
                span.list = Some(list.name.clone());
                span.list_entry = list.entries.get(&entry).cloned();
            }
        }
        span
    }
}

/// A proximity operator's parameters.
#[derive(Clone, Copy)]
struct Near {
    distance: u32,
    ordered: bool,
}

impl Near {
    /// `NEAR/4` or `ONEAR/4`.
    fn label(self) -> String {
        let name = if self.ordered { "ONEAR" } else { "NEAR" };
        format!("{name}/{}", self.distance)
    }
}

/// Rebuilds a proximity operand's node from its query and the literals compiling flattened it
/// into (in query order): `None` if they do not fit.
fn operand_node(
    expr: &Expr,
    literals: &mut std::slice::Iter<'_, (LitId, FieldMask)>,
) -> Option<Node> {
    match &expr.kind {
        ExprKind::Literal(_) => literals
            .next()
            .map(|&(lit, fields)| Node::Lit { lit, fields }),
        ExprKind::Scope { expr, .. } => operand_node(expr, literals),
        ExprKind::Or(ops) => ops
            .iter()
            .map(|op| operand_node(op, literals))
            .collect::<Option<Vec<Node>>>()
            .map(|nodes| Node::Or(nodes.into())),
        _ => None,
    }
}

/// The closest pair of a left and a right occurrence (both sorted by position) in one field
/// that do not overlap, left first when `ordered`: `(left index, right index, words between
/// them)`, the earliest of the closest.
fn closest(
    lefts: &[(Occ, LitId)],
    rights: &[(Occ, LitId)],
    ordered: bool,
) -> Option<(usize, usize, u32)> {
    let mut best: Option<(usize, usize, u32)> = None;
    let mut consider = |l: usize, r: usize, gap: u32| {
        if best.is_none_or(|(_, _, g)| gap < g) {
            best = Some((l, r, gap));
        }
    };
    for (i, (l, _)) in lefts.iter().enumerate() {
        // After `l`: the first right occurrence starting at or after its end.
        let k = rights.partition_point(|(r, _)| (r.field, r.start) < (l.field, l.end));
        if let Some((r, _)) = rights.get(k).filter(|(r, _)| r.field == l.field) {
            consider(i, k, r.start - l.end);
        }
        if ordered {
            continue;
        }
        // Before `l`: the right occurrence ending last at or before its start. An occurrence is
        // at most MAX_PHRASE_WORDS long, which bounds how far back one can end later.
        let k = rights.partition_point(|(r, _)| (r.field, r.start) < (l.field, l.start));
        let mut before: Option<(u32, usize)> = None;
        for j in (0..k).rev() {
            let r = &rights[j].0;
            if r.field != l.field
                || before.is_some_and(|(end, _)| r.start + MAX_PHRASE_WORDS as u32 <= end)
            {
                break;
            }
            if r.end <= l.start && before.is_none_or(|(end, _)| r.end > end) {
                before = Some((r.end, j));
            }
        }
        if let Some((end, j)) = before {
            consider(i, j, l.start - end);
        }
    }
    best
}

/// A node without operands.
fn leaf(
    operator: QueryOperator,
    text: &str,
    satisfied: bool,
    reason: String,
    spans: Vec<Span>,
) -> ExplanationNode {
    ExplanationNode {
        operator,
        query: text.to_owned(),
        satisfied,
        reason,
        spans,
        operands: Vec::new(),
    }
}

/// A node with operands.
fn branch(
    operator: QueryOperator,
    text: &str,
    satisfied: bool,
    reason: String,
    operands: Vec<Explained>,
) -> ExplanationNode {
    ExplanationNode {
        operands: operands.into_iter().map(|(o, _)| o).collect(),
        ..leaf(operator, text, satisfied, reason, Vec::new())
    }
}

/// What makes a node that holds true, briefly: for a literal, where it is; for an OR or a
/// field scope, what makes its first true operand true; else its reason.
fn evidence(node: &ExplanationNode) -> String {
    match node.operator {
        QueryOperator::Literal if !node.spans.is_empty() => {
            list_spans(&node.spans[..1], node.spans.len())
        }
        QueryOperator::Or | QueryOperator::FieldScope => node
            .operands
            .iter()
            .find(|o| o.satisfied)
            .map_or_else(|| node.reason.clone(), evidence),
        _ => node.reason.clone(),
    }
}

/// The one field a proximity operand is scoped to, if it is.
fn scope_of(operand: &[(LitId, FieldMask)]) -> Option<Field> {
    Field::ALL.into_iter().find(|&f| {
        operand
            .iter()
            .all(|&(_, fields)| fields == FieldMask::only(f))
    })
}

/// The other field.
fn other(field: Field) -> Field {
    match field {
        Field::Title => Field::Body,
        Field::Body => Field::Title,
    }
}

/// `'aid' at body[10,13), 'Aid' at title[0,3) and 4 more`: the spans shown, out of `total`.
fn list_spans(spans: &[Span], total: usize) -> String {
    let shown: Vec<String> = spans
        .iter()
        .take(3)
        .map(|s| {
            format!(
                "{} at {}[{},{})",
                quote(&s.text),
                s.field.name(),
                s.start,
                s.end
            )
        })
        .collect();
    let mut out = shown.join(", ");
    if total > shown.len() {
        out.push_str(&format!(" and {} more", total - shown.len()));
    }
    out
}

/// Original text in single quotes, on one line (white space runs shown as one space).
fn quote(text: &str) -> String {
    format!(
        "'{}'",
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

/// A query node in backticks, cut after 60 characters.
fn shown(query: &str) -> String {
    const MAX: usize = 60;
    let one_line = query.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("`{}…`", &one_line[..cut]),
        None => format!("`{one_line}`"),
    }
}

/// `once`, `2 times`.
fn times(n: usize) -> String {
    if n == 1 {
        "once".to_owned()
    } else {
        format!("{n} times")
    }
}

/// `1 word`, `6 words`.
fn words(n: u32) -> String {
    if n == 1 {
        "1 word".to_owned()
    } else {
        format!("{n} words")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occ(field: Field, start: u32, end: u32) -> (Occ, LitId) {
        (Occ { field, start, end }, 0)
    }

    #[test]
    fn closest_pair_takes_the_nearest_non_overlapping_one_in_either_order() {
        let lefts = [occ(Field::Body, 5, 6), occ(Field::Body, 20, 21)];
        let rights = [
            occ(Field::Title, 5, 6),
            occ(Field::Body, 1, 3),
            occ(Field::Body, 5, 6), // the same word: overlaps, never a pair
            occ(Field::Body, 10, 11),
        ];
        // Body 1..3 ends 2 words before word 5; body 10 starts 4 words after it.
        assert_eq!(closest(&lefts, &rights, false), Some((0, 1, 2)));
        // In order only: word 10 after word 5.
        assert_eq!(closest(&lefts, &rights, true), Some((0, 3, 4)));
        assert_eq!(closest(&lefts, &rights[..1], false), None);
        assert_eq!(closest(&[], &rights, false), None);
    }

    #[test]
    fn shown_cuts_long_queries_and_quote_keeps_one_line() {
        assert_eq!(shown("aid\n  OR relief"), "`aid OR relief`");
        let long = "a ".repeat(40);
        assert!(shown(&long).ends_with("…`"));
        assert_eq!(quote("peace\ntalks"), "'peace talks'");
    }
}
