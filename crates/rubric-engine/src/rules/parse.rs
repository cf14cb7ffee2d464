//! The query parser: text to [`Expr`].
//!
//! # Grammar (BNF)
//!
//! ```text
//! query      ::= or_expr EOF
//! or_expr    ::= and_expr ( "OR" and_expr )*
//! and_expr   ::= unary ( "AND" unary )*            ; "a AND NOT b" is "a AND (NOT b)"
//! unary      ::= "NOT" unary | near_expr
//! near_expr  ::= scoped [ near_op scoped ]         ; no chains: a NEAR/2 b NEAR/2 c is an error
//! near_op    ::= "NEAR/" digits | "ONEAR/" digits
//! scoped     ::= field ":" scoped | primary
//! field      ::= "title" | "body"
//! primary    ::= "(" or_expr ")" | phrase | exact | list | word
//! list       ::= "@" name                          ; a named list: ASCII letters, digits, _ . -
//! phrase     ::= '"' words '"'                     ; curly quotes “ ” accepted
//! exact      ::= "{" words "}" | "{" phrase "}"    ; case-sensitive
//! word       ::= wordchar+ [ "*" ]                 ; wordchar: not space, ( ) " { } : “ ”
//! ```
//!
//! Precedence, tightest first: field scope, `NEAR`/`ONEAR`, `NOT`, `AND`, `OR`. So
//! `a AND b OR c AND d` is `(a AND b) OR (c AND d)` and `NOT a AND b` is `(NOT a) AND b`.
//! Operators are written in capitals; two operands side by side without an operator are an error
//! (write `AND`, `OR`, or quote the words as a phrase). Operators of other query languages in
//! capitals (`XOR`, `NOR`, `NAND`, `ANDNOT`, `W/3`, `PRE/3`) are errors that list the operators
//! there are; quoted (`"XOR"`) they are words. `NEAR` operands are literals or
//! parenthesised OR-groups of literals; `@name` stands wherever a literal can (it is true where
//! any entry of the list occurs, see [`crate::rules::lists`]).
//!
//! # Limits
//! - a query is at most [`MAX_QUERY_BYTES`] bytes;
//! - parentheses, `NOT` and field scopes nest at most [`MAX_DEPTH`] deep;
//! - `NEAR/n` takes `n` from 0 to [`MAX_NEAR_DISTANCE`].
//!
//! # Errors
//! Every error is a [`ParseError`] with the byte span of the offending text and, where there is
//! one, what to write instead. The parser never panics (a property test feeds it random input).

use std::fmt;

use super::ast::{Expr, ExprKind, Literal, LiteralKind, QuerySpan};
use crate::article::Field;

/// Longest accepted query, in bytes.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// Deepest accepted nesting of parentheses, `NOT` and field scopes.
pub const MAX_DEPTH: usize = 32;
/// Largest `n` in `NEAR/n` and `ONEAR/n`.
pub const MAX_NEAR_DISTANCE: u32 = 100;

/// A syntax error in a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// `query-syntax`, or `query-too-large` for an exceeded length or depth limit.
    pub code: &'static str,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
    /// Where: byte range of the query text, `end` exclusive (may be empty at the end of input).
    pub span: QuerySpan,
    /// What to write instead, when the parser can tell.
    pub help: Option<String>,
}

impl ParseError {
    fn new(message: impl Into<String>, span: QuerySpan) -> ParseError {
        ParseError {
            code: "query-syntax",
            message: message.into(),
            span,
            help: None,
        }
    }

    fn code(mut self, code: &'static str) -> ParseError {
        self.code = code;
        self
    }

    fn help(mut self, help: impl Into<String>) -> ParseError {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at bytes {}..{}",
            self.message, self.span.start, self.span.end
        )?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// Parses one query. See the module doc for the grammar and limits.
///
/// # Errors
/// [`ParseError`] for any syntax error or exceeded limit.
///
/// # Example
/// ```
/// use rubric_engine::rules::{parse_query, ExprKind};
/// let expr = parse_query("sanctions AND oil OR talks AND Geneva").unwrap();
/// assert!(matches!(expr.kind, ExprKind::Or(ref ops) if ops.len() == 2));
/// ```
pub fn parse_query(query: &str) -> Result<Expr, ParseError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(ParseError::new(
            format!(
                "query is {} bytes, longer than the limit of {MAX_QUERY_BYTES}",
                query.len()
            ),
            0..query.len(),
        )
        .help("split it into several rules of the same topic")
        .code("query-too-large"));
    }
    let tokens = lex(query)?;
    let mut parser = Parser {
        query,
        tokens,
        pos: 0,
        depth: 0,
    };
    if parser.peek().kind == Tok::Eof {
        return Err(ParseError::new("empty query", 0..query.len())
            .help("write at least one term, e.g. query = 'ceasefire'"));
    }
    let expr = parser.or_expr()?;
    let next = parser.peek();
    match next.kind {
        Tok::Eof => Ok(expr),
        Tok::RParen => Err(ParseError::new("unmatched `)`", next.span.clone())
            .help("remove it or add the `(` it closes")),
        _ => Err(parser.missing_operator()),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Near { distance: u32, ordered: bool },
    Field(Field),
    Word(String),
    Phrase { text: String, text_offset: usize },
    Exact { text: String, text_offset: usize },
    List { name: String },
    Eof,
}

