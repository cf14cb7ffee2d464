//! Lints: things that load but are probably mistakes.

use rustc_hash::FxHashMap;

use crate::article::Field;
use crate::rules::{Diagnostic, RuleSet};

use super::compile::{AtomKey, Dictionary, LitId, Node};
use super::Inner;
use crate::text::{fold_key, NormalizeOptions};

/// Largest number of boolean variables for which satisfiability is checked exhaustively.
const MAX_SAT_VARIABLES: usize = 12;

pub(super) fn lint(set: &RuleSet, inner: &Inner, complete: bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let locate = |span: &std::ops::Range<usize>| set.source.locate(span.clone());

    for compiled in &inner.rules {
        let rule = &set.rules[compiled.source];
        let at = locate(&rule.query_origin.span);
        match satisfiable(&compiled.node, &inner.dictionary, inner.options) {
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

    // Identical queries in one topic (compared compiled, so `Y` and `(y)` are the same): their
    // matches overlap and count once, so one rule adds nothing.
    let mut seen: FxHashMap<(usize, String), &str> = FxHashMap::default();
    for compiled in &inner.rules {
        let rule = &set.rules[compiled.source];
        let key = (compiled.topic, format!("{:?}", compiled.node));
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

    if !complete {
        return out;
    }
    // Lists no rule names, and lists without entries (compiled in the order of `set.lists`).
    for (list, compiled) in set.lists.iter().zip(&inner.dictionary.lists) {
        let at = locate(&list.name_span);
        if list.entries.is_empty() {
            out.push(
                Diagnostic::warning(
                    "empty-list",
                    format!(
                        "list `{}` has no entries, so `@{}` never matches",
                        list.name, list.name
                    ),
                )
                .at(at)
                .help("add entries (one a line in a list file), or remove the list"),
            );
        } else if !compiled.used {
            out.push(
                Diagnostic::warning("unused-list", format!("no rule uses list `{}`", list.name))
                    .at(at)
                    .help(format!("use it in a query as @{}, or remove it", list.name)),
            );
        }
    }
    // The weight of each topic's positive rules together, in one pass over the rules.
    let mut positive_weights = vec![0.0; set.topics.len()];
    for rule in inner.rules.iter().filter(|r| r.weight > 0.0) {
        positive_weights[rule.topic] += rule.weight;
    }
    for (t, topic) in set.topics.iter().enumerate() {
        let positive: f64 = positive_weights[t];
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
                .topic(&topic.id)
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

/// Whether the query can be true, treating each literal-in-a-field (and each NEAR) as a
/// variable, constrained by what the literals imply: a phrase implies its words (`"peace talks"`
/// implies `peace`), a word implies the wildcards it matches (`negotiations` implies
/// `negotiat*`), an exact term implies its folded form (`{US}` implies `us`), and a NEAR implies
/// its operands. `None` when it has too many variables to check exhaustively.
fn satisfiable(node: &Node, dictionary: &Dictionary, options: NormalizeOptions) -> Option<bool> {
    let mut vars = Vec::new();
    collect(node, &mut vars);
    if vars.len() > MAX_SAT_VARIABLES {
        return None;
    }
    // (a, b): variable a being true forces variable b to be true.
    let mut implications = Vec::new();
    for (i, a) in vars.iter().enumerate() {
        for (j, b) in vars.iter().enumerate() {
            if let (Var::Lit(la, fa), Var::Lit(lb, fb)) = (a, b) {
                if i != j && fa == fb && literal_implies(*la, *lb, dictionary, options) {
                    implications.push((i, j));
                }
            }
        }
    }
    // NEAR implies some left and some right literal (in any field), when those are variables.
    let mut near_needs: Vec<(usize, Vec<usize>, Vec<usize>)> = Vec::new();
    near_constraints(node, &vars, &mut near_needs);
    let consistent = |assignment: u32| {
        let on = |i: usize| assignment & (1 << i) != 0;
        implications.iter().all(|&(a, b)| !on(a) || on(b))
            && near_needs.iter().all(|(n, left, right)| {
                !on(*n)
                    || ((left.is_empty() || left.iter().any(|&i| on(i)))
                        && (right.is_empty() || right.iter().any(|&i| on(i))))
            })
    };
    Some(
        (0u32..1 << vars.len())
            .filter(|&a| consistent(a))
            .any(|assignment| value(node, &vars, assignment)),
    )
}

fn near_constraints(node: &Node, vars: &[Var], out: &mut Vec<(usize, Vec<usize>, Vec<usize>)>) {
    match node {
        Node::Near { left, right, .. } => {
            let index = |lits: &[(LitId, crate::engine::compile::FieldMask)]| -> Vec<usize> {
                vars.iter()
                    .enumerate()
                    .filter(
                        |(_, v)| matches!(v, Var::Lit(l, _) if lits.iter().any(|(x, _)| x == l)),
                    )
                    .map(|(i, _)| i)
                    .collect()
            };
            if let Some(n) = vars.iter().position(|v| *v == near_var(node)) {
                out.push((n, index(left), index(right)));
            }
        }
        Node::And(ops) | Node::Or(ops) => ops.iter().for_each(|o| near_constraints(o, vars, out)),
        Node::Not(op) => near_constraints(op, vars, out),
        Node::Lit { .. } => {}
    }
}

/// Whether every text containing literal `a` contains literal `b` (at the same place).
fn literal_implies(a: LitId, b: LitId, dictionary: &Dictionary, options: NormalizeOptions) -> bool {
    // A named list is a literal without atoms: an entry implies its list, a list nothing else.
    if dictionary.member_of[a as usize].contains(&b) {
        return true;
    }
    let a = &dictionary.literals[a as usize].atoms;
    let b = &dictionary.literals[b as usize].atoms;
    !a.is_empty()
        && !b.is_empty()
        && b.len() <= a.len()
        && a.windows(b.len()).any(|window| {
            window.iter().zip(b.iter()).all(|(&x, &y)| {
                atom_implies(
                    &dictionary.keys[x as usize],
                    &dictionary.keys[y as usize],
                    options,
                )
            })
        })
}

fn atom_implies(a: &AtomKey, b: &AtomKey, options: NormalizeOptions) -> bool {
    let folded = |exact: &str| {
        let mut out = String::new();
        fold_key(exact, options, &mut out);
        out
    };
    match (a, b) {
        _ if a == b => true,
        (AtomKey::Folded(x), AtomKey::Prefix(p)) | (AtomKey::Prefix(x), AtomKey::Prefix(p)) => {
            x.starts_with(&**p)
        }
        (AtomKey::Exact(x), AtomKey::Folded(f)) => folded(x) == **f,
        (AtomKey::Exact(x), AtomKey::Prefix(p)) => folded(x).starts_with(&**p),
        _ => false,
    }
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
