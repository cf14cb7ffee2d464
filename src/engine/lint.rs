//! Lints: things that load but are probably mistakes.

use rustc_hash::FxHashMap;

use crate::article::Field;
use crate::rules::{Diagnostic, RuleSet};

use super::compile::{LitId, Node};
use super::Inner;

/// Largest number of boolean variables for which satisfiability is checked exhaustively.
const MAX_SAT_VARIABLES: usize = 12;

pub(super) fn lint(set: &RuleSet, inner: &Inner) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let locate = |span: &std::ops::Range<usize>| set.source.locate(span.clone());

    for (rule, compiled) in set.rules.iter().zip(&inner.rules) {
        let at = locate(&rule.query_origin.span);
        match satisfiable(&compiled.node) {
            Some(false) => out.push(
                Diagnostic::warning(
                    "unsatisfiable",
                    "this query can never match (it contradicts itself, e.g. a AND NOT a)",
                )
                .at(at)
                .rule(&rule.id)
                .help("remove the contradiction; check the NOT parts"),
            ),
            _ if compiled.node.matches_empty() => out.push(
                Diagnostic::warning(
                    "matches-without-terms",
                    "this query matches articles that contain none of its terms",
                )
                .at(at)
                .rule(&rule.id)
                .help("give it a positive term: write `x AND NOT y` rather than `NOT y`"),
            ),
            _ => {}
        }
    }

    // Identical queries in one topic: overlapping matches count once, so one adds nothing.
    let mut seen: FxHashMap<(&str, &str), &str> = FxHashMap::default();
    for rule in &set.rules {
        let key = (rule.topic.as_str(), rule.query.trim());
        if let Some(first) = seen.insert(key, &rule.id) {
            out.push(
                Diagnostic::warning(
                    "duplicate-query",
                    format!("same query as rule `{first}` of the same topic"),
                )
                .at(locate(&rule.query_origin.span))
                .rule(&rule.id)
                .help("remove one of the two rules"),
            );
        }
    }

    for (t, topic) in set.topics.iter().enumerate() {
        let positive: f64 = inner
            .rules
            .iter()
            .filter(|r| r.topic == t && r.weight > 0.0)
            .map(|r| r.weight)
            .sum();
        let at = locate(&topic.id_span);
        if inner.topics[t].rule_count == 0 {
            out.push(
                Diagnostic::warning(
                    "topic-without-rules",
                    format!("topic `{}` has no rules, so it is never labelled", topic.id),
                )
                .at(at)
                .help("add [[rules]] with this topic, or remove the topic"),
            );
        } else if positive < topic.threshold {
            out.push(
                Diagnostic::warning(
                    "unreachable-threshold",
                    format!(
                        "topic `{}` has threshold {} but all its rules together weigh {positive}, so it is never labelled",
                        topic.id, topic.threshold
                    ),
                )
                .at(at)
                .help("lower the threshold or raise rule weights"),
            );
        }
    }
    out
}

/// A boolean variable: a literal in one field, or one whole NEAR node (by address).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Var {
    Lit(LitId, Field),
    Near(usize),
}

fn near_var(node: &Node) -> Var {
    Var::Near(node as *const Node as usize)
}

/// Whether the query can be true, treating each literal-in-a-field (and each NEAR) as an
/// independent variable; `None` when it has too many variables to check exhaustively.
fn satisfiable(node: &Node) -> Option<bool> {
    let mut vars = Vec::new();
    collect(node, &mut vars);
    if vars.len() > MAX_SAT_VARIABLES {
        return None;
    }
    Some((0u32..1 << vars.len()).any(|assignment| value(node, &vars, assignment)))
}

fn collect(node: &Node, vars: &mut Vec<Var>) {
    let mut add = |v: Var| {
        if !vars.contains(&v) {
            vars.push(v);
        }
    };
    match node {
        Node::Lit { lit, fields } => Field::ALL
            .iter()
            .filter(|f| fields.contains(**f))
            .for_each(|f| add(Var::Lit(*lit, *f))),
        Node::Near { .. } => add(near_var(node)),
        Node::And(ops) | Node::Or(ops) => ops.iter().for_each(|o| collect(o, vars)),
        Node::Not(op) => collect(op, vars),
    }
}

fn value(node: &Node, vars: &[Var], assignment: u32) -> bool {
    let get = |v: Var| {
        let i = vars.iter().position(|x| *x == v).expect("collected");
        assignment & (1 << i) != 0
    };
    match node {
        Node::Lit { lit, fields } => Field::ALL
            .iter()
            .filter(|f| fields.contains(**f))
            .any(|f| get(Var::Lit(*lit, *f))),
        Node::Near { .. } => get(near_var(node)),
        Node::And(ops) => ops.iter().all(|o| value(o, vars, assignment)),
        Node::Or(ops) => ops.iter().any(|o| value(o, vars, assignment)),
        Node::Not(op) => !value(op, vars, assignment),
    }
}