#[derive(Clone, Debug)]
struct Lexeme {
    kind: Tok,
    span: QuerySpan,
}

fn is_open_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}')
}

fn is_word_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '(' | ')' | '{' | '}' | ':') || is_open_quote(c))
}

fn lex(query: &str) -> Result<Vec<Lexeme>, ParseError> {
    let mut out = Vec::new();
    let mut chars = query.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        match c {
            '(' | ')' => {
                chars.next();
                let kind = if c == '(' { Tok::LParen } else { Tok::RParen };
                out.push(Lexeme {
                    kind,
                    span: start..start + 1,
                });
            }
            '}' => {
                return Err(ParseError::new("unmatched `}`", start..start + 1)
                    .help("exact terms are written {US} or {\"Security Council\"}"));
            }
            ':' => {
                return Err(
                    ParseError::new("`:` without a field name", start..start + 1)
                        .help("write title:term or body:term, or quote text that contains a colon"),
                );
            }
            c if is_open_quote(c) => {
                chars.next();
                let text_offset = start + c.len_utf8();
                let end = loop {
                    match chars.next() {
                        Some((i, q)) if is_open_quote(q) => break i,
                        Some(_) => {}
                        None => {
                            return Err(ParseError::new("unterminated phrase", start..query.len())
                                .help("close the phrase with a `\"`"))
                        }
                    }
                };
                let text = &query[text_offset..end];
                let span = start..end + query[end..].chars().next().map_or(1, char::len_utf8);
                if text.trim().is_empty() {
                    return Err(ParseError::new("empty phrase", span)
                        .help("write words between the quotes or remove them"));
                }
                out.push(Lexeme {
                    kind: Tok::Phrase {
                        text: text.to_owned(),
                        text_offset,
                    },
                    span,
                });
            }
            '{' => {
                chars.next();
                let mut text_offset = start + 1;
                let end = loop {
                    match chars.next() {
                        Some((i, '}')) => break i,
                        Some((i, '{')) => {
                            return Err(ParseError::new("`{` inside an exact term", i..i + 1)
                                .help("exact terms do not nest: write {US}"))
                        }
                        Some(_) => {}
                        None => {
                            return Err(ParseError::new(
                                "unterminated exact term",
                                start..query.len(),
                            )
                            .help("close it with `}`, as in {US}"))
                        }
                    }
                };
                let mut text = &query[text_offset..end];
                let trimmed = text.trim();
                if let (Some(first), Some(last)) = (trimmed.chars().next(), trimmed.chars().last())
                {
                    if is_open_quote(first)
                        && is_open_quote(last)
                        && trimmed.chars().nth(1).is_some()
                    {
                        let lead = text.len() - text.trim_start().len();
                        text_offset += lead + first.len_utf8();
                        text = &trimmed[first.len_utf8()..trimmed.len() - last.len_utf8()];
                    }
                }
                if text.trim().is_empty() {
                    return Err(ParseError::new("empty exact term", start..end + 1)
                        .help("write the case-sensitive word inside, as in {US}"));
                }
                if let Some(i) = text.find('*') {
                    let at = text_offset + i;
                    return Err(ParseError::new(
                        "wildcards are not allowed in exact terms",
                        at..at + 1,
                    )
                    .help("exact terms match whole words: write {NATO} or nato*"));
                }
                out.push(Lexeme {
                    kind: Tok::Exact {
                        text: text.to_owned(),
                        text_offset,
                    },
                    span: start..end + 1,
                });
            }
            _ => {
                let mut end = start;
                while let Some(&(i, c)) = chars.peek() {
                    if !is_word_char(c) {
                        break;
                    }
                    end = i + c.len_utf8();
                    chars.next();
                }
                let word = &query[start..end];
                let span = start..end;
                let previous = out.last().map(|l: &Lexeme| &l.kind);
                // `-"own goal"`, `-(a OR b)`, `- penalty`: a sign alone before what it means to
                // exclude (or require).
                if let Some(sign @ ('-' | '!' | '+')) =
                    word.chars().next().filter(|_| word.len() == 1)
                {
                    let rest = query[end..].trim_start();
                    let target = match rest.chars().next() {
                        Some('(') => "(…)".to_owned(),
                        Some(q) if is_open_quote(q) => {
                            // Up to and including the closing quote, which may be a different
                            // character (and length) than the opening one: `“own goal"`.
                            let open = q.len_utf8();
                            let close = rest[open..]
                                .char_indices()
                                .find(|&(_, c)| is_open_quote(c))
                                .map_or(rest.len(), |(i, c)| open + i + c.len_utf8());
                            rest[..close].to_owned()
                        }
                        _ => rest.split_whitespace().next().unwrap_or("").to_owned(),
                    };
                    if !target.is_empty() {
                        return Err(sign_error(sign, &target, previous, start));
                    }
                }
                // `-body:penalty`: the sign before a field scope.
                if let (Some(sign @ ('-' | '!' | '+')), Some(&(_, ':'))) =
                    (word.chars().next(), chars.peek())
                {
                    if matches!(
                        &word[1..],
                        "title" | "body" | "TITLE" | "BODY" | "Title" | "Body"
                    ) {
                        let field_end = query[end + 1..]
                            .find(|c: char| c.is_whitespace() || c == ')')
                            .map_or(query.len(), |i| end + 1 + i);
                        return Err(sign_error(
                            sign,
                            &query[start + 1..field_end],
                            previous,
                            start,
                        ));
                    }
                }
                if let Some(&(colon, ':')) = chars.peek() {
                    chars.next();
                    let field = match word {
                        "title" | "TITLE" | "Title" => Field::Title,
                        "body" | "BODY" | "Body" => Field::Body,
                        _ => return Err(ParseError::new(
                            format!("unknown field `{word}`"),
                            start..colon + 1,
                        )
                        .help(
                            "the fields are title: and body:; to match text with a colon, quote it",
                        )),
                    };
                    out.push(Lexeme {
                        kind: Tok::Field(field),
                        span: start..colon + 1,
                    });
                    continue;
                }
                out.push(Lexeme {
                    kind: word_token(word, span.clone(), previous)?,
                    span,
                });
            }
        }
    }
    out.push(Lexeme {
        kind: Tok::Eof,
        span: query.len()..query.len(),
    });
    Ok(out)
}

