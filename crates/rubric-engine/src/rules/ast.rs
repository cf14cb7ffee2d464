//! The syntax tree of a query. Every node carries its byte span in the query text.

use std::ops::Range;

use crate::article::Field;

/// A byte range `[start, end)` in the query text.
pub type QuerySpan = Range<usize>;

/// A parsed query node and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it was written: byte range of the query text, `end` exclusive.
    pub span: QuerySpan,
}

/// The kinds of query nodes.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// True when any operand is true (`a OR b OR c`).
    Or(Vec<Expr>),
    /// True when every operand is true (`a AND b AND NOT c`).
    And(Vec<Expr>),
    /// True when the operand is false (`NOT a`).
    Not(Box<Expr>),
    /// Proximity: an occurrence of `left` and one of `right`, in the same field, with at most
    /// `distance` words between them; with `ordered`, `left` must come first (`ONEAR/n`).
    Near {
        /// First operand: a literal or an OR-group of literals.
        left: Box<Expr>,
        /// Second operand: a literal or an OR-group of literals.
        right: Box<Expr>,
        /// Largest number of words allowed between the two occurrences.
        distance: u32,
        /// `true` for `ONEAR/n`: `left` must end before `right` starts.
        ordered: bool,
    },
    /// A field scope (`title:expr`): the literals inside only match in that field.
    Scope {
        /// The field the literals are restricted to.
        field: Field,
        /// The scoped expression.
        expr: Box<Expr>,
    },
    /// A term, wildcard, phrase, or named-list reference (`@name`).
    Literal(Literal),
}

/// How a literal was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiteralKind {
    /// A bare word (`ceasefire`, `negotiat*`, `state-of-the-art`).
    Word,
    /// A quoted phrase (`"peace talks"`, curly quotes accepted).
    Phrase,
    /// A case-sensitive term or phrase in braces (`{US}`, `{"Security Council"}`).
    Exact,
    /// A reference to a named list (`@countries`): true where any entry of the list occurs.
    /// `text` is the list's name, without the `@`.
    List,
}

/// A term, wildcard or phrase as written; normalization happens when the rule set is compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Literal {
    /// How it was written.
    pub kind: LiteralKind,
    /// The words as written, without the quotes or braces, `*` wildcards included.
    pub text: String,
    /// Byte offset of `text` in the query, for error positions inside the literal.
    pub text_offset: usize,
}

impl Expr {
    /// Appends the names of the named lists the query refers to (`@name`), in query order,
    /// repeats included.
    pub fn list_names(&self, out: &mut Vec<String>) {
        match &self.kind {
            ExprKind::Or(items) | ExprKind::And(items) => {
                items.iter().for_each(|e| e.list_names(out));
            }
            ExprKind::Not(e) | ExprKind::Scope { expr: e, .. } => e.list_names(out),
            ExprKind::Near { left, right, .. } => {
                left.list_names(out);
                right.list_names(out);
            }
            ExprKind::Literal(l) if l.kind == LiteralKind::List => out.push(l.text.clone()),
            ExprKind::Literal(_) => {}
        }
    }
}
