//! The input the engine classifies.

use serde::{Deserialize, Serialize};

/// A text field of an article. Rules match in all fields unless scoped with `title:` or `body:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Field {
    /// The headline.
    #[serde(rename = "ARTICLE_FIELD_TITLE")]
    Title,
    /// The article text.
    #[serde(rename = "ARTICLE_FIELD_BODY")]
    Body,
}

impl Field {
    /// All fields, in the order they are searched.
    pub const ALL: [Field; 2] = [Field::Title, Field::Body];

    /// The name used in queries (`title`, `body`).
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Body => "body",
        }
    }

    /// Index into per-field arrays (`Title` = 0, `Body` = 1).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// An article to classify: borrowed text, so classifying copies nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Article<'a> {
    /// Caller's identifier, echoed in the result; may be empty.
    pub id: &'a str,
    /// Headline; may be empty.
    pub title: &'a str,
    /// Article text; may be empty.
    pub body: &'a str,
}

impl<'a> Article<'a> {
    /// The text of `field`.
    pub fn field(&self, field: Field) -> &'a str {
        match field {
            Field::Title => self.title,
            Field::Body => self.body,
        }
    }

    /// Whether title and body are both empty or whitespace only: such an article has nothing to
    /// classify (the service answers INVALID_ARGUMENT naming `article.body`; the CLI refuses it).
    pub fn is_blank(&self) -> bool {
        self.title.trim().is_empty() && self.body.trim().is_empty()
    }
}