/// `-x`, `!x` or `+x` (web-search syntax): not an operator here. The fix depends on what comes
/// before, so that following the help literally gives a valid query: after a term, `AND NOT x`;
/// after `AND`, at the start or after `(`, `NOT x`; after `OR`, `AND NOT x` in place of `OR`;
/// after a NEAR operator, outside the NEAR expression.
fn sign_error(sign: char, target: &str, previous: Option<&Tok>, at: usize) -> ParseError {
    let exclude = sign != '+';
    let (op, message) = if exclude {
        (
            "AND NOT",
            format!("`{sign}` before a term does not exclude it here"),
        )
    } else {
        (
            "AND",
            "`+` before a term does not make it required here".to_owned(),
        )
    };
    let bare = if exclude { "NOT " } else { "" };
    let help = match previous {
        Some(Tok::And) => format!("write {bare}{target}"),
        Some(Tok::Or) => format!("replace `OR {sign}{target}` with `{op} {target}`"),
        Some(Tok::Not) => format!("write NOT {target}"),
        Some(Tok::Near { .. }) => format!(
            "a NEAR operand cannot be {}: put `{op} {target}` after the whole NEAR expression, as in `(a NEAR/3 b) {op} {target}`",
            if exclude { "excluded" } else { "required" }
        ),
        None | Some(Tok::LParen) => format!("write {bare}{target}"),
        _ => format!("write {op} {target}"),
    };
    ParseError::new(message, at..at + sign.len_utf8()).help(help)
}

fn word_token(word: &str, span: QuerySpan, previous: Option<&Tok>) -> Result<Tok, ParseError> {
    match word {
        "AND" => return Ok(Tok::And),
        "OR" => return Ok(Tok::Or),
        "NOT" => return Ok(Tok::Not),
        "NEAR" | "ONEAR" => {
            return Err(
                ParseError::new(format!("{word} needs a distance"), span).help(format!(
                    "write {word}/5 for at most 5 words between the operands"
                )),
            )
        }
        "&&" | "||" => {
            let op = if word == "&&" { "AND" } else { "OR" };
            return Err(
                ParseError::new(format!("`{word}` is not an operator here"), span)
                    .help(format!("write {op}")),
            );
        }
        _ => {}
    }
    if let Some(instead) = foreign_operator(word) {
        return Err(
            ParseError::new(format!("`{word}` is not an operator"), span).help(format!(
                "the operators are {OPERATORS}: {instead}; to match the word itself, quote it: \"{word}\""
            )),
        );
    }
    if let Some(name) = word.strip_prefix('@') {
        return list_token(name, span);
    }
    let mut chars = word.chars();
    if let (Some(sign @ ('-' | '!' | '+')), Some(next)) = (chars.next(), chars.next()) {
        if next.is_alphanumeric() || next == '"' {
            return Err(sign_error(sign, &word[1..], previous, span.start));
        }
    }
    let upper = word.to_ascii_uppercase();
    for (prefix, ordered) in [("NEAR/", false), ("ONEAR/", true)] {
        if !upper.starts_with(prefix) {
            continue;
        }
        let name = &prefix[..prefix.len() - 1];
        if !word.starts_with(prefix) {
            return Err(
                ParseError::new("operators are written in capitals", span).help(format!(
                    "write {}{}",
                    prefix,
                    &word[prefix.len()..]
                )),
            );
        }
        let digits = &word[prefix.len()..];
        let distance = digits
            .parse::<u32>()
            .ok()
            .filter(|d| digits.bytes().all(|b| b.is_ascii_digit()) && *d <= MAX_NEAR_DISTANCE)
            .ok_or_else(|| {
                ParseError::new(
                    format!("{name} needs a whole number of words from 0 to {MAX_NEAR_DISTANCE}"),
                    span.start + prefix.len()..span.end,
                )
                .help(format!(
                    "write {name}/5 for at most 5 words between the operands"
                ))
            })?;
        return Ok(Tok::Near { distance, ordered });
    }
    Ok(Tok::Word(word.to_owned()))
}

/// The operators of the query language, for messages.
const OPERATORS: &str = "AND, OR, NOT, NEAR/n and ONEAR/n";

/// For a word in capitals that is an operator in other query languages (`XOR`, `NOR`, `W/3`,
/// `PRE/3`, ...) but not in this one, how to write what it means here. Written in capitals
/// between terms, such a word is meant as an operator; read as a term it would be matched as a
/// word, or reported as two terms side by side with a suggestion to write `oil AND XOR`.
fn foreign_operator(word: &str) -> Option<String> {
    let instead = match word {
        "XOR" => "for one but not both, write (a OR b) AND NOT (a AND b)".to_owned(),
        "NOR" => "for neither, write NOT (a OR b)".to_owned(),
        "NAND" => "write NOT (a AND b)".to_owned(),
        "ANDNOT" | "AND_NOT" | "BUTNOT" | "BUT_NOT" | "EXCEPT" => "write a AND NOT b".to_owned(),
        _ => {
            let (name, digits) = word.split_once('/')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            match name {
                "W" | "WITHIN" | "N" => format!("write a NEAR/{digits} b"),
                "PRE" | "ADJ" | "P" => format!("for a before b, write a ONEAR/{digits} b"),
                _ => return None,
            }
        }
    };
    Some(instead)
}

/// Whether `name` is a valid list name: 1 to [`MAX_LIST_NAME_BYTES`] ASCII letters, digits, `_`,
/// `.` or `-`.
pub fn is_list_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LIST_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Longest list name, in bytes.
pub const MAX_LIST_NAME_BYTES: usize = 128;

/// `@name`: a reference to a named list.
fn list_token(name: &str, span: QuerySpan) -> Result<Tok, ParseError> {
    if is_list_name(name) {
        return Ok(Tok::List {
            name: name.to_owned(),
        });
    }
    let message = if name.is_empty() {
        "`@` without a list name".to_owned()
    } else if name.ends_with('*') {
        format!("`@{name}`: a list cannot take a wildcard")
    } else {
        format!("invalid list name `@{name}`")
    };
    Err(ParseError::new(message, span).help(format!(
        "write @ and the name of a list defined under [lists], e.g. @countries (1 to {MAX_LIST_NAME_BYTES} ASCII letters, digits, `_`, `.` or `-`); wildcards belong in the list's entries"
    )))
}

struct Parser<'q> {
    query: &'q str,
    tokens: Vec<Lexeme>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Lexeme {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Lexeme {
        let lexeme = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        lexeme
    }

    fn enter(&mut self, span: &QuerySpan) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                format!("nesting deeper than the limit of {MAX_DEPTH}"),
                span.clone(),
            )
            .help("flatten the query: a OR b OR c needs no parentheses")
            .code("query-too-large"));
        }
        Ok(())
    }

    /// The error for two operands side by side.
    fn missing_operator(&self) -> ParseError {
        let next = self.peek();
        let mut err = ParseError::new(
            "expected AND, OR or NOT between two terms",
            next.span.clone(),
        );
        let help = match &next.kind {
            Tok::Word(w) if matches!(w.as_str(), "and" | "or" | "not" | "And" | "Or" | "Not") => {
                format!(
                    "operators are written in capitals: write {}",
                    w.to_uppercase()
                )
            }
            Tok::Word(w) => {
                let previous = self.pos.checked_sub(1).map(|i| &self.tokens[i]);
                match previous {
                    Some(Lexeme { kind: Tok::Word(p), .. }) => format!(
                        "write `{p} AND {w}` or `{p} OR {w}`, or quote the words as a phrase: \"{p} {w}\""
                    ),
                    Some(prev) => {
                        let p = &self.query[prev.span.clone()];
                        format!("write `{p} AND {w}` or `{p} OR {w}`")
                    }
                    None => format!("write AND or OR before `{w}`"),
                }
            }
            Tok::Near { .. } => {
                let op = &self.query[next.span.clone()];
                format!("NEAR cannot be chained: write (a {op} b) AND (b {op} c)")
            }
            _ => "write AND or OR before it".to_owned(),
        };
        err.help = Some(help);
        err
    }

    /// `or_expr ::= and_expr ( "OR" and_expr )*`
    fn or_expr(&mut self) -> Result<Expr, ParseError> {
        let first = self.and_expr()?;
        let mut operands = vec![first];
        while self.peek().kind == Tok::Or {
            self.bump();
            operands.push(self.and_expr()?);
        }
        Ok(join(operands, ExprKind::Or))
    }

    /// `and_expr ::= unary ( "AND" unary )*`
    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        let first = self.unary()?;
        let mut operands = vec![first];
        loop {
            match self.peek().kind {
                Tok::And => {
                    self.bump();
                    operands.push(self.unary()?);
                }
                Tok::Word(_)
                | Tok::Phrase { .. }
                | Tok::Exact { .. }
                | Tok::LParen
                | Tok::Field(_)
                | Tok::Not
                | Tok::Near { .. } => return Err(self.missing_operator()),
                _ => break,
            }
        }
        Ok(join(operands, ExprKind::And))
    }

    /// `unary ::= "NOT" unary | near_expr`
    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.peek().kind == Tok::Not {
            let not = self.bump();
            self.enter(&not.span)?;
            let operand = self.unary()?;
            self.depth -= 1;
            let span = not.span.start..operand.span.end;
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(operand)),
                span,
            });
        }
        self.near_expr()
    }

    /// `near_expr ::= scoped [ near_op scoped ]`
    fn near_expr(&mut self) -> Result<Expr, ParseError> {
        let left = self.scoped()?;
        let Tok::Near { distance, ordered } = self.peek().kind else {
            return Ok(left);
        };
        self.bump();
        check_proximity_operand(&left)?;
        let right = self.scoped()?;
        check_proximity_operand(&right)?;
        if let Tok::Near { .. } = self.peek().kind {
            let span = self.peek().span.clone();
            let op = &self.query[span.clone()];
            return Err(ParseError::new("NEAR cannot be chained", span)
                .help(format!("write (a {op} b) AND (b {op} c)")));
        }
        let span = left.span.start..right.span.end;
        Ok(Expr {
            kind: ExprKind::Near {
                left: Box::new(left),
                right: Box::new(right),
                distance,
                ordered,
            },
            span,
        })
    }

    /// `scoped ::= field ":" scoped | primary`
    fn scoped(&mut self) -> Result<Expr, ParseError> {
        if let Tok::Field(field) = self.peek().kind {
            let scope = self.bump();
            self.enter(&scope.span)?;
            let expr = self.scoped()?;
            self.depth -= 1;
            let span = scope.span.start..expr.span.end;
            return Ok(Expr {
                kind: ExprKind::Scope {
                    field,
                    expr: Box::new(expr),
                },
                span,
            });
        }
        self.primary()
    }

    /// `primary ::= "(" or_expr ")" | phrase | exact | word`
    fn primary(&mut self) -> Result<Expr, ParseError> {
        let lexeme = self.bump();
        let literal = |kind, text: String, text_offset| Expr {
            kind: ExprKind::Literal(Literal {
                kind,
                text,
                text_offset,
            }),
            span: lexeme.span.clone(),
        };
        match lexeme.kind.clone() {
            Tok::LParen => {
                self.enter(&lexeme.span)?;
                if self.peek().kind == Tok::RParen {
                    let close = self.peek().span.clone();
                    return Err(
                        ParseError::new("empty parentheses", lexeme.span.start..close.end)
                            .help("write a term inside or remove them"),
                    );
                }
                let mut inner = self.or_expr()?;
                self.depth -= 1;
                let close = self.bump();
                if close.kind != Tok::RParen {
                    return Err(ParseError::new("unclosed `(`", lexeme.span.clone())
                        .help("add the `)` that closes it"));
                }
                inner.span = lexeme.span.start..close.span.end;
                Ok(inner)
            }
            Tok::Word(text) => Ok(literal(LiteralKind::Word, text, lexeme.span.start)),
            Tok::Phrase { text, text_offset } => {
                Ok(literal(LiteralKind::Phrase, text, text_offset))
            }
            Tok::Exact { text, text_offset } => Ok(literal(LiteralKind::Exact, text, text_offset)),
            Tok::List { name } => Ok(literal(LiteralKind::List, name, lexeme.span.start + 1)),
            Tok::Eof => Err(
                ParseError::new("query ends where a term was expected", lexeme.span)
                    .help("finish the query with a term, or remove the trailing operator"),
            ),
            Tok::RParen => Err(ParseError::new("expected a term before `)`", lexeme.span)
                .help("remove the operator before it or write a term")),
            Tok::And | Tok::Or => Err(ParseError::new(
                "expected a term, found an operator",
                lexeme.span,
            )
            .help("remove the doubled operator or write a term before it")),
            Tok::Near { .. } => Err(
                ParseError::new("NEAR needs a term on each side", lexeme.span)
                    .help("write a NEAR/5 b"),
            ),
            Tok::Not | Tok::Field(_) => {
                Err(ParseError::new("NOT cannot be a NEAR operand", lexeme.span)
                    .help("write (a NEAR/5 b) AND NOT c"))
            }
        }
    }
}

fn join(mut operands: Vec<Expr>, make: fn(Vec<Expr>) -> ExprKind) -> Expr {
    if operands.len() == 1 {
        return operands.pop().expect("one operand");
    }
    let span = operands[0].span.start..operands[operands.len() - 1].span.end;
    Expr {
        kind: make(operands),
        span,
    }
}

/// A NEAR operand: a literal, a scoped operand, or an OR of operands.
fn check_proximity_operand(expr: &Expr) -> Result<(), ParseError> {
    match &expr.kind {
        ExprKind::Literal(_) => Ok(()),
        ExprKind::Scope { expr, .. } => check_proximity_operand(expr),
        ExprKind::Or(operands) => operands.iter().try_for_each(check_proximity_operand),
        _ => Err(ParseError::new(
            "NEAR operands must be terms, phrases, wildcards or parenthesised OR-groups of them",
            expr.span.clone(),
        )
        .help("move AND and NOT outside the proximity: (a NEAR/5 b) AND c")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders a tree compactly for table tests.
    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Or(ops) => {
                format!("or({})", ops.iter().map(show).collect::<Vec<_>>().join(","))
            }
            ExprKind::And(ops) => format!(
                "and({})",
                ops.iter().map(show).collect::<Vec<_>>().join(",")
            ),
            ExprKind::Not(e) => format!("not({})", show(e)),
            ExprKind::Near {
                left,
                right,
                distance,
                ordered,
            } => format!(
                "{}near{}({},{})",
                if *ordered { "o" } else { "" },
                distance,
                show(left),
                show(right)
            ),
            ExprKind::Scope { field, expr } => format!("{}:{}", field.name(), show(expr)),
            ExprKind::Literal(l) => match l.kind {
                LiteralKind::Word => l.text.clone(),
                LiteralKind::Phrase => format!("\"{}\"", l.text),
                LiteralKind::Exact => format!("{{{}}}", l.text),
                LiteralKind::List => format!("@{}", l.text),
            },
        }
    }

    #[test]
    fn precedence_and_shapes() {
        let table = [
            ("a", "a"),
            ("a OR b", "or(a,b)"),
            ("a AND b OR c AND d", "or(and(a,b),and(c,d))"),
            ("a OR b AND c", "or(a,and(b,c))"),
            ("NOT a AND b", "and(not(a),b)"),
            ("a AND NOT b", "and(a,not(b))"),
            ("NOT NOT a", "not(not(a))"),
            ("(a OR b) AND c", "and(or(a,b),c)"),
            ("a NEAR/3 b", "near3(a,b)"),
            ("a ONEAR/0 b", "onear0(a,b)"),
            ("(a OR \"b c\") NEAR/5 d*", "near5(or(a,\"b c\"),d*)"),
            ("NOT a NEAR/2 b", "not(near2(a,b))"),
            ("a NEAR/2 b AND c", "and(near2(a,b),c)"),
            ("title:a AND NOT title:b*", "and(title:a,not(title:b*))"),
            ("title:(a OR b)", "title:or(a,b)"),
            ("{US} AND troops", "and({US},troops)"),
            ("{\"Security Council\"}", "{Security Council}"),
            ("“peace talks”", "\"peace talks\""),
            ("\"country's leadership\"", "\"country's leadership\""),
            ("state-of-the-art", "state-of-the-art"),
            // Named lists stand wherever a literal can.
            ("@countries", "@countries"),
            ("@a OR b", "or(@a,b)"),
            (
                "(@leaders OR {US}) NEAR/5 @meet",
                "near5(or(@leaders,{US}),@meet)",
            ),
            ("@a ONEAR/2 title:@b", "onear2(@a,title:@b)"),
            (
                "title:@countries AND NOT @sport",
                "and(title:@countries,not(@sport))",
            ),
            ("@cameo_04.meet-x", "@cameo_04.meet-x"),
        ];
        for (query, expected) in table {
            let expr = parse_query(query).unwrap_or_else(|e| panic!("{query}: {e}"));
            assert_eq!(show(&expr), expected, "{query}");
        }
    }

    #[test]
    fn spans_cover_the_written_text() {
        let q = "aid AND (food OR \"relief supplies\")";
        let e = parse_query(q).unwrap();
        let ExprKind::And(ops) = &e.kind else {
            panic!()
        };
        assert_eq!(&q[ops[1].span.clone()], "(food OR \"relief supplies\")");
        assert_eq!(&q[e.span.clone()], q);
    }

    #[test]
    fn errors_point_at_the_problem_and_say_what_to_write() {
        // (query, text under the span, words the help must contain)
        let table = [
            (
                "peace talks",
                "talks",
                "quote the words as a phrase: \"peace talks\"",
            ),
            ("Zürich Genève", "Genève", "`Zürich AND Genève`"),
            ("\"hearing aid\" foo", "foo", "`\"hearing aid\" AND foo`"),
            ("aid -hearing", "-", "AND NOT hearing"),
            // The fix depends on what comes before, so that following it literally gives a
            // valid query (fresh-user reviews, 2026-11-30: "write AND NOT hearing" after an AND
            // gave "aid AND AND NOT hearing"; a sign before a phrase, a group or a field, or
            // followed by a space, was misdiagnosed).
            ("aid AND -hearing", "-", "write NOT hearing"),
            ("aid AND !hearing", "!", "write NOT hearing"),
            ("aid +convoy", "+", "AND convoy"),
            ("aid AND +convoy", "+", "write convoy"),
            ("-hearing AND aid", "-", "write NOT hearing"),
            ("!hearing", "!", "write NOT hearing"),
            ("aid NEAR/3 -hearing", "-", "(a NEAR/3 b) AND NOT hearing"),
            ("aid OR -hearing", "-", "with `AND NOT hearing`"),
            ("+aid +convoy", "+", "write aid"),
            ("aid -\"hearing aid\"", "-", "write AND NOT \"hearing aid\""),
            ("aid AND !\"hearing aid\"", "!", "write NOT \"hearing aid\""),
            ("aid AND -(hearing OR first)", "-", "write NOT (…)"),
            ("aid - hearing", "-", "write AND NOT hearing"),
            ("title:aid -body:hearing", "-", "write AND NOT body:hearing"),
            // Quotes of different lengths around the phrase (found by the property test
            // `parser_never_panics`: the closing quote's length was assumed to be the opening's).
            (
                "aid - \u{201c}hearing aid\"",
                "-",
                "write AND NOT \u{201c}hearing aid\"",
            ),
            (
                "aid - \"hearing aid\u{201d}",
                "-",
                "write AND NOT \"hearing aid\u{201d}",
            ),
            ("a && b", "&&", "AND"),
            // Operators of other query languages are said not to be operators (a new user's
            // review, 2026-12: `oil XOR gas` got "write `oil AND XOR`").
            ("oil XOR gas", "XOR", "AND, OR, NOT, NEAR/n and ONEAR/n"),
            ("oil XOR gas", "XOR", "(a OR b) AND NOT (a AND b)"),
            ("oil AND XOR gas", "XOR", "AND, OR, NOT, NEAR/n and ONEAR/n"),
            ("oil NOR gas", "NOR", "NOT (a OR b)"),
            ("oil ANDNOT gas", "ANDNOT", "a AND NOT b"),
            ("oil W/3 gas", "W/3", "a NEAR/3 b"),
            ("oil PRE/2 gas", "PRE/2", "a ONEAR/2 b"),
            ("a || b", "||", "OR"),
            ("peace and talks", "and", "write AND"),
            ("a AND", "", "trailing operator"),
            ("a OR OR b", "OR", "doubled"),
            ("(a OR b", "(", ")"),
            ("a OR b)", ")", "("),
            ("\"peace talks", "\"peace talks", "close"),
            ("a NEAR b", "NEAR", "NEAR/5"),
            ("a NEAR/x b", "x", "NEAR/5"),
            ("a near/3 b", "near/3", "NEAR/3"),
            ("a NEAR/3 b NEAR/2 c", "NEAR/2", "(a NEAR/2 b) AND"),
            ("(a AND b) NEAR/3 c", "(a AND b)", "outside"),
            ("country:France", "country:", "title:"),
            ("{US", "{US", "}"),
            ("{nat*}", "*", "{NATO}"),
            ("()", "()", "term"),
            ("\"\"", "\"\"", "words"),
            ("", "", "ceasefire"),
            ("@ AND b", "@", "e.g. @countries"),
            (
                "a OR @count*",
                "@count*",
                "wildcards belong in the list's entries",
            ),
            ("@coun/tries", "@coun/tries", "under [lists]"),
        ];
        for (query, under, help) in table {
            let err = parse_query(query).expect_err(query);
            assert_eq!(&query[err.span.clone()], under, "{query}: {err}");
            let h = err.help.clone().unwrap_or_default();
            assert!(h.contains(help), "{query}: help {h:?} lacks {help:?}");
        }
    }

    /// Regression (a new user's review): `oil XOR gas` was answered with "write `oil AND XOR`".
    /// `XOR` is said not to be an operator, with the list of the operators there are; quoted,
    /// or in lowercase, it is a word like any other.
    #[test]
    fn xor_is_not_an_operator_and_the_operators_are_listed() {
        let err = parse_query("oil XOR gas").unwrap_err();
        assert_eq!(err.message, "`XOR` is not an operator");
        assert_eq!(err.span, 4..7);
        let help = err.help.unwrap();
        for op in ["AND", "OR", "NOT", "NEAR/n", "ONEAR/n"] {
            assert!(help.contains(op), "{help}");
        }
        assert!(!help.contains("oil AND XOR"), "{help}");
        assert!(parse_query("oil AND \"XOR\"").is_ok());
        assert!(parse_query("oil AND xor").is_ok());
        assert!(parse_query("{XOR}").is_ok());
        // Capitals that are no operator anywhere stay terms (and the usual error).
        let err = parse_query("oil NATO").unwrap_err();
        assert!(err.help.unwrap().contains("oil AND NATO"));
    }

    /// Regression, found by the `parser_never_panics` property test: a lone curly quote in braces
    /// once sliced the string backwards.
    #[test]
    fn lone_curly_quote_in_braces() {
        let expr = parse_query("{“}").unwrap();
        assert!(matches!(expr.kind, ExprKind::Literal(ref l) if l.text == "“"));
    }

    #[test]
    fn limits() {
        let deep = format!(
            "{}a{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert!(parse_query(&deep).unwrap_err().message.contains("nesting"));
        let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse_query(&ok).is_ok());
        let long = vec!["aid"; MAX_QUERY_BYTES / 7 + 1].join(" OR ");
        assert!(parse_query(&long)
            .unwrap_err()
            .message
            .contains("longer than"));
        assert!(parse_query("a NEAR/101 b").is_err());
        assert!(parse_query("a NEAR/100 b").is_ok());
    }
}
