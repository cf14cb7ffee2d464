//! PETRARCH2's actor, agent and verb dictionaries as list files (`rubric import petrarch`).
//!
//! PETRARCH2 (openeventdata/petrarch2, MIT licence) codes political events with dictionaries of
//! *actors* (countries, office holders, international organisations, armed groups), *agents*
//! (generic roles: ministers, troops, rebels, refugees) and *verbs* (the CAMEO event ontology).
//! Those are the words headlines are made of; [`petrarch`] turns them into named lists for a rule
//! file's `[lists]` table (`@countries NEAR/5 @cameo_04`). A list file holds one entry a line,
//! written like a query literal: words (a phrase), a trailing `*` for a prefix wildcard, `{...}`
//! for a case-sensitive term. [`list_file_text`] and [`lists_toml`] give the files' text.
//!
//! # Input
//! [`Dictionaries::read`] reads, from one directory (`../shared/data/dictionaries` for the
//! command line), the five files [`COUNTRIES_FILE`], [`INTERNATIONAL_FILE`],
//! [`MIL_NON_STATE_FILE`], [`AGENTS_FILE`] and [`VERBS_FILE`], and [`ISSUES_FILE`] if present (its
//! words only extend the English vocabulary below). Formats, from petrarch2's
//! `docs/source/dictionaries.rst` and `PETRreader.py`: `#` starts a comment; in the actor files a
//! record is a primary phrase with an optional `[CODE]`, `+` synonym lines, and tab-indented date
//! restrictions `[CODE 991001-020128]`, `[CODE >011222]`, `[CODE <920305]` or `[CODE]`; `_` joins
//! the words of a phrase. A CAMEO actor code is a country (`AFG`, three letters; a country of the
//! Countries file wins over a role of the same letters: `MUS` is Mauritius) followed by roles
//! (`GOV` government, `MIL` military, `ELI` elites, `OPP` opposition, `REB` rebels, then
//! specialisations: `USAGOVMIL`), or an international code (`IGOUNO`, `NGO...`, `MNC...`, `MED`,
//! `IMG...`).
//!
//! # Lists
//! Names are lowercase with `_`. Entries keep source order (the first occurrence wins) and are
//! unique once normalized as the engine normalizes them (case, accents, `U.S.` = `US`). Actor
//! names are written in title case (`Kasymzhomart Tokayev`, `Islamic Republic of Afghanistan`,
//! `Bashar al-Assad`; acronyms of organisations in capitals: `UN Security Council`), agents and
//! verbs in lowercase; matching ignores case either way.
//!
//! | list | from |
//! |---|---|
//! | `countries` | country-level records of the Countries file (a code that is a bare country code, or a country with a part that is no role, such as `USAASM`, `BIHSRP`): the primary name and every `+` line |
//! | `leaders_gov`, `leaders_mil`, `leaders_eli` | people, in any actor file, with a code whose role starts with `GOV` (any government post), with `MIL` among its roles (`MIL`, `GOVMIL`: defence ministers, commanders), or starting with `ELI` (elites: former office holders, party leaders), by the cut-off rule |
//! | `surnames_gov`, `surnames_mil` | the last names of the people of `leaders_gov` and `leaders_mil`, by the surname rule |
//! | `opposition` | people and organisations coded `OPP` (Syrian National Coalition, dissidents) |
//! | `institutions_gov`, `institutions_mil` | organisations of the Countries file coded `GOV`, `LEG`, `JUD` (White House, Knesset) and `MIL`, `SPY`, `COP` (Israel Defense Forces, Mossad, FBI) |
//! | `igos`, `igo_officials` | organisations and people coded `IGO...` |
//! | `ngos`, `ngo_officials` | organisations and people coded `NGO...` or `NGM...` |
//! | `companies`, `media` | organisations coded `MNC...` (multinational corporations) and `MED` (news media) |
//! | `armed_groups` | every name of the MilNonState file, and the organisations and people of the other actor files coded `REB` or `IMG` (Free Syrian Army, Nusra Front) |
//! | `agents_gov`, `agents_mil`, `agents_reb`, `agents_ref`, ... | the agents file, one list per agent code (the first three letters after `~`: `~GOVMED` counts as `gov`) with at least [`MIN_AGENT_LINES`] lines; the smaller codes share `agents_other` |
//! | `cameo_01` ... `cameo_20` | the verbs and verb phrases of the verb file, by the two-digit CAMEO root of their code (04 consult, 07 provide aid, 19 fight) |
//!
//! Capitals are not a list of their own: the Countries file lists a country's capital, its major
//! cities and often its provinces as `+` lines mixed with its names and adjectives (`+KABUL_`,
//! `+HERAT_`, `+HELMAND`), with nothing to tell them apart, so they stay in `countries`.
//!
//! People and organisations: a record with a role code and a date restriction is a person; an
//! undated one is a person when its name has two to five words, no organisation word (`Council`,
//! `Front`, `Army`, ... in [`ORGANISATION_WORDS`]),
//! and starts with a given name (the first word of a dated person's name that reads as a
//! person's: no English word in it). Everything else is an organisation. A heuristic: a few
//! undated people with rare given names are written as organisations (`Gillian Mellsop` in
//! `igos`), a few organisations as people (`Shin Bet`).
//!
//! # Office holders and the cut-off
//! A person goes to `leaders_gov` (and so on) when at least one of their codes for that role is in
//! force on or after the cut-off date ([`Options::cutoff`], default 1990-01-01): a range
//! `991001-020128` that ends on or after it, `<920305` (in force before a date) when that date is
//! on or after it, or an open restriction: `>011222`, a bare `[AFGELI]` (PETRARCH2's default for
//! any other time), or a bare single date (read as "from then on", and noted). Dates are `YYMMDD`
//! or `YYYYMMDD` as in PETRARCH2's `dstr_to_ordate`: a two-digit year up to 30 is 20YY, above 30
//! it is 19YY (`451024` is 1945, `020128` is 2002); a 7-digit date is read as `YYMMDD` and a
//! longer one by its first 8 digits, as PETRARCH2 does (both noted). The same rule applies to
//! the dated codes of organisations. Records left out by the cut-off are counted
//! ([`Petrarch::before_cutoff`]), not noted: the cut-off is the caller's choice.
//!
//! A kept person is written with every name form of the record (`Hamid Karzai`, `President
//! Karzai`); a one-word form (`Karzai`, a mononym such as `Suharto`) only when it passes the
//! surname rule (`Assad`, `Mubarak` do not: they begin other people's names), and then in the
//! `surnames_*` list too.
//!
//! # The surname rule
//! `surnames_gov`/`surnames_mil` take the last word of each name form that reads as a person's
//! name (no English word before it: `Hamid Karzai`, not `President Karzai` or `Assad Regime`),
//! after `Jr`, `III` and the like and without an Arabic article (`al-Assad` gives `Assad`), and
//! drop it when it
//! 1. has fewer than 4 letters (`Abe`, `Kim`, `Ali`);
//! 2. is a common English word (the built-in [`STOPLIST`]:
//!    `Brown`, `Bush`, `Ford`, `Major`, `Rice`) or an organisation word (`Regime`);
//! 3. is a word of the agents file (`President`, `General`, `King`) or of the verb and issue
//!    dictionaries (English words as PETRARCH2 uses them: `Rocket`, `Dinar`; the names of armed
//!    groups in the issue dictionary do not count);
//! 4. is a one-word name of the `countries` list (`Jordan`, `Georgia`);
//! 5. is also the first word of a person's name (a given name: `Hassan`, `Abbas`);
//! 6. is the last name of at least [`COMMON_SURNAME_PEOPLE`] different people (a family name too
//!    common to point at anyone: `Singh`, `Khan`).
//!
//! A headline classifier fires on every entry, so the rule errs on leaving surnames out; it
//! cannot know every English word, and common Western surnames (`Taylor`, `Cooper`) stay.
//!
//! # Names
//! `_` becomes a space; `,`, `/`, `:` and other punctuation become spaces (the engine ignores
//! punctuation, so `Samoa, American` and `Samoa American` match the same text); `+` inside a
//! phrase separates two names (a lost line break: `..._ISLAMI+_ISLAMIC_ADEN_ARMY_`). A
//! parenthesised abbreviation is dropped from the name and kept as its own exact entry when it is
//! one word of 3 to 6 capitals and digits that is not an English word, or whose letters are
//! initials of the name (`ADEN_ABYAN_ISLAMIC_ARMY_(AAIA)_` gives `Aden Abyan Islamic Army` and
//! `{AAIA}`; `(LET)` after `LASHKAR-E-TAIBA`); other parenthesised text (`(KINSHASA)`,
//! `(SOUTH)`) is dropped and noted, and an abbreviation that is a country's name (`(CHINA)` after
//! a company) is not repeated. A one-word organisation or place name that is a common word is
//! written as an exact term, in capitals when short (`{US}`, `{WHO}`, `{CARE}`) and capitalised
//! otherwise (`{Pentagon}`, `{Reading}`); a dotted acronym always is (`U.S.` gives `{US}`). A
//! primary line without a code directly followed by another primary line (a missing `+`, as in
//! the Brezhnev record) is read as another name of that record, and noted: PETRARCH2 would give
//! it no code. Names with a damaged character (U+FFFD) or without letters (`313`) are left out
//! and noted.
//!
//! # Agents
//! `!NAME! = A, B, C` defines a substitution set; `CONGRESS!PERSON!` becomes `congressman`,
//! `congressmen`, ... with no further plural, as in PETRARCH2. The set name inside a word
//! (`AD!MINIST!RATION`, left by a find-and-replace in the file) is read as the word
//! (`administration`) and noted. `{PLURAL}` after a phrase gives its plural, `{}` none; otherwise
//! the regular English plural of the head noun is added (the last word, or the word before `of`/
//! `for`: `ministers of defence`), as PETRARCH 0.5 generates regular plurals (`+s`, `+es` after
//! `s`, `x`, `z`, `ch`, `sh`, `y` → `ies` after a consonant, `-man` → `-men`); nouns that are
//! plural or uncountable already (`police`, `servicemen`, `personnel`) and words in `-ed`
//! (`retired`) get none. A blank between words (PETRARCH2: other words may come between) is
//! written as a phrase (consecutive words).
//!
//! Stems: PETRARCH2's reader does not stem (`PETRreader.py`: "Final underscores are no longer
//! needed since PETR does not do stemming"), and almost every agent is a whole word without a
//! final `_` (`FARMER`, `MOB`, `MAN`): writing those as wildcards would make `mob*` match
//! "mobilize". So a final word without `_` is a whole word with its plural, except the stems that
//! survive from TABARI, recognised as words that occur nowhere in the six dictionaries (nor their
//! plurals) while a completion of them with `y`, `ies`, `er`, `ers`, `ry` or `ries` does
//! (`MINIST`, `COMPAN`, `AUTHORIT`): those become prefix wildcards (`defence minist*`), and a
//! stem shorter than [`MIN_PREFIX_CHARS`] characters is left out and noted.
//!
//! # Verbs
//! Synonym sets `&NAME` with `+` members are expanded where a pattern names them, with the
//! plural of each member unless the member or the set name ends in `_`. In a verb block (`---
//! NAME [CODE] ---`), each verb line gives its forms: those listed in `{...}` with the verb, else
//! the regular ones (`-s`/`-es`/`-ies`, `-ed`/`-d`/`-ied`, `-ing` with `e` dropped, the final
//! consonant doubled in one-syllable verbs such as `ban`, `stop` and in stressed endings such as
//! `admit`, `patrol`, `refer`, both spellings for a final `l`: `canceled`, `cancelled`), with the
//! past forms of [`IRREGULAR_VERBS`] for the irregular
//! verbs the file does not spell out (`SET`, `BRING`). A multi-word verb (`+CORDON_OFF`,
//! `WIRE_+TAP`) inflects its `+` word. The forms go to the list of the verb's own code, else the
//! block's; a verb coded `---` (no event) is only used by patterns.
//!
//! A pattern line (`- * (FOR {FINANCIAL AID}) [0231] # ASK`) is reduced to consecutive words:
//! the forms of the verb its comment names (a verb of the block, else of another block, by name
//! or by form: `# RULED_OUT`, else the comment's word inflected when it is one word in capitals:
//! `# URGE`; every verb of the block when the comment names none), then the words after `*` with
//! parentheses and braces removed and synonym sets expanded (`asked for financial aid`);
//! `BY/WITH` gives both words. Words before `*` (the subject's head) are dropped when words follow
//! the verb, and written before the verb when none do (`- TALKS * [164] # COLLAPSE` gives `talks
//! collapsed`). An actor slot (`$`, `+`, `%`, `^`) at either end is dropped; one in the middle
//! ends the phrase there. The code is the active one (before `:`), else the passive one
//! (`[:173]`). Reported and left out: patterns coded `---` (PETRARCH2 codes no event for them),
//! patterns with no word around the verb, patterns naming an undefined synonym set, patterns
//! expanding to more than [`MAX_PATTERN_PHRASES`] phrases, and the transformations (`~ a (a b
//! ATTACK) SAY = a b 015`), which have no list form.
//!
//! # Notes
//! Every source line that was left out or changed in a way a reader would not guess is reported
//! in [`Petrarch::notes`] with its file and line, except records before the cut-off (counted) and
//! surnames the surname rule drops (the full names stay). Every entry is checked before it is
//! written: letters, digits, spaces, `'`, `-`, `.`, `&`, a final `*` after at least
//! [`MIN_PREFIX_CHARS`] characters, or one exact term in braces, and at most [`MAX_PHRASE_WORDS`]
//! words.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;

use super::petrarch_words::{
    IRREGULAR_VERBS, NAME_SUFFIXES, ORGANISATION_WORDS, PARTICLES, STOPLIST,
};
use super::{consonant_y, noun_plurals, quote, sibilant, ImportNote};
use crate::engine::{MAX_PHRASE_WORDS, MIN_PREFIX_CHARS};
use crate::text::{tokenize, NormalizeOptions};

/// The country actors file: countries with their names and cities, then their office holders.
pub const COUNTRIES_FILE: &str = "Phoenix.Countries.actors.txt";
/// The international actors file: IGOs, NGOs, multinational corporations, media, their officials.
pub const INTERNATIONAL_FILE: &str = "Phoenix.International.actors.txt";
/// The militarized non-state actors file: armed groups.
pub const MIL_NON_STATE_FILE: &str = "Phoenix.MilNonState.actors.txt";
/// The agents file: generic roles (`MINISTER`, `TROOPS`) with codes such as `~GOV`.
pub const AGENTS_FILE: &str = "Phoenix.agents.txt";
/// The CAMEO verb dictionary: synonym sets, verb blocks with patterns, transformations.
pub const VERBS_FILE: &str = "CAMEO.2.0.txt";
/// The issue-coding dictionary; optional, read for its English words only.
pub const ISSUES_FILE: &str = "Phoenix.IssueCoding.txt";
/// The MIT licence of the dictionaries, copied beside the lists by the command line.
pub const LICENSE_FILE: &str = "LICENSE-petrarch2.txt";

/// Agent codes with fewer lines than this share the list `agents_other`.
pub const MIN_AGENT_LINES: usize = 10;
/// A surname shared by this many different people (in all actor files, any role) is left out of
/// the `surnames_*` lists.
pub const COMMON_SURNAME_PEOPLE: usize = 5;
/// Most phrases one verb pattern may expand to (synonym sets multiply), per verb form.
pub const MAX_PATTERN_PHRASES: usize = 512;

/// The text of the PETRARCH2 dictionaries (see the module documentation for each file).
#[derive(Clone, Debug, Default)]
pub struct Dictionaries {
    /// [`COUNTRIES_FILE`].
    pub countries: String,
    /// [`INTERNATIONAL_FILE`].
    pub international: String,
    /// [`MIL_NON_STATE_FILE`].
    pub mil_non_state: String,
    /// [`AGENTS_FILE`].
    pub agents: String,
    /// [`VERBS_FILE`].
    pub verbs: String,
    /// [`ISSUES_FILE`], when present.
    pub issues: Option<String>,
}

/// A dictionary file that could not be read.
#[derive(Debug)]
pub struct ReadError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub error: std::io::Error,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The cause is the source: `{:#}` (anyhow) prints "...: No such file or directory".
        write!(
            f,
            "cannot read PETRARCH2 dictionary {}",
            self.path.display()
        )
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl Dictionaries {
    /// Reads the dictionaries from `dir` (UTF-8; invalid bytes become U+FFFD and the names holding
    /// them are noted and left out).
    ///
    /// # Errors
    /// The first of the five required files that cannot be read; [`ISSUES_FILE`] is optional.
    pub fn read(dir: &Path) -> Result<Dictionaries, ReadError> {
        let read = |name: &str| -> Result<String, ReadError> {
            let path = dir.join(name);
            // A regular file of at most 64 MiB: a device or a FIFO is refused before it is read.
            let limit = crate::rules::MAX_RULE_FILE_BYTES;
            let checked = std::fs::metadata(&path).and_then(|meta| {
                if !meta.is_file() {
                    Err(std::io::Error::other("not a regular file"))
                } else if meta.len() > limit {
                    Err(std::io::Error::other(format!(
                        "{} bytes, more than the limit of {limit}",
                        meta.len()
                    )))
                } else {
                    Ok(())
                }
            });
            checked
                .and_then(|()| std::fs::read(&path))
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .map_err(|error| ReadError { path, error })
        };
        Ok(Dictionaries {
            countries: read(COUNTRIES_FILE)?,
            international: read(INTERNATIONAL_FILE)?,
            mil_non_state: read(MIL_NON_STATE_FILE)?,
            agents: read(AGENTS_FILE)?,
            verbs: read(VERBS_FILE)?,
            issues: read(ISSUES_FILE).ok(),
        })
    }
}

/// A calendar date (proleptic Gregorian), ordered by year, month, day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, e.g. 1990.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month, 1 to 31 (checked against the month and leap years).
    pub day: u8,
}

impl Date {
    /// The date, or `None` when the month or day does not exist (2010-09-31, 2010-02-29).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let leap =
            year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days)
            .contains(&day)
            .then_some(Date { year, month, day })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = String;

    /// Parses `YYYY-MM-DD`.
    fn from_str(s: &str) -> Result<Date, String> {
        let bad = || format!("`{s}` is not a date: write YYYY-MM-DD, e.g. 1990-01-01");
        let mut parts = s.trim().split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (Ok(y), Ok(m), Ok(d)) = (y.parse(), m.parse(), d.parse()) else {
            return Err(bad());
        };
        Date::new(y, m, d).ok_or_else(bad)
    }
}

/// Options of [`petrarch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Office holders are kept when one of their codes for a role is in force on or after this
    /// date (see the module documentation). Default 1990-01-01.
    pub cutoff: Date,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            cutoff: Date {
                year: 1990,
                month: 1,
                day: 1,
            },
        }
    }
}

/// Where an entry came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLine {
    /// The dictionary's file name, e.g. [`COUNTRIES_FILE`].
    pub file: &'static str,
    /// 1-based line.
    pub line: usize,
}

/// One list: a list file's content and what to say about it in `[lists]`.
#[derive(Clone, Debug)]
pub struct ListFile {
    /// The list's name (`countries`; the file is `countries.txt`).
    pub name: String,
    /// What the list holds, in a sentence (for the file header and `description` in `[lists]`).
    pub description: String,
    /// The dictionary files its entries come from, in the order first used.
    pub sources: Vec<&'static str>,
    /// The entries, one list-file line each, unique once normalized, in source order.
    pub entries: Vec<String>,
    /// For each entry (same index), the source line of its first occurrence.
    pub source_lines: Vec<SourceLine>,
}

/// The result of [`petrarch`].
#[derive(Clone, Debug)]
pub struct Petrarch {
    /// The lists with at least one entry, in a fixed order: actor lists, agents, verbs.
    pub lists: Vec<ListFile>,
    /// Source lines left out or changed, by file (countries, international, non-state, agents,
    /// verbs), then line.
    pub notes: Vec<ImportNote>,
    /// People and organisations left out because none of their codes reaches the cut-off.
    pub before_cutoff: usize,
}

impl Petrarch {
    /// Number of entries in all lists.
    pub fn entries(&self) -> usize {
        self.lists.iter().map(|l| l.entries.len()).sum()
    }

    /// Number of distinct source lines with at least one note.
    pub fn noted_lines(&self) -> usize {
        let mut lines: Vec<(&str, usize)> = self
            .notes
            .iter()
            .map(|n| (n.file.as_str(), n.line))
            .collect();
        lines.sort_unstable();
        lines.dedup();
        lines.len()
    }
}

/// Converts the PETRARCH2 dictionaries into list files (see the module documentation for what
/// goes where and what is reported).
///
/// Pure: the same input and options give the same lists and notes, byte for byte.
pub fn petrarch(dictionaries: &Dictionaries, options: &Options) -> Petrarch {
    let mut out = Builder::default();
    for (name, description) in ACTOR_LISTS {
        out.declare(name, description.to_string());
    }
    let vocabulary = Vocabulary::new(dictionaries);
    let actor_files: [(&'static str, &str); 3] = [
        (COUNTRIES_FILE, &dictionaries.countries),
        (INTERNATIONAL_FILE, &dictionaries.international),
        (MIL_NON_STATE_FILE, &dictionaries.mil_non_state),
    ];
    let mut records = Vec::new();
    for (file, text) in actor_files {
        records.extend(parse_actor_file(file, text, &vocabulary, &mut out));
    }
    let before_cutoff = actors(&records, &vocabulary, options, &mut out);
    agents(&dictionaries.agents, &vocabulary, &mut out);
    verbs(&dictionaries.verbs, &mut out);
    out.finish(before_cutoff)
}

/// A list file's text: a header comment (list, description, source files, licence, options,
/// number of entries) and the entries, one a line.
pub fn list_file_text(list: &ListFile, options: &Options) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "# {}: {}", list.name, list.description);
    let _ = writeln!(
        text,
        "# Source: {} of the PETRARCH2 dictionaries (github.com/openeventdata/petrarch2),",
        list.sources.join(", ")
    );
    let _ = writeln!(
        text,
        "# MIT licence (Copyright (c) 2014-2015 Open Event Data Alliance; full text in {LICENSE_FILE})."
    );
    let _ = writeln!(
        text,
        "# Written by `rubric import petrarch --cutoff {}`: {} {}, one a line.",
        options.cutoff,
        list.entries.len(),
        if list.entries.len() == 1 {
            "entry"
        } else {
            "entries"
        }
    );
    text.push('\n');
    for entry in &list.entries {
        text.push_str(entry);
        text.push('\n');
    }
    text
}

/// A `[lists]` table naming every list file (`NAME = { file = "NAME.txt", description = "..." }`),
/// to paste into a rule file kept beside the list files.
pub fn lists_toml(lists: &[ListFile], options: &Options) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Lists written by `rubric import petrarch --cutoff {}` from the PETRARCH2 dictionaries\n\
         # (MIT licence, see {LICENSE_FILE}). Copy into a rule file in this directory only the\n\
         # lines of the lists its queries use (`rubric check` warns of every list no rule uses);\n\
         # queries name a list as @name: @countries NEAR/5 @cameo_04.\n",
        options.cutoff
    );
    text.push_str("[lists]\n");
    for list in lists {
        let _ = writeln!(
            text,
            "{} = {{ file = {}, description = {} }}",
            list.name,
            quote(&format!("{}.txt", list.name)),
            quote(&list.description)
        );
    }
    text
}

/// The actor lists, in output order, with their descriptions.
const ACTOR_LISTS: [(&str, &str); 17] = [
    ("countries", "countries and territories: names, spellings, adjectives, and the capitals, cities and provinces the dictionary lists with them"),
    ("leaders_gov", "people in government posts (CAMEO GOV codes: heads of state and government, ministers) in office on or after the cut-off"),
    ("surnames_gov", "last names of the people of leaders_gov, without short, common, ambiguous ones"),
    ("leaders_mil", "people in military posts (CAMEO MIL and GOVMIL codes: defence ministers, commanders) in office on or after the cut-off"),
    ("surnames_mil", "last names of the people of leaders_mil, without short, common, ambiguous ones"),
    ("leaders_eli", "elites (CAMEO ELI codes: former office holders, party and opinion leaders) on or after the cut-off"),
    ("institutions_gov", "state institutions coded GOV (White House, Kremlin, Knesset, ministries)"),
    ("institutions_mil", "armed forces, intelligence and police institutions coded MIL, SPY or COP"),
    ("opposition", "opposition groups and figures (CAMEO OPP codes: Syrian National Coalition, dissidents)"),
    ("igos", "international organisations (CAMEO IGO codes): names, spellings, abbreviations"),
    ("igo_officials", "officials of international organisations (IGO codes) in office on or after the cut-off"),
    ("ngos", "non-governmental organisations (CAMEO NGO and NGM codes)"),
    ("ngo_officials", "people of non-governmental organisations (NGO codes)"),
    ("armed_groups", "armed non-state groups: insurgents, militias, terrorist organisations (MilNonState file; REB and IMG codes elsewhere)"),
    ("companies", "multinational corporations (CAMEO MNC codes)"),
    ("media", "news media (CAMEO MED code)"),
    ("agents_other", "agents of the smaller agent codes"),
];

/// The CAMEO root codes and what they stand for.
const CAMEO_ROOTS: [&str; 20] = [
    "make public statement",
    "appeal",
    "express intent to cooperate",
    "consult",
    "engage in diplomatic cooperation",
    "engage in material cooperation",
    "provide aid",
    "yield",
    "investigate",
    "demand",
    "disapprove",
    "reject",
    "threaten",
    "protest",
    "exhibit force posture",
    "reduce relations",
    "coerce",
    "assault",
    "fight",
    "use unconventional mass violence",
];

/// What the agent codes stand for.
const AGENT_CODES: [(&str, &str); 33] = [
    ("AGR", "agriculture (farmers, peasants)"),
    ("BUD", "Buddhists"),
    ("BUS", "business (companies, executives, traders)"),
    ("CHR", "Christians (clergy, churches)"),
    ("COP", "police and prisons"),
    ("CRM", "criminals"),
    ("CVL", "civilians"),
    ("EDU", "education (students, teachers, universities)"),
    ("ELI", "elites"),
    ("ENV", "environmentalists"),
    ("GOV", "government (ministers, officials, ministries)"),
    ("HIN", "Hindus"),
    ("HLH", "health (doctors, hospitals)"),
    ("HRI", "human rights"),
    ("IGO", "international organisations"),
    ("IMG", "international militarized groups"),
    ("JEW", "Jews"),
    ("JUD", "judiciary (judges, courts, prosecutors)"),
    ("LAB", "labour (workers, unions)"),
    ("LEG", "legislators"),
    ("MED", "media (journalists, broadcasters)"),
    ("MIL", "military (troops, soldiers, officers)"),
    ("MUS", "Muslims"),
    ("NGO", "non-governmental organisations"),
    ("OPP", "opposition (dissidents, opposition parties)"),
    ("PPL", "people"),
    ("PTY", "political parties"),
    ("RAD", "radicals"),
    ("REB", "rebels (insurgents, guerrillas, militants)"),
    ("REF", "refugees (displaced people, asylum seekers)"),
    ("REL", "religion"),
    ("SPY", "intelligence services"),
    ("UAF", "unaffiliated armed forces (militias, gunmen)"),
];

/// CAMEO role codes: the parts of an actor code after the country that name a role.
const ROLES: &str = "GOV MIL REB OPP PTY COP JUD SPY MED EDU BUS CRM CVL ELI LEG HLH REF MOD RAD \
                     AGR ENV HRI LAB UAF INS SET UIS DEV IGO NGO NGM MNC IMG MUS CHR JEW HIN BUD REL";

// ---------------------------------------------------------------------------------------------
// Output

#[derive(Default)]
struct Builder {
    lists: Vec<ListBuilder>,
    by_name: HashMap<String, usize>,
    notes: Vec<ImportNote>,
}

struct ListBuilder {
    list: ListFile,
    seen: HashSet<String>,
}

impl Builder {
    fn declare(&mut self, name: &str, description: String) {
        if self.by_name.contains_key(name) {
            return;
        }
        self.by_name.insert(name.to_owned(), self.lists.len());
        self.lists.push(ListBuilder {
            list: ListFile {
                name: name.to_owned(),
                description,
                sources: Vec::new(),
                entries: Vec::new(),
                source_lines: Vec::new(),
            },
            seen: HashSet::new(),
        });
    }

    fn note(&mut self, file: &str, line: usize, message: impl Into<String>) {
        self.notes.push(ImportNote {
            file: file.to_owned(),
            line,
            message: message.into(),
        });
    }

    /// Adds an entry to a declared list, after checking it; `false` when it was a duplicate or
    /// invalid (invalid entries are noted).
    fn add(&mut self, list: &str, entry: &str, file: &'static str, line: usize) -> bool {
        let key = match entry_key(entry) {
            Ok(key) => key,
            Err(why) => {
                self.note(file, line, format!("`{entry}` {why}; left out"));
                return false;
            }
        };
        let index = self.by_name[list];
        let builder = &mut self.lists[index];
        if !builder.seen.insert(key) {
            return false;
        }
        builder.list.entries.push(entry.to_owned());
        builder.list.source_lines.push(SourceLine { file, line });
        if !builder.list.sources.contains(&file) {
            builder.list.sources.push(file);
        }
        true
    }

    fn finish(mut self, before_cutoff: usize) -> Petrarch {
        let rank = |file: &str| {
            [
                COUNTRIES_FILE,
                INTERNATIONAL_FILE,
                MIL_NON_STATE_FILE,
                AGENTS_FILE,
                VERBS_FILE,
            ]
            .iter()
            .position(|f| *f == file)
            .unwrap_or(usize::MAX)
        };
        self.notes.sort_by_key(|n| (rank(&n.file), n.line));
        Petrarch {
            lists: self
                .lists
                .into_iter()
                .map(|b| b.list)
                .filter(|l| !l.entries.is_empty())
                .collect(),
            notes: self.notes,
            before_cutoff,
        }
    }
}

/// Checks an entry's syntax and returns its key: the engine's folded words (and `*` for a
/// wildcard), so that entries the engine would match alike count once.
fn entry_key(entry: &str) -> Result<String, String> {
    if entry.is_empty() {
        return Err("is empty".into());
    }
    if entry.trim() != entry || entry.contains("  ") {
        return Err("has stray spaces".into());
    }
    let (inner, exact) = match entry.strip_prefix('{') {
        Some(rest) => match rest.strip_suffix('}') {
            Some(inner) => (inner, true),
            None => return Err("has an unclosed `{`".into()),
        },
        None => (entry, false),
    };
    let mut wildcard = false;
    for word in inner.split(' ') {
        if !word.chars().any(char::is_alphanumeric) {
            return Err(format!("has a word without letters (`{word}`)"));
        }
        for (i, c) in word.char_indices() {
            let ok = c.is_alphanumeric() || "'-.&".contains(c);
            if c == '*' {
                if exact || i + 1 != word.len() {
                    return Err("has a `*` that is not at the end of a word".into());
                }
                let prefix = word[..i].chars().filter(|c| c.is_alphanumeric()).count();
                if prefix < MIN_PREFIX_CHARS {
                    return Err(format!(
                        "has a wildcard prefix shorter than {MIN_PREFIX_CHARS} characters"
                    ));
                }
                wildcard = true;
            } else if !ok {
                return Err(format!("has the character `{c}` (U+{:04X})", c as u32));
            }
        }
    }
    let tokens = tokenize(&inner.replace('*', ""), NormalizeOptions::default());
    if tokens.is_empty() {
        return Err("has no words".into());
    }
    if tokens.len() > MAX_PHRASE_WORDS {
        return Err(format!(
            "has {} words, more than the {MAX_PHRASE_WORDS} of a phrase",
            tokens.len()
        ));
    }
    let mut key: String = (0..tokens.len())
        .map(|i| tokens.folded(i))
        .collect::<Vec<_>>()
        .join(" ");
    if wildcard {
        key.push('*');
    }
    Ok(key)
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

/// Words the dictionaries themselves tell about, all lowercase.
struct Vocabulary {
    /// English words: the verb and issue dictionaries, the agents file, [`STOPLIST`].
    english: HashSet<String>,
    /// Every word of the agents file (phrases and substitution sets).
    agent_words: HashSet<String>,
    /// Words attested as whole words anywhere: the verb, issue and actor files, and the agents
    /// file's words that are not an unstopped final word (for recognising TABARI stems).
    attested: HashSet<String>,
    stoplist: HashSet<&'static str>,
    organisation_words: HashSet<&'static str>,
    particles: HashSet<&'static str>,
    suffixes: HashSet<&'static str>,
}

impl Vocabulary {
    fn new(d: &Dictionaries) -> Vocabulary {
        let words_of = |text: &str, into: &mut HashSet<String>| {
            for line in text.lines() {
                for word in strip_comment(line)
                    .split(|c: char| !c.is_alphabetic() && c != '\'')
                    .map(|w| w.trim_matches('\''))
                    .filter(|w| w.chars().count() > 1)
                {
                    into.insert(lower(word));
                }
            }
        };
        let mut english = HashSet::new();
        words_of(&d.verbs, &mut english);
        if let Some(issues) = &d.issues {
            // Not the names of armed groups (`abdullah azzam brigades`): they are no English.
            let plain: String = issues
                .lines()
                .filter(|l| !l.contains("NAMED_TERROR_GROUP"))
                .collect::<Vec<_>>()
                .join("\n");
            words_of(&plain, &mut english);
        }
        let mut attested = english.clone();
        words_of(&d.countries, &mut attested);
        words_of(&d.international, &mut attested);
        words_of(&d.mil_non_state, &mut attested);
        let mut agent_words = HashSet::new();
        for line in d.agents.lines() {
            let content = strip_comment(line).trim();
            if content.is_empty() {
                continue;
            }
            if content.contains('!') && content.contains('=') {
                for item in content.split('=').nth(1).unwrap_or_default().split(',') {
                    let item = lower(item.trim());
                    attested.insert(item.clone());
                    agent_words.insert(item);
                }
                continue;
            }
            let phrase = content.split(['[', '{']).next().unwrap_or_default();
            let stopped = phrase.trim_end().ends_with('_');
            // Without the substitution markers: `!MINIST!` is no word.
            let mut unmarked = String::new();
            for (i, piece) in phrase.split('!').enumerate() {
                if i % 2 == 0 {
                    unmarked.push_str(piece);
                }
                unmarked.push(' ');
            }
            let phrase = unmarked.as_str();
            let words: Vec<String> = phrase
                .split(|c: char| !c.is_alphabetic() && c != '\'')
                .map(|w| w.trim_matches('\''))
                .filter(|w| w.chars().count() > 1)
                .map(lower)
                .collect();
            for (i, word) in words.iter().enumerate() {
                if i + 1 < words.len() || stopped {
                    attested.insert(word.clone());
                }
                agent_words.insert(word.clone());
            }
            // Explicit plurals are words too.
            if let Some(plural) = content.split('{').nth(1) {
                for w in plural
                    .split('}')
                    .next()
                    .unwrap_or_default()
                    .split(|c: char| !c.is_alphabetic())
                    .filter(|w| w.len() > 1)
                {
                    attested.insert(lower(w));
                    agent_words.insert(lower(w));
                }
            }
        }
        english.extend(agent_words.iter().cloned());
        let set = |words: &'static str| words.split_whitespace().collect::<HashSet<_>>();
        let stoplist = set(STOPLIST);
        english.extend(stoplist.iter().map(|w| w.to_string()));
        Vocabulary {
            english,
            agent_words,
            attested,
            stoplist,
            organisation_words: set(ORGANISATION_WORDS),
            particles: set(PARTICLES),
            suffixes: set(NAME_SUFFIXES),
        }
    }

    /// `true` for a final agent word that is a TABARI stem (`minist`, `compan`), not a word.
    fn is_stem(&self, word: &str) -> bool {
        let known = |w: &str| self.attested.contains(w);
        if known(word) || known(&format!("{word}s")) || noun_plurals(word).iter().any(|p| known(p))
        {
            return false;
        }
        ["y", "ies", "er", "ers", "ry", "ries"]
            .iter()
            .any(|ending| known(&format!("{word}{ending}")))
    }
}

/// The text before a `#` comment.
fn strip_comment(line: &str) -> &str {
    line.split('#').next().unwrap_or_default()
}

/// Lowercase, with `İ` as a plain `i` (Rust's lowercase adds a combining dot).
fn lower(s: &str) -> String {
    s.chars()
        .flat_map(|c| if c == 'İ' { 'i' } else { c }.to_lowercase())
        .collect()
}

/// The first letter in capitals, the rest as it is.
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Actor files

/// How long a code is in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Period {
    Always,
    Before(Date),
    From(Date),
    Between(Date, Date),
}

impl Period {
    /// `true` when the code is in force at some time on or after `cutoff`.
    fn reaches(self, cutoff: Date) -> bool {
        match self {
            Period::Always | Period::From(_) => true,
            Period::Before(end) | Period::Between(_, end) => end >= cutoff,
        }
    }
}

#[derive(Clone, Debug)]
struct Code {
    code: String,
    period: Period,
}

/// One record of an actor file, names cleaned.
struct Record {
    file: &'static str,
    /// First line (the primary phrase).
    line: usize,
    /// Each name's line and words as written in the list (title case).
    names: Vec<(usize, Vec<String>)>,
    /// Abbreviations found in parentheses, uppercase, with their lines.
    abbreviations: Vec<(usize, String)>,
    codes: Vec<Code>,
    /// `true` when the record had codes that were all `---`.
    null_coded: bool,
    /// The source text of the primary phrase, for notes.
    source: String,
}

/// What an actor code says.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CodeKind {
    /// A country or territory (`AFG`, `USAASM`, `KWTOCC`).
    Place,
    /// A country (or no country) with roles (`AFGGOV`, `USAGOVMIL`, `ELI`): the roles in order.
    Role(Vec<String>),
    Igo,
    Ngo,
    Company,
    Media,
    Armed,
    /// Anything else (religions without a role, unknown codes).
    Other,
}

/// What a code says; `countries` are the bare three-letter codes of the Countries file, which win
/// over a role code of the same letters (`MUS` is Mauritius there, not "Muslim").
fn classify_code(code: &str, countries: &HashSet<String>) -> CodeKind {
    let chunks: Vec<&str> = (0..code.len())
        .step_by(3)
        .map(|i| &code[i..(i + 3).min(code.len())])
        .collect();
    let is_role = |c: &&str| ROLES.split_whitespace().any(|r| r == *c);
    let country = chunks.first().is_some_and(|c| countries.contains(*c));
    match chunks.first().copied() {
        _ if country => {}
        Some("IGO") => return CodeKind::Igo,
        Some("NGO" | "NGM") => return CodeKind::Ngo,
        Some("MNC") => return CodeKind::Company,
        Some("MED") => return CodeKind::Media,
        Some("IMG") => return CodeKind::Armed,
        _ => {}
    }
    if !country && chunks.first().is_some_and(is_role) {
        return CodeKind::Role(chunks.iter().map(|c| c.to_string()).collect());
    }
    if code.len() < 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
        return CodeKind::Other;
    }
    match chunks.iter().skip(1).position(is_role) {
        Some(at) => CodeKind::Role(chunks[at + 1..].iter().map(|c| c.to_string()).collect()),
        None => CodeKind::Place,
    }
}

/// Reads one PETRARCH2 date: `YYMMDD` (years up to 30 are 20YY) or `YYYYMMDD`; a 7-digit date is
/// read as `YYMMDD` and a longer one by its first 8 digits, as PETRARCH2 does (with a warning).
fn petrarch_date(s: &str) -> Result<(Date, Option<String>), String> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("`{s}` is not a date"));
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u16>().unwrap_or(0);
    let (date, warning) = if s.len() > 7 {
        let date = Date::new(num(0..4), num(4..6) as u8, num(6..8) as u8);
        let warning = (s.len() > 8).then(|| {
            format!("date `{s}` has more than 8 digits; read by its first 8, as PETRARCH2 does")
        });
        (date, warning)
    } else if s.len() >= 6 {
        let yy = num(0..2);
        let year = if yy <= 30 { 2000 + yy } else { 1900 + yy };
        let warning = (s.len() == 7)
            .then(|| format!("date `{s}` has 7 digits; read as YYMMDD, as PETRARCH2 does"));
        (Date::new(year, num(2..4) as u8, num(4..6) as u8), warning)
    } else {
        return Err(format!("date `{s}` has fewer than 6 digits"));
    };
    date.map(|d| (d, warning))
        .ok_or_else(|| format!("`{s}` is not a valid date"))
}

/// Reads the restriction of a date line: empty, `<D`, `>D`, `D-D`, or a single `D` (from then on).
fn period(restriction: &str, warnings: &mut Vec<String>) -> Result<Period, String> {
    let r: String = restriction.split_whitespace().collect();
    let mut date = |s: &str| {
        petrarch_date(s).map(|(d, warning)| {
            warnings.extend(warning);
            d
        })
    };
    if r.is_empty() {
        Ok(Period::Always)
    } else if let Some(d) = r.strip_prefix('<') {
        Ok(Period::Before(date(d)?))
    } else if let Some(d) = r.strip_prefix('>') {
        Ok(Period::From(date(d)?))
    } else if let Some((a, b)) = r.split_once('-') {
        Ok(Period::Between(date(a)?, date(b)?))
    } else {
        let d = date(&r)?;
        warnings.push(format!(
            "date restriction `{r}` is a single date; read as from that date on"
        ));
        Ok(Period::From(d))
    }
}

/// The codes in `[...]` groups of a line.
fn parse_codes(text: &str, file: &str, line: usize, out: &mut Builder) -> Vec<(String, Period)> {
    let mut codes = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let (inside, next) = match after.find(']') {
            Some(close) => (&after[..close], &after[close + 1..]),
            None => {
                out.note(
                    file,
                    line,
                    format!("`[{after}` has no `]`; read to the end of the line"),
                );
                (after, "")
            }
        };
        rest = next;
        let mut parts = inside.split_whitespace();
        let Some(code) = parts.next() else {
            out.note(file, line, "empty `[]` code; ignored");
            continue;
        };
        if code != "---"
            && !code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            out.note(file, line, format!("`{code}` is not a CAMEO code; ignored"));
            continue;
        }
        let restriction: String = parts.collect();
        let mut warnings = Vec::new();
        match period(&restriction, &mut warnings) {
            Ok(p) => codes.push((code.to_owned(), p)),
            Err(why) => out.note(file, line, format!("[{inside}]: {why}; code ignored")),
        }
        for w in warnings {
            out.note(file, line, w);
        }
    }
    codes
}

/// Parses an actor file into records, names cleaned (notes for what cleaning changed).
fn parse_actor_file(
    file: &'static str,
    text: &str,
    vocabulary: &Vocabulary,
    out: &mut Builder,
) -> Vec<Record> {
    struct Raw {
        line: usize,
        end: usize,
        names: Vec<(usize, String)>,
        codes: Vec<(String, Period)>,
    }
    let mut raws: Vec<Raw> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = strip_comment(raw).trim();
        if content.is_empty() {
            continue;
        }
        if content.starts_with('[') {
            let codes = parse_codes(content, file, line, out);
            match raws.last_mut() {
                Some(r) => {
                    r.codes.extend(codes);
                    r.end = line;
                }
                None => out.note(file, line, "date restriction before any actor; ignored"),
            }
        } else if let Some(synonym) = content.strip_prefix('+') {
            let (phrase, codes) = match synonym.find('[') {
                Some(open) => (
                    &synonym[..open],
                    parse_codes(&synonym[open..], file, line, out),
                ),
                None => (synonym, Vec::new()),
            };
            match raws.last_mut() {
                Some(r) => {
                    r.names.push((line, phrase.trim().to_owned()));
                    r.codes.extend(codes);
                    r.end = line;
                }
                None => out.note(file, line, "synonym before any actor; ignored"),
            }
        } else {
            let (phrase, codes) = match content.find('[') {
                Some(open) => (
                    &content[..open],
                    parse_codes(&content[open..], file, line, out),
                ),
                None => (content, Vec::new()),
            };
            raws.push(Raw {
                line,
                end: line,
                names: vec![(line, phrase.trim().to_owned())],
                codes,
            });
        }
    }
    // A primary line without a code directly followed by another primary line: its authors
    // forgot the `+` (PETRARCH2 would give it no code).
    let mut merged: Vec<Raw> = Vec::new();
    for raw in raws.into_iter().rev() {
        if raw.codes.is_empty() {
            if let Some(next) = merged.last_mut() {
                if next.line == raw.end + 1 {
                    out.note(
                        file,
                        raw.line,
                        format!(
                            "`{}` has no code and no `+`; read as another name of the entry that \
                             follows (PETRARCH2 would give it no code)",
                            raw.names[0].1
                        ),
                    );
                    let mut names = raw.names;
                    names.append(&mut next.names);
                    next.names = names;
                    next.line = raw.line;
                    continue;
                }
            }
        }
        merged.push(raw);
    }
    merged.reverse();
    let mut records = Vec::with_capacity(merged.len());
    for raw in merged {
        let source = raw.names[0].1.clone();
        let null_coded = !raw.codes.is_empty() && raw.codes.iter().all(|(c, _)| c == "---");
        let mut names = Vec::new();
        let mut abbreviations = Vec::new();
        for (line, phrase) in &raw.names {
            let (cleaned, abbrs) = clean_names(phrase, vocabulary, file, *line, out);
            names.extend(cleaned.into_iter().map(|n| (*line, n)));
            abbreviations.extend(abbrs.into_iter().map(|a| (*line, a)));
        }
        records.push(Record {
            file,
            line: raw.line,
            names,
            abbreviations,
            codes: raw
                .codes
                .into_iter()
                .filter(|(c, _)| c != "---")
                .map(|(code, period)| Code { code, period })
                .collect(),
            null_coded,
            source,
        });
    }
    records
}

/// Cleans one phrase of an actor file into names (words in title case) and the abbreviations in
/// its parentheses.
fn clean_names(
    phrase: &str,
    vocabulary: &Vocabulary,
    file: &str,
    line: usize,
    out: &mut Builder,
) -> (Vec<Vec<String>>, Vec<String>) {
    let mut names = Vec::new();
    let mut abbreviations = Vec::new();
    for part in phrase.split('+') {
        let mut text = String::with_capacity(part.len());
        let mut chars = part.chars();
        let mut damaged = false;
        while let Some(c) = chars.next() {
            match c {
                '(' => {
                    let inner: String = chars.by_ref().take_while(|&d| d != ')').collect();
                    let trimmed = inner.trim_matches(|c: char| c == '_' || c.is_whitespace());
                    if is_abbreviation(trimmed, part, vocabulary) {
                        abbreviations.push(trimmed.to_uppercase());
                    } else if !trimmed.is_empty() {
                        out.note(
                            file,
                            line,
                            format!(
                                "`({inner})` in `{}` left out (not an abbreviation)",
                                phrase.trim()
                            ),
                        );
                    }
                    text.push(' ');
                }
                '\u{FFFD}' => damaged = true,
                '\u{2018}' | '\u{2019}' | '`' | '\u{B4}' => text.push('\''),
                c if c == '_' || c.is_whitespace() || ",/:;\"!?[]{})<>=|\\*~^$%@".contains(c) => {
                    text.push(' ')
                }
                c if c.is_alphanumeric() || "'-.&".contains(c) => text.push(c),
                c => {
                    out.note(
                        file,
                        line,
                        format!(
                            "`{c}` (U+{:04X}) in `{}` read as a space",
                            c as u32,
                            phrase.trim()
                        ),
                    );
                    text.push(' ');
                }
            }
        }
        if damaged {
            out.note(
                file,
                line,
                format!(
                    "`{}` has a damaged character (U+FFFD); left out",
                    part.trim()
                ),
            );
            continue;
        }
        let words: Vec<&str> = text
            .split_whitespace()
            .map(|w| {
                w.trim_matches(|c| c == '-' || c == '\'')
                    .trim_start_matches('.')
            })
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .collect();
        if words.is_empty() {
            continue;
        }
        if !words.iter().any(|w| w.chars().any(char::is_alphabetic)) {
            out.note(
                file,
                line,
                format!("name `{}` has no letters; left out", part.trim()),
            );
            continue;
        }
        let display = words
            .iter()
            .enumerate()
            .map(|(i, w)| display_word(w, i == 0, vocabulary))
            .collect();
        names.push(display);
    }
    (names, abbreviations)
}

/// `true` for a parenthesised abbreviation: one word of 3 to 6 capitals, digits and hyphens, at
/// least 3 of them letters, that is not an English word unless its letters are initials of the
/// name (`(CIRA)`, `(PRC)`, `(LET)` after `LASHKAR-E-TAIBA`, `(CAR)` after
/// `CENTRAL_AFRICAN_REPUBLIC`; not `(SOUTH)`, `(DAWN)`).
fn is_abbreviation(s: &str, phrase: &str, vocabulary: &Vocabulary) -> bool {
    let n = s.chars().count();
    let shape = (3..=6).contains(&n)
        && s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        && s.chars().filter(char::is_ascii_uppercase).count() >= 3;
    if !shape {
        return false;
    }
    if !vocabulary.english.contains(&lower(s)) {
        return true;
    }
    // Initials of the name outside parentheses, in order: the letters must be among them.
    let outside: String = phrase
        .split('(')
        .map(|p| p.rsplit(')').next().unwrap_or(p))
        .collect();
    let mut initials = outside
        .split(|c: char| !c.is_alphanumeric())
        .filter_map(|w| w.chars().next())
        .map(|c| c.to_ascii_uppercase());
    s.chars()
        .filter(char::is_ascii_uppercase)
        .all(|letter| initials.any(|i| i == letter))
}

/// One word of a name as written in a list: `KARZAI_` → `Karzai`, `AL-ASSAD` (not first) →
/// `al-Assad`, `OF` → `of`, `U.S.` → `U.S.`, `D'IVOIRE` → `D'Ivoire`, `NSC` → `NSC`.
fn display_word(word: &str, first: bool, vocabulary: &Vocabulary) -> String {
    let low = lower(word);
    if !first && vocabulary.particles.contains(low.as_str()) {
        return low;
    }
    if low.contains('.') && low.split('.').all(|p| p.chars().count() <= 1) {
        return word.to_uppercase();
    }
    let letters = low.chars().filter(|c| c.is_alphabetic()).count();
    if letters > 0 && low.chars().any(|c| c.is_ascii_digit()) && low.chars().count() <= 5 {
        return word.to_uppercase(); // `MI6`, `F-16`
    }
    let vowel = |c: char| "aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýœ".contains(c);
    if (2..=5).contains(&letters) && !low.chars().any(vowel) && low.chars().all(char::is_alphabetic)
    {
        return word.to_uppercase();
    }
    low.split('-')
        .enumerate()
        .map(|(i, segment)| {
            if (i > 0 || !first) && vocabulary.particles.contains(segment) {
                return segment.to_owned();
            }
            // `d'ivoire`, `o'kennedy`: capitalize after a one-letter prefix and its apostrophe.
            match segment.split_once('\'') {
                Some((pre, post)) if pre.chars().count() == 1 && !post.is_empty() => {
                    format!("{}'{}", capitalize(pre), capitalize(post))
                }
                _ => capitalize(segment),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// What an actor record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ActorKind {
    Place,
    Person,
    Organisation,
}

/// Facts about people across the actor files, for telling people from organisations and for
/// the surname rule.
struct People {
    /// The bare three-letter codes of the Countries file (`AFG`, `MUS`).
    countries: HashSet<String>,
    /// First words of dated people's names (lowercase), with how many names start with them.
    given: HashMap<String, usize>,
    /// Last words of people's names (lowercase) with how many records have them.
    surnames: HashMap<String, usize>,
    /// One-word names of places (lowercase).
    places: HashSet<String>,
}

fn is_dated(record: &Record) -> bool {
    record.codes.iter().any(|c| c.period != Period::Always)
}

/// `true` for a word that may stand in a person's name: not an English or organisation word of
/// the vocabulary (a particle, an initial, a given name are fine).
fn name_word(word: &str, given: Option<&HashMap<String, usize>>, vocabulary: &Vocabulary) -> bool {
    let w = lower(word);
    if w.chars().filter(|c| c.is_alphabetic()).count() <= 1 {
        return w.chars().all(|c| c.is_alphabetic() || c == '.');
    }
    w.split('-').all(|part| {
        let part = part.trim_matches(['\'', '.']);
        vocabulary.particles.contains(part)
            || given.is_some_and(|g| g.contains_key(part))
            || !(vocabulary.english.contains(part)
                || vocabulary.organisation_words.contains(part)
                || part.chars().any(|c| !c.is_alphabetic() && c != '\''))
    })
}

impl People {
    fn new(records: &[Record], vocabulary: &Vocabulary) -> People {
        let countries: HashSet<String> = records
            .iter()
            .filter(|r| r.file == COUNTRIES_FILE)
            .flat_map(|r| r.codes.iter())
            .filter(|c| c.code.len() == 3)
            .map(|c| c.code.clone())
            .collect();
        let has_role = |r: &Record| {
            r.codes
                .iter()
                .any(|c| !matches!(classify_code(&c.code, &countries), CodeKind::Place))
        };
        let mut given: HashMap<String, usize> = HashMap::new();
        let mut places = HashSet::new();
        for r in records {
            if is_dated(r) && has_role(r) {
                for (_, words) in &r.names {
                    // Given names from names that read as a person's (`Hamid Karzai`, not
                    // `President of the United States`).
                    if words.len() >= 2 && words.iter().all(|w| name_word(w, None, vocabulary)) {
                        let first = lower(&words[0]);
                        if !vocabulary.particles.contains(first.as_str())
                            && first.chars().filter(|c| c.is_alphabetic()).count() > 1
                        {
                            *given.entry(first).or_default() += 1;
                        }
                    }
                }
            }
            if r.file == COUNTRIES_FILE && !has_role(r) {
                for (_, words) in &r.names {
                    if words.len() == 1 {
                        places.insert(lower(&words[0]));
                    }
                }
            }
        }
        People {
            countries,
            given,
            surnames: HashMap::new(),
            places,
        }
    }

    fn classify(&self, code: &str) -> CodeKind {
        classify_code(code, &self.countries)
    }

    fn has_role(&self, record: &Record) -> bool {
        record
            .codes
            .iter()
            .any(|c| !matches!(self.classify(&c.code), CodeKind::Place))
    }

    /// `true` for a name form a surname may be taken from: every word reads as part of a
    /// person's name (`Hamid Karzai`, not `President Karzai` or `Assad Regime`).
    fn personal(&self, words: &[String], vocabulary: &Vocabulary) -> bool {
        words.len() >= 2
            && words
                .iter()
                .all(|w| name_word(w, Some(&self.given), vocabulary))
    }

    /// Whether an undated record's name reads as a person's (see the module documentation).
    fn looks_like_person(&self, words: &[String], vocabulary: &Vocabulary) -> bool {
        if !(2..=5).contains(&words.len()) {
            return false;
        }
        for word in words {
            let w = lower(word);
            if !w.chars().all(|c| c.is_alphabetic() || "'-.".contains(c)) {
                return false;
            }
            if w.split('-').any(|part| {
                vocabulary
                    .organisation_words
                    .contains(part.trim_matches(['\'', '.']))
            }) {
                return false;
            }
        }
        self.given.contains_key(&lower(&words[0]))
    }

    fn kind(&self, record: &Record, vocabulary: &Vocabulary) -> ActorKind {
        if !self.has_role(record) {
            return ActorKind::Place;
        }
        if is_dated(record) {
            return ActorKind::Person;
        }
        match record.names.first() {
            Some((_, words)) if self.looks_like_person(words, vocabulary) => ActorKind::Person,
            _ => ActorKind::Organisation,
        }
    }
}

/// The surname of a name: its last word before `Jr`, `III` and the like, without an Arabic
/// article (`al-Assad` → `Assad`).
fn surname_of(words: &[String], vocabulary: &Vocabulary) -> Option<String> {
    let mut end = words.len();
    while end > 1
        && vocabulary
            .suffixes
            .contains(lower(&words[end - 1]).as_str())
    {
        end -= 1;
    }
    let last = words.get(end.checked_sub(1)?)?;
    let mut surname = last.as_str();
    if let Some((article, rest)) = last.split_once('-') {
        if [
            "al", "el", "ul", "ad", "as", "ash", "an", "ar", "at", "az", "ibn", "bin",
        ]
        .contains(&lower(article).as_str())
            && !rest.is_empty()
        {
            surname = rest;
        }
    }
    Some(capitalize(surname))
}

impl People {
    /// `Ok` when a surname (or a one-word name) may be written to a list, else why not.
    fn surname_ok(&self, surname: &str, vocabulary: &Vocabulary) -> Result<(), &'static str> {
        let key = lower(surname);
        let key = key.trim_matches(['\'', '.']);
        if surname.chars().filter(|c| c.is_alphabetic()).count() < 4 {
            return Err("shorter than 4 letters");
        }
        if vocabulary.stoplist.contains(key) || vocabulary.organisation_words.contains(key) {
            return Err("a common English word");
        }
        if vocabulary.agent_words.contains(key) {
            return Err("a word of the agents dictionary");
        }
        if vocabulary.english.contains(key) {
            return Err("an English word of the dictionaries");
        }
        if self.places.contains(key) {
            return Err("a country or place name");
        }
        if self.given.contains_key(key) {
            return Err("also a given name");
        }
        if self
            .surnames
            .get(key)
            .is_some_and(|&n| n >= COMMON_SURNAME_PEOPLE)
        {
            return Err("the surname of many people");
        }
        Ok(())
    }
}

/// The lists one code of a person puts them on.
fn person_lists(kind: &CodeKind) -> Vec<&'static str> {
    match kind {
        CodeKind::Role(roles) => {
            let mut lists = Vec::new();
            if roles[0] == "GOV" {
                lists.push("leaders_gov");
            }
            if roles.iter().any(|r| r == "MIL") {
                lists.push("leaders_mil");
            }
            if roles[0] == "ELI" {
                lists.push("leaders_eli");
            }
            match roles[0].as_str() {
                "REB" => lists.push("armed_groups"),
                "OPP" => lists.push("opposition"),
                _ => {}
            }
            lists
        }
        CodeKind::Armed => vec!["armed_groups"],
        CodeKind::Igo => vec!["igo_officials"],
        CodeKind::Ngo => vec!["ngo_officials"],
        _ => Vec::new(),
    }
}

/// The list one code of an organisation puts it on.
fn organisation_list(kind: &CodeKind) -> Option<&'static str> {
    match kind {
        CodeKind::Igo => Some("igos"),
        CodeKind::Ngo => Some("ngos"),
        CodeKind::Company => Some("companies"),
        CodeKind::Media => Some("media"),
        CodeKind::Armed => Some("armed_groups"),
        CodeKind::Role(roles) => match roles[0].as_str() {
            "GOV" | "LEG" | "JUD" => Some("institutions_gov"),
            "MIL" | "SPY" | "COP" => Some("institutions_mil"),
            "REB" => Some("armed_groups"),
            "OPP" => Some("opposition"),
            // Mostly people the name heuristic missed (`Fethullah Gulen`).
            "ELI" => Some("leaders_eli"),
            _ => None,
        },
        _ => None,
    }
}

/// A one-word place or organisation name that is a common word, or a dotted acronym, is written
/// as an exact term; the acronyms of organisation and place names stay in capitals (`UN`, `IMF`,
/// `US Senate`).
fn actor_entry(words: &[String], kind: ActorKind, vocabulary: &Vocabulary) -> String {
    if let [word] = words {
        let plain = lower(word).replace('.', "");
        let dotted = word.contains('.') && lower(word).split('.').all(|p| p.chars().count() <= 1);
        if kind != ActorKind::Person && (dotted || vocabulary.stoplist.contains(plain.as_str())) {
            let longest_acronym = if kind == ActorKind::Place { 3 } else { 4 };
            let form = if !dotted && plain.chars().count() > longest_acronym {
                capitalize(&plain)
            } else {
                plain.to_uppercase()
            };
            return format!("{{{form}}}");
        }
    }
    if kind != ActorKind::Person {
        let single = words.len() == 1;
        let cased: Vec<String> = words
            .iter()
            .map(|w| {
                let low = lower(w);
                let letters = low.chars().count();
                let acronym = low == "us"
                    || (kind == ActorKind::Organisation
                        && low.chars().all(|c| c.is_ascii_alphabetic())
                        && if single {
                            letters <= 6
                        } else {
                            letters == 2
                                && !vocabulary.stoplist.contains(low.as_str())
                                && !vocabulary.particles.contains(low.as_str())
                        });
                if acronym {
                    w.to_uppercase()
                } else {
                    w.clone()
                }
            })
            .collect();
        return cased.join(" ");
    }
    words.join(" ")
}

/// Writes the actor lists; returns the number of records left out by the cut-off.
fn actors(
    records: &[Record],
    vocabulary: &Vocabulary,
    options: &Options,
    out: &mut Builder,
) -> usize {
    let mut people = People::new(records, vocabulary);
    let kinds: Vec<ActorKind> = records.iter().map(|r| people.kind(r, vocabulary)).collect();
    for (r, kind) in records.iter().zip(&kinds) {
        if *kind == ActorKind::Person {
            let mut seen = HashSet::new();
            for (_, words) in &r.names {
                if people.personal(words, vocabulary) {
                    if let Some(s) = surname_of(words, vocabulary) {
                        if seen.insert(lower(&s)) {
                            *people.surnames.entry(lower(&s)).or_default() += 1;
                        }
                    }
                }
            }
        }
    }
    let mut before_cutoff = 0;
    for (r, &kind) in records.iter().zip(&kinds) {
        if r.names.is_empty() {
            continue;
        }
        if r.codes.is_empty() {
            let why = if r.null_coded {
                "has the null code [---] (PETRARCH2 recognises it to code nothing); left out"
            } else {
                "has no code; left out (PETRARCH2 gives it no code either)"
            };
            out.note(r.file, r.line, format!("`{}` {why}", r.source));
            continue;
        }
        if r.file == MIL_NON_STATE_FILE {
            add_names(r, "armed_groups", ActorKind::Organisation, vocabulary, out);
            continue;
        }
        match kind {
            ActorKind::Place => {
                if r.file == COUNTRIES_FILE {
                    add_names(r, "countries", kind, vocabulary, out);
                } else {
                    out.note(
                        r.file,
                        r.line,
                        format!(
                            "`{}` is coded as a place outside the Countries file; left out",
                            r.source
                        ),
                    );
                }
            }
            ActorKind::Organisation => {
                let (lists, expired) = lists_in_office(r, options, |code| {
                    organisation_list(&people.classify(code))
                        .into_iter()
                        .collect()
                });
                if lists.is_empty() {
                    if expired {
                        before_cutoff += 1;
                    } else {
                        out.note(
                            r.file,
                            r.line,
                            format!(
                                "organisation `{}` coded {}: no list for these codes; left out",
                                r.source,
                                codes_text(r)
                            ),
                        );
                    }
                }
                for list in lists {
                    add_names(r, list, kind, vocabulary, out);
                }
            }
            ActorKind::Person => {
                let (lists, expired) =
                    lists_in_office(r, options, |code| person_lists(&people.classify(code)));
                if lists.is_empty() {
                    if expired {
                        before_cutoff += 1;
                    } else {
                        out.note(
                            r.file,
                            r.line,
                            format!(
                                "person `{}` coded {}: no list for these roles; left out",
                                r.source,
                                codes_text(r)
                            ),
                        );
                    }
                    continue;
                }
                add_person(r, &lists, &people, vocabulary, out);
            }
        }
    }
    before_cutoff
}

/// The lists an actor goes to, from the codes of `r` whose period reaches the cut-off (`lists_of`
/// gives a code's lists), in first-seen order; and whether some code with a list had ended
/// before the cut-off.
fn lists_in_office(
    r: &Record,
    options: &Options,
    lists_of: impl Fn(&str) -> Vec<&'static str>,
) -> (Vec<&'static str>, bool) {
    let mut lists: Vec<&'static str> = Vec::new();
    let mut expired = false;
    for code in &r.codes {
        for list in lists_of(&code.code) {
            if code.period.reaches(options.cutoff) {
                if !lists.contains(&list) {
                    lists.push(list);
                }
            } else {
                expired = true;
            }
        }
    }
    (lists, expired)
}

/// Splits `text` at its first `{...}` group: the text before it and the group's content, or the
/// whole text and `None` when it has no `{`; `None` when a `{` is never closed.
fn split_braces(text: &str) -> Option<(&str, Option<&str>)> {
    let Some(open) = text.find('{') else {
        return Some((text, None));
    };
    let close = text[open + 1..].find('}')?;
    Some((&text[..open], Some(&text[open + 1..open + 1 + close])))
}

fn codes_text(r: &Record) -> String {
    r.codes
        .iter()
        .map(|c| c.code.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn add_names(r: &Record, list: &str, kind: ActorKind, vocabulary: &Vocabulary, out: &mut Builder) {
    for (line, words) in &r.names {
        out.add(list, &actor_entry(words, kind, vocabulary), r.file, *line);
    }
    for (line, abbreviation) in &r.abbreviations {
        add_abbreviation(r, list, abbreviation, *line, out);
    }
}

/// An abbreviation as an exact entry, unless it is a country's name (`(CHINA)` after a company).
fn add_abbreviation(r: &Record, list: &str, abbreviation: &str, line: usize, out: &mut Builder) {
    let country = entry_key(abbreviation).is_ok_and(|key| {
        out.by_name
            .get("countries")
            .is_some_and(|&i| out.lists[i].seen.contains(&key))
    });
    if !country || list == "countries" {
        out.add(list, &format!("{{{abbreviation}}}"), r.file, line);
    }
}

fn add_person(
    r: &Record,
    lists: &[&str],
    people: &People,
    vocabulary: &Vocabulary,
    out: &mut Builder,
) {
    for (line, words) in &r.names {
        let single = words.len() == 1;
        if single {
            if let Err(why) = people.surname_ok(&words[0], vocabulary) {
                out.note(
                    r.file,
                    *line,
                    format!("one-word name `{}` is {why}; left out", words[0]),
                );
                continue;
            }
        }
        for list in lists {
            out.add(list, &words.join(" "), r.file, *line);
            let surnames = match *list {
                "leaders_gov" => "surnames_gov",
                "leaders_mil" => "surnames_mil",
                _ => continue,
            };
            let surname = if single {
                Some(words[0].clone())
            } else if people.personal(words, vocabulary) {
                surname_of(words, vocabulary).filter(|s| people.surname_ok(s, vocabulary).is_ok())
            } else {
                None
            };
            if let Some(surname) = surname {
                out.add(surnames, &surname, r.file, *line);
            }
        }
    }
    for (line, abbreviation) in &r.abbreviations {
        for list in lists {
            add_abbreviation(r, list, abbreviation, *line, out);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Agents

/// Lowercase words of an agent phrase (`_` and punctuation separate words).
fn agent_words(phrase: &str) -> Vec<String> {
    phrase
        .split(|c: char| c == '_' || c.is_whitespace() || ",/:;\"()".contains(c))
        .map(|w| w.trim_matches(|c| c == '-' || c == '\''))
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(lower)
        .collect()
}

/// Nouns that take no `-s`: plural or uncountable already (also as the end of a compound:
/// `servicemen`).
const NO_PLURAL: &[&str] = &[
    "men",
    "people",
    "children",
    "police",
    "personnel",
    "staff",
    "clergy",
    "folk",
    "media",
    "aircraft",
    "sheep",
    "fish",
    "series",
    "species",
    "headquarters",
    "news",
    "public",
    "brass",
    "cattle",
    "offspring",
    "kin",
    "swine",
    "aid",
    "assistance",
    "relief",
    "support",
    "help",
    "advice",
    "money",
    "cash",
    "info",
    "information",
    "intelligence",
    "evidence",
    "equipment",
    "ammunition",
    "weaponry",
    "artillery",
    "infantry",
    "cavalry",
    "armor",
    "armour",
    "livestock",
    "hardware",
    "software",
    "data",
];

/// The English plurals of a lowercase noun; none for the nouns of [`NO_PLURAL`] and words in
/// `-ed`.
fn plurals(noun: &str) -> Vec<String> {
    // `retired`, `wounded`: adjectives used as nouns.
    let participle = noun.len() > 4 && noun.ends_with("ed") && !noun.ends_with("eed");
    if participle || NO_PLURAL.iter().any(|n| noun.ends_with(n)) {
        return Vec::new();
    }
    noun_plurals(noun)
}

/// The regular plural forms of an agent phrase: the head noun (the word before `of`/`for`, else
/// the last word) in the plural.
fn agent_plurals(words: &[String]) -> Vec<String> {
    let head = match words.iter().position(|w| w == "of" || w == "for") {
        Some(at) if at > 0 => at - 1,
        _ => words.len() - 1,
    };
    plurals(&words[head])
        .into_iter()
        .map(|plural| {
            let mut w = words.to_vec();
            w[head] = plural;
            w.join(" ")
        })
        .collect()
}

/// Expands the substitution markers of an agent phrase; a marker inside a word
/// (`AD!MINIST!RATION`) is read as its name, and reported in `repairs`.
fn expand_markers(
    phrase: &str,
    sets: &HashMap<String, Vec<String>>,
    repairs: &mut Vec<String>,
) -> Result<(Vec<String>, bool), String> {
    let mut results = vec![String::new()];
    let mut rest = phrase;
    let mut substituted = false;
    while let Some(open) = rest.find('!') {
        let Some(len) = rest[open + 1..].find('!') else {
            return Err("has an unpaired `!`".into());
        };
        let name = &rest[open + 1..open + 1 + len];
        let before = &rest[..open];
        let after = &rest[open + len + 2..];
        let glued = before.ends_with(char::is_alphabetic) && after.starts_with(char::is_alphabetic);
        if glued {
            let word_start = before
                .rfind(|c: char| !c.is_alphabetic())
                .map_or(0, |i| i + 1);
            let word_end = after
                .find(|c: char| !c.is_alphabetic())
                .unwrap_or(after.len());
            repairs.push(format!(
                "`{}!{name}!{}` read as `{}{name}{}` (the set name inside a word)",
                &before[word_start..],
                &after[..word_end],
                &before[word_start..],
                &after[..word_end]
            ));
            for r in &mut results {
                r.push_str(before);
                r.push_str(name);
            }
        } else {
            let Some(items) = sets.get(name) else {
                return Err(format!("uses the undefined substitution set !{name}!"));
            };
            substituted = true;
            results = results
                .iter()
                .flat_map(|r| items.iter().map(move |item| format!("{r}{before}{item}")))
                .collect();
        }
        rest = after;
    }
    for r in &mut results {
        r.push_str(rest);
    }
    Ok((results, substituted))
}

fn agents(text: &str, vocabulary: &Vocabulary, out: &mut Builder) {
    struct Line {
        line: usize,
        group: String,
        entries: Vec<String>,
    }
    let mut sets: HashMap<String, Vec<String>> = HashMap::new();
    let mut lines: Vec<Line> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = strip_comment(raw).trim();
        if content.is_empty() || content.starts_with("<!") {
            continue;
        }
        if content.contains('!') && content.contains('=') {
            let (left, right) = content.split_once('=').unwrap_or_default();
            let name = left.trim().trim_matches('!');
            if name.is_empty() || name.contains('!') {
                out.note(
                    AGENTS_FILE,
                    line,
                    format!("`{content}`: bad substitution set; left out"),
                );
                continue;
            }
            let items = right
                .split(',')
                .map(|i| i.trim().to_owned())
                .filter(|i| !i.is_empty())
                .collect();
            sets.insert(name.to_owned(), items);
            continue;
        }
        if content.contains('Ã') || content.contains('Â') {
            out.note(
                AGENTS_FILE,
                line,
                format!("`{content}` is mojibake (UTF-8 decoded twice); left out"),
            );
            continue;
        }
        let Some(open) = content.find('[') else {
            out.note(
                AGENTS_FILE,
                line,
                format!("`{content}` has no [CODE]; left out (PETRARCH2 skips it too)"),
            );
            continue;
        };
        let after = &content[open + 1..];
        let close = after.find([']', '}']);
        let code = close.map_or(after, |c| &after[..c]).trim();
        if close.is_some_and(|c| after[c..].starts_with('}')) {
            out.note(
                AGENTS_FILE,
                line,
                format!("code `[{code}}}` closes with `}}`; read as [{code}]"),
            );
        }
        let group: String = code.trim_matches('~').chars().take(3).collect();
        if group.len() != 3 || !group.chars().all(|c| c.is_ascii_uppercase()) {
            out.note(
                AGENTS_FILE,
                line,
                format!("`[{code}]` is not an agent code; left out"),
            );
            continue;
        }
        let head = &content[..open];
        let Some((phrase, plural)) = split_braces(head) else {
            out.note(
                AGENTS_FILE,
                line,
                format!("`{content}` has no `}}`; left out"),
            );
            continue;
        };
        let plural = plural.map(str::trim);
        let phrase = phrase.trim();
        let mut repairs = Vec::new();
        let (expanded, substituted) = match expand_markers(phrase, &sets, &mut repairs) {
            Ok(e) => e,
            Err(why) => {
                out.note(AGENTS_FILE, line, format!("`{phrase}` {why}; left out"));
                continue;
            }
        };
        for repair in repairs {
            out.note(AGENTS_FILE, line, repair);
        }
        let mut entries = Vec::new();
        for p in &expanded {
            let words = agent_words(p);
            let Some(last) = words.last() else { continue };
            let stopped = p.trim_end().ends_with('_');
            if !substituted && !stopped && plural.is_none() && vocabulary.is_stem(last) {
                if last.chars().count() < MIN_PREFIX_CHARS {
                    out.note(
                        AGENTS_FILE,
                        line,
                        format!(
                            "`{phrase}` ends in the stem `{last}`, shorter than {MIN_PREFIX_CHARS} \
                             letters; left out"
                        ),
                    );
                    continue;
                }
                entries.push(format!("{}*", words.join(" ")));
                continue;
            }
            entries.push(words.join(" "));
            match plural {
                Some(plural) => {
                    let plural = agent_words(plural);
                    if !plural.is_empty() {
                        entries.push(plural.join(" "));
                    }
                }
                None if !substituted => entries.extend(agent_plurals(&words)),
                None => {}
            }
        }
        lines.push(Line {
            line,
            group,
            entries,
        });
    }
    let mut sizes: HashMap<&str, usize> = HashMap::new();
    for l in &lines {
        *sizes.entry(l.group.as_str()).or_default() += 1;
    }
    let describe = |group: &str| {
        AGENT_CODES
            .iter()
            .find(|(c, _)| *c == group)
            .map_or(group.to_owned(), |(_, d)| d.to_string())
    };
    for l in &lines {
        let list = if sizes[l.group.as_str()] >= MIN_AGENT_LINES {
            let name = format!("agents_{}", l.group.to_lowercase());
            out.declare(
                &name,
                format!(
                    "generic agents coded ~{}: {} (singular and plural)",
                    l.group,
                    describe(&l.group)
                ),
            );
            name
        } else {
            "agents_other".to_owned()
        };
        for entry in &l.entries {
            out.add(&list, entry, AGENTS_FILE, l.line);
        }
    }
    let mut small: Vec<&str> = sizes
        .iter()
        .filter(|(_, &n)| n < MIN_AGENT_LINES)
        .map(|(g, _)| *g)
        .collect();
    small.sort_unstable();
    if let Some(index) = out.by_name.get("agents_other").copied() {
        out.lists[index].list.description = format!(
            "generic agents of the smaller agent codes: {}",
            small
                .iter()
                .map(|g| format!("~{g} {}", describe(g)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Keep agents_other after the other agent lists.
        let other = out.lists.remove(index);
        out.lists.push(other);
        out.by_name = out
            .lists
            .iter()
            .enumerate()
            .map(|(i, b)| (b.list.name.clone(), i))
            .collect();
    }
}

// ---------------------------------------------------------------------------------------------
// Verbs

/// The past forms and past participles of an irregular verb.
type PastForms = (Vec<&'static str>, Vec<&'static str>);

/// The past and past participle forms of the common irregular verbs ([`IRREGULAR_VERBS`]).
fn irregular(verb: &str) -> Option<&'static PastForms> {
    static TABLE: OnceLock<HashMap<&'static str, PastForms>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            IRREGULAR_VERBS
                .split(';')
                .filter_map(|entry| {
                    let mut parts = entry.split_whitespace();
                    let (base, past, participle) = (parts.next()?, parts.next()?, parts.next()?);
                    Some((
                        base,
                        (past.split('/').collect(), participle.split('/').collect()),
                    ))
                })
                .collect()
        })
        .get(verb)
}

/// The forms of a lowercase verb: base, `-s`, `-ed` (or the irregular past and participle of
/// [`IRREGULAR_VERBS`]), `-ing` (see the module documentation for the spelling rules).
fn verb_inflections(verb: &str) -> Vec<String> {
    let chars: Vec<char> = verb.chars().collect();
    let n = chars.len();
    let vowel = |c: char| "aeiou".contains(c);
    let last = chars.last().copied().unwrap_or_default();
    let mut forms = vec![verb.to_owned()];
    let third = if let Some(stem) = consonant_y(verb) {
        format!("{stem}ies")
    } else if sibilant(verb) || (last == 'o' && n >= 2 && !vowel(chars[n - 2])) {
        format!("{verb}es")
    } else {
        format!("{verb}s")
    };
    forms.push(third);
    let doubling = doubling(&chars);
    let with = |suffix: &str| -> Vec<String> {
        match doubling {
            Doubling::Yes => vec![format!("{verb}{last}{suffix}")],
            Doubling::Both => vec![format!("{verb}{suffix}"), format!("{verb}{last}{suffix}")],
            Doubling::No => vec![format!("{verb}{suffix}")],
        }
    };
    if let Some((past, participle)) = irregular(verb) {
        forms.extend(past.iter().chain(participle).map(|f| f.to_string()));
    } else if verb.ends_with('e') {
        forms.push(format!("{verb}d"));
    } else if let Some(stem) = consonant_y(verb) {
        forms.push(format!("{stem}ied"));
    } else {
        forms.extend(with("ed"));
    }
    if let Some(stem) = verb.strip_suffix("ie") {
        forms.push(format!("{stem}ying"));
    } else if ["ee", "ye", "oe"].iter().any(|e| verb.ends_with(e)) {
        forms.push(format!("{verb}ing"));
    } else if let Some(stem) = verb.strip_suffix('e') {
        forms.push(format!("{stem}ing"));
    } else {
        forms.extend(with("ing"));
    }
    let mut seen = HashSet::new();
    forms.retain(|f| seen.insert(f.clone()));
    forms
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Doubling {
    No,
    Yes,
    /// Both spellings are in use (`canceled`, `cancelled`).
    Both,
}

/// Whether the final consonant doubles before `-ed`/`-ing`: consonant, one vowel, consonant (not
/// `w`, `x`, `y`) in a one-syllable verb (`ban`, `stop`, `quit`) or a stressed ending (`admit`,
/// `patrol`, `refer`); both spellings for other verbs ending in vowel + `l` (`cancel`).
fn doubling(chars: &[char]) -> Doubling {
    let n = chars.len();
    let vowel =
        |i: usize| "aeiou".contains(chars[i]) && !(chars[i] == 'u' && i > 0 && chars[i - 1] == 'q');
    if n < 3 || !chars.iter().all(char::is_ascii_lowercase) {
        return Doubling::No;
    }
    let (c1, v, c2) = (n - 3, n - 2, n - 1);
    if vowel(c1) || !vowel(v) || vowel(c2) || "wxy".contains(chars[c2]) {
        return Doubling::No;
    }
    let mut syllables = 0;
    let mut in_vowel = false;
    for i in 0..n {
        let v = vowel(i);
        if v && !in_vowel {
            syllables += 1;
        }
        in_vowel = v;
    }
    let word: String = chars.iter().collect();
    let stressed = ["mit", "pel", "cur", "gret", "trol", "quip", "bed", "quit"]
        .iter()
        .any(|e| word.ends_with(e))
        || [
            "refer", "confer", "defer", "infer", "prefer", "transfer", "deter", "debar", "begin",
            "forget", "forbid", "beset", "abet", "outbid", "upset",
        ]
        .iter()
        .any(|e| word.ends_with(e));
    if syllables <= 1 || stressed {
        Doubling::Yes
    } else if chars[c2] == 'l' {
        Doubling::Both
    } else {
        Doubling::No
    }
}

/// The two-digit CAMEO root of a verb code: the active code (before `:`), else the passive one;
/// `None` for the null code `---`.
fn cameo_root(code: &str) -> Result<Option<usize>, String> {
    let (active, passive) = code.split_once(':').unwrap_or((code, ""));
    let pick = [active.trim(), passive.trim()]
        .into_iter()
        .find(|c| !c.is_empty() && !c.starts_with("---"));
    let Some(pick) = pick else { return Ok(None) };
    let digits: String = pick.chars().take_while(char::is_ascii_digit).collect();
    match digits.get(..2).and_then(|d| d.parse::<usize>().ok()) {
        Some(root) if (1..=20).contains(&root) && digits.len() >= 3 => Ok(Some(root)),
        _ => Err(format!("`[{code}]` is not a CAMEO event code")),
    }
}

/// One verb of a block and its forms.
struct Verb {
    /// The verb as the pattern comments name it: `ASK`, `ASK_FOR`, `WIRE_TAP`.
    name: String,
    forms: Vec<String>,
}

struct Block {
    code: String,
    verbs: Vec<Verb>,
    patterns: Vec<(usize, String)>,
}

/// A synonym set: its members' phrases (lowercase), plurals included.
type Synsets = HashMap<String, Vec<String>>;

fn verbs(text: &str, out: &mut Builder) {
    for (i, meaning) in CAMEO_ROOTS.iter().enumerate() {
        out.declare(
            &format!("cameo_{:02}", i + 1),
            format!(
                "verbs and verb phrases of CAMEO root {:02} ({meaning}): inflected forms, particles and objects",
                i + 1
            ),
        );
    }
    #[derive(PartialEq)]
    enum Section {
        Synsets,
        Verbs,
        Transformations,
    }
    let mut section = Section::Synsets;
    let mut synsets: Synsets = HashMap::new();
    let mut synset: Option<(String, bool)> = None;
    let mut blocks: Vec<Block> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.starts_with("####") {
            if trimmed.contains("VERB PATTERNS") {
                section = Section::Verbs;
            } else if trimmed.contains("TRANSFORMATIONS") {
                section = Section::Transformations;
            }
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("<!") {
            continue;
        }
        match section {
            Section::Synsets => {
                let content = strip_comment(trimmed).trim();
                if let Some(name) = content.strip_prefix('&') {
                    let with_plurals = !name.ends_with('_');
                    synset = Some((name.trim_end_matches('_').to_owned(), with_plurals));
                    synsets
                        .entry(name.trim_end_matches('_').to_owned())
                        .or_default();
                } else if let (Some(member), Some((name, with_plurals))) =
                    (content.strip_prefix('+'), synset.as_ref())
                {
                    let words = agent_words(member);
                    if words.is_empty() {
                        out.note(
                            VERBS_FILE,
                            line,
                            format!("empty member `{content}`; left out"),
                        );
                        continue;
                    }
                    let set = synsets.entry(name.clone()).or_default();
                    set.push(words.join(" "));
                    if *with_plurals && !member.trim_end().ends_with('_') {
                        let last = words.len() - 1;
                        for plural in plurals(&words[last]) {
                            let mut w = words.clone();
                            w[last] = plural;
                            set.push(w.join(" "));
                        }
                    }
                } else {
                    out.note(
                        VERBS_FILE,
                        line,
                        format!("`{content}` outside a synonym set; left out"),
                    );
                }
            }
            Section::Verbs => {
                if trimmed.starts_with("---") {
                    let code = trimmed
                        .split('[')
                        .nth(1)
                        .and_then(|s| s.split(']').next())
                        .unwrap_or("---")
                        .trim()
                        .to_owned();
                    blocks.push(Block {
                        code,
                        verbs: Vec::new(),
                        patterns: Vec::new(),
                    });
                } else if trimmed.starts_with('-') {
                    match blocks.last_mut() {
                        Some(b) => b.patterns.push((line, trimmed.to_owned())),
                        None => {
                            out.note(VERBS_FILE, line, "pattern outside a verb block; left out")
                        }
                    }
                } else if trimmed.starts_with('~') {
                    out.note(
                        VERBS_FILE,
                        line,
                        "a verb transformation has no list form; left out",
                    );
                } else {
                    match blocks.last_mut() {
                        Some(b) => verb_line(trimmed, line, b, out),
                        None => out.note(VERBS_FILE, line, "verb outside a verb block; left out"),
                    }
                }
            }
            Section::Transformations => {
                out.note(
                    VERBS_FILE,
                    line,
                    format!(
                        "transformation `{}` has no list form; left out",
                        strip_comment(trimmed).trim()
                    ),
                );
            }
        }
    }
    // Patterns once every verb is known: a comment may name a verb of another block.
    let mut by_name: HashMap<&str, &Verb> = HashMap::new();
    let mut by_form: HashMap<&str, &Verb> = HashMap::new();
    for verb in blocks.iter().flat_map(|b| b.verbs.iter()) {
        by_name.entry(verb.name.as_str()).or_insert(verb);
        for form in &verb.forms {
            by_form.entry(form.as_str()).or_insert(verb);
        }
    }
    let verbs = Verbs { by_name, by_form };
    for block in &blocks {
        patterns(block, &verbs, &synsets, out);
    }
}

/// Every verb of the verb file, by name (`ASK_FOR`) and by form (`asked for`).
struct Verbs<'a> {
    by_name: HashMap<&'a str, &'a Verb>,
    by_form: HashMap<&'a str, &'a Verb>,
}

impl Verbs<'_> {
    /// The forms of the verb a pattern's comment names: a verb of the block, else of another
    /// block, by name or by form (`# RULED_OUT`), else the comment's word inflected when it is
    /// one word in capitals (`# URGE`); `None` when the comment names no verb.
    fn named(&self, comment: &str, block: &Block) -> Option<Vec<String>> {
        let word = comment
            .split(|c: char| !(c.is_ascii_alphabetic() || c == '_' || c == '-'))
            .find(|w| !w.is_empty())?;
        let name = word.to_uppercase();
        let in_block: Vec<String> = block
            .verbs
            .iter()
            .filter(|v| v.name == name)
            .flat_map(|v| v.forms.iter().cloned())
            .collect();
        if !in_block.is_empty() {
            return Some(in_block);
        }
        if let Some(verb) = self.by_name.get(name.as_str()) {
            return Some(verb.forms.clone());
        }
        let form = lower(word).replace('_', " ");
        if let Some(verb) = self.by_form.get(form.as_str()) {
            return Some(verb.forms.clone());
        }
        let capitals = word.chars().all(|c| c.is_ascii_uppercase());
        (capitals && word.len() >= 3).then(|| verb_inflections(&form))
    }
}

/// Reads one verb line of a block: its forms, and the code of the verb alone.
fn verb_line(trimmed: &str, line: usize, block: &mut Block, out: &mut Builder) {
    let content = strip_comment(trimmed);
    let content = content.split(';').next().unwrap_or_default().trim();
    let (content, code) = match content.find('[') {
        Some(open) => (
            content[..open].trim(),
            content[open + 1..].split(']').next().map(str::trim),
        ),
        None => (content, None),
    };
    let Some((head, listed)) = split_braces(content) else {
        out.note(
            VERBS_FILE,
            line,
            format!("`{trimmed}` has no `}}`; left out"),
        );
        return;
    };
    let head = if listed.is_some() { head.trim() } else { head };
    let mut tokens = head.split_whitespace();
    let Some(token) = tokens.next() else {
        out.note(
            VERBS_FILE,
            line,
            format!("`{trimmed}` has no verb; left out"),
        );
        return;
    };
    let extra: Vec<&str> = tokens.collect();
    if !extra.is_empty() {
        out.note(
            VERBS_FILE,
            line,
            format!(
                "words `{}` after the verb `{token}` ignored",
                extra.join(" ")
            ),
        );
    }
    let parts: Vec<&str> = token.split('_').filter(|p| !p.is_empty()).collect();
    let at = parts.iter().position(|p| p.starts_with('+')).unwrap_or(0);
    let words: Vec<String> = parts
        .iter()
        .map(|p| lower(p.trim_start_matches('+')))
        .collect();
    let name = words.join("_").to_uppercase();
    let mut forms = Vec::new();
    match listed {
        Some(listed) => {
            forms.push(words.join(" "));
            for item in listed.split([' ', ',', '\t']).filter(|i| !i.is_empty()) {
                let item = agent_words(&item.replace('+', ""));
                if !item.is_empty() {
                    forms.push(item.join(" "));
                }
            }
        }
        None => {
            for inflected in verb_inflections(&words[at]) {
                let mut w = words.clone();
                w[at] = inflected;
                forms.push(w.join(" "));
            }
        }
    }
    let code = code.unwrap_or(&block.code).to_owned();
    match cameo_root(&code) {
        Ok(Some(root)) => {
            for form in &forms {
                out.add(&format!("cameo_{root:02}"), form, VERBS_FILE, line);
            }
        }
        Ok(None) => {}
        Err(why) => out.note(
            VERBS_FILE,
            line,
            format!("{why}; the verb alone is left out"),
        ),
    }
    block.verbs.push(Verb { name, forms });
}

/// One element of a pattern: alternatives of words, or an actor slot.
enum Element {
    Words(Vec<String>),
    Slot,
}

/// Reads one side of a pattern (before or after `*`).
fn pattern_elements(side: &str, synsets: &Synsets) -> Result<Vec<Element>, String> {
    let mut elements = Vec::new();
    for token in side.split_whitespace() {
        let token = token.trim_matches(|c| "(){}".contains(c));
        if token.is_empty() {
            continue;
        }
        if ["$", "+", "%", "^"].contains(&token) {
            elements.push(Element::Slot);
        } else if let Some(name) = token.strip_prefix('&') {
            let name = name.trim_end_matches('_');
            match synsets.get(name) {
                Some(members) if !members.is_empty() => {
                    elements.push(Element::Words(members.clone()))
                }
                _ => return Err(format!("names the undefined synonym set &{name}")),
            }
        } else {
            let alternatives: Vec<String> = token
                .split('/')
                .map(agent_words)
                .filter(|w| !w.is_empty())
                .map(|w| w.join(" "))
                .collect();
            if alternatives.is_empty() {
                return Err(format!("has the token `{token}`, which is not a word"));
            }
            elements.push(Element::Words(alternatives));
        }
    }
    Ok(elements)
}

/// The words of a side: leading and trailing slots dropped, the phrase ended at a slot in the
/// middle; every combination of the alternatives.
fn side_phrases(elements: &[Element]) -> Result<Vec<String>, usize> {
    let start = elements
        .iter()
        .position(|e| matches!(e, Element::Words(_)))
        .unwrap_or(elements.len());
    let mut phrases = vec![String::new()];
    for element in &elements[start..] {
        let Element::Words(alternatives) = element else {
            break;
        };
        if phrases.len() * alternatives.len() > MAX_PATTERN_PHRASES {
            return Err(phrases.len() * alternatives.len());
        }
        phrases = phrases
            .iter()
            .flat_map(|p| {
                alternatives.iter().map(move |a| {
                    if p.is_empty() {
                        a.clone()
                    } else {
                        format!("{p} {a}")
                    }
                })
            })
            .collect();
    }
    phrases.retain(|p| !p.is_empty());
    Ok(phrases)
}

/// Writes a block's patterns.
fn patterns(block: &Block, verbs: &Verbs<'_>, synsets: &Synsets, out: &mut Builder) {
    for (line, raw) in &block.patterns {
        let line = *line;
        let body = &raw[1..];
        let (body, comment) = body.split_once('#').unwrap_or((body, ""));
        let Some(open) = body.rfind('[') else {
            out.note(VERBS_FILE, line, "pattern without a [CODE]; left out");
            continue;
        };
        let code = body[open + 1..]
            .split(']')
            .next()
            .unwrap_or_default()
            .trim();
        let root = match cameo_root(code) {
            Ok(Some(root)) => root,
            Ok(None) => {
                out.note(
                    VERBS_FILE,
                    line,
                    "pattern coded --- (PETRARCH2 codes no event for it); left out",
                );
                continue;
            }
            Err(why) => {
                out.note(VERBS_FILE, line, format!("{why}; pattern left out"));
                continue;
            }
        };
        let pattern = body[..open].trim();
        let Some((pre, post)) = pattern.split_once('*') else {
            out.note(
                VERBS_FILE,
                line,
                format!("pattern `{pattern}` has no `*`; left out"),
            );
            continue;
        };
        let (pre, post) = match (
            pattern_elements(pre, synsets),
            pattern_elements(post, synsets),
        ) {
            (Ok(pre), Ok(post)) => (pre, post),
            (Err(why), _) | (_, Err(why)) => {
                out.note(
                    VERBS_FILE,
                    line,
                    format!("pattern `{pattern}` {why}; left out"),
                );
                continue;
            }
        };
        let (pre, post) = match (side_phrases(&pre), side_phrases(&post)) {
            (Ok(pre), Ok(post)) => (pre, post),
            (Err(n), _) | (_, Err(n)) => {
                out.note(
                    VERBS_FILE,
                    line,
                    format!(
                        "pattern `{pattern}` expands to more than {MAX_PATTERN_PHRASES} phrases \
                         ({n}); left out"
                    ),
                );
                continue;
            }
        };
        let forms: Vec<String> = verbs.named(comment, block).unwrap_or_else(|| {
            block
                .verbs
                .iter()
                .flat_map(|v| v.forms.iter().cloned())
                .collect()
        });
        if forms.is_empty() {
            out.note(
                VERBS_FILE,
                line,
                "pattern in a block without verbs; left out",
            );
            continue;
        }
        let list = format!("cameo_{root:02}");
        let forms = forms.iter();
        if !post.is_empty() {
            for form in forms {
                for words in &post {
                    out.add(&list, &format!("{form} {words}"), VERBS_FILE, line);
                }
            }
        } else if !pre.is_empty() {
            for form in forms {
                for words in &pre {
                    out.add(&list, &format!("{words} {form}"), VERBS_FILE, line);
                }
            }
        } else {
            out.note(
                VERBS_FILE,
                line,
                format!("pattern `{pattern}` has no word around the verb; left out"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dictionaries() -> Dictionaries {
        Dictionaries {
            countries: "# header\n\
                AFGHANISTAN_  [AFG]\n\
                +AFGHAN_\n\
                +KABUL_\n\
                +US_\n\
                +CHINA_(PRC)\n\
                \n\
                KASYMZHOMART_TOKAYEV_  # CountryInfo.txt\n\
                \t[KAZGOV 991001-020128]\n\
                \t[KAZELI]\n\
                MOHAMMAD_ZAHIR_SHAH_\n\
                \t[AFGELI 320101-331108]\n\
                \t[AFGGOV 331108-730717]\n\
                LEONID_BREZHNEV_\n\
                SOVIET_LEADER_LEONID_BREZHNEV\n\
                \t[RUSGOV 641014-821110]\n\
                HAMID_KARZAI_\n\
                +KARZAI_\n\
                +PRESIDENT_KARZAI_\n\
                \t[AFGGOV >011222]\n\
                HASSAN_ALI_\n\
                \t[AFGMIL 19950101-20050101]\n\
                HASSAN_ROUHANI\n\
                \t[IRNGOV >130803]\n\
                JOHN_BROWN_\n\
                \t[GBRGOVMIL 19970101-20000101]\n\
                WHITE_HOUSE_ [USAGOV]\n\
                BAD_DATE_PERSON\n\
                \t[USAGOV 991301-991302]\n"
                .into(),
            international: "UN_ [IGOUNO]\n\
                U.N._SECURITY_COUNCIL\t[IGOUNO]\n\
                KOFI_ANNAN_\n\
                \t[IGOUNO 970101-061231]\n\
                HOPE_ [NGO]\n\
                EXXON_ [MNCUSA]\n"
                .into(),
            mil_non_state: "CONTINUITY_IRISH_REPUBLICAN_ARMY_(CIRA)_ [GBRREB]\n\
                +CONTINUITY_ARMY_COUNCIL_\n"
                .into(),
            agents: "!MINIST! = MINISTER, MINISTERS, MINISTRY, MINISTRIES\n\
                FOREIGN_!MINIST! [~GOV]\n\
                DEFENSE_MINIST [~GOVMIL]\n\
                MINISTER_OF_DEFENCE [~GOVMIL]\n\
                TROOP [~MIL]\n\
                POLICE {} [~COP]\n\
                THIEF {THIEVES} [~CRM]\n\
                AD!MINIST!RATION [~GOV]\n\
                REFUGEE [~REF]\n\
                NO_CODE_HERE\n"
                .into(),
            verbs: "####### SYNONYM SETS #######\n\
                &AID\n\
                +AID_\n\
                +ASSISTANCE\n\
                \n\
                ####### VERB PATTERNS #######\n\
                ---  MEET_PEOPLE   [040]  ---\n\
                +MEET_WITH {+MET_WITH +MEETS_WITH +MEETING_WITH }\n\
                MEET {MEETS MET MEETING}\n\
                CONFRONT\n\
                - * (FOR TALKS)                 [036:036]     # MEET\n\
                - * &AID                        [---]         # MEET\n\
                ---  ACCELERATE   [---]  ---\n\
                RUSH\n\
                BAN [172]\n\
                - * &AID                        [070]         # RUSH\n\
                - TALKS *                       [164]         # RUSH\n\
                - $ * (TO {BANNED PARTIES}) +   [1722]        # RUSH\n\
                - &MILITARY *                   [154]         # RUSH\n\
                ######## TRANSFORMATIONS ##########\n\
                ~ a (a b ATTACK) SAY = a b 015\n"
                .into(),
            issues: Some("<ISSUE CATEGORY=\"X\">\nrocket [X]\n</ISSUE>\n".into()),
        }
    }

    fn list<'a>(import: &'a Petrarch, name: &str) -> &'a [String] {
        import
            .lists
            .iter()
            .find(|l| l.name == name)
            .map_or(&[], |l| l.entries.as_slice())
    }

    #[test]
    fn country_block_gives_names_adjectives_cities_and_acronyms() {
        let import = petrarch(&dictionaries(), &Options::default());
        assert_eq!(
            list(&import, "countries"),
            ["Afghanistan", "Afghan", "Kabul", "{US}", "China", "{PRC}"]
        );
        assert_eq!(
            import.lists[0].source_lines[1],
            SourceLine {
                file: COUNTRIES_FILE,
                line: 3
            }
        );
    }

    #[test]
    fn office_holders_are_kept_by_the_cutoff_and_give_surnames() {
        let import = petrarch(&dictionaries(), &Options::default());
        assert_eq!(
            list(&import, "leaders_gov"),
            [
                "Kasymzhomart Tokayev",
                "Hamid Karzai",
                "Karzai",
                "President Karzai",
                "Hassan Rouhani",
                "John Brown"
            ]
        );
        // Zahir Shah and Brezhnev left office before 1990: counted, not noted.
        assert_eq!(import.before_cutoff, 2);
        // Brown is a common word, Ali is short, Hassan a given name.
        assert_eq!(
            list(&import, "surnames_gov"),
            ["Tokayev", "Karzai", "Rouhani"]
        );
        assert_eq!(list(&import, "leaders_mil"), ["Hassan Ali", "John Brown"]);
        assert!(list(&import, "surnames_mil").is_empty());
        assert_eq!(list(&import, "leaders_eli"), ["Kasymzhomart Tokayev"]);
        assert_eq!(list(&import, "institutions_gov"), ["White House"]);
        // A later cut-off leaves Tokayev's government post out, not his open ELI code.
        let later = Options {
            cutoff: "2005-01-01".parse().unwrap(),
        };
        let import = petrarch(&dictionaries(), &later);
        assert!(!list(&import, "leaders_gov").contains(&"Kasymzhomart Tokayev".to_owned()));
        assert!(list(&import, "leaders_eli").contains(&"Kasymzhomart Tokayev".to_owned()));
    }

    #[test]
    fn brezhnev_without_plus_joins_the_next_record_and_is_noted() {
        let import = petrarch(
            &dictionaries(),
            &Options {
                cutoff: "1960-01-01".parse().unwrap(),
            },
        );
        let leaders = list(&import, "leaders_gov");
        assert!(
            leaders.contains(&"Leonid Brezhnev".to_owned()),
            "{leaders:?}"
        );
        assert!(import
            .notes
            .iter()
            .any(|n| n.line == 14 && n.message.contains("no code and no `+`")));
    }

    #[test]
    fn international_and_armed_groups() {
        let import = petrarch(&dictionaries(), &Options::default());
        assert_eq!(list(&import, "igos"), ["UN", "U.N. Security Council"]);
        assert_eq!(list(&import, "igo_officials"), ["Kofi Annan"]);
        assert_eq!(list(&import, "ngos"), ["{HOPE}"]);
        assert_eq!(list(&import, "companies"), ["EXXON"]);
        assert_eq!(
            list(&import, "armed_groups"),
            [
                "Continuity Irish Republican Army",
                "Continuity Army Council",
                "{CIRA}"
            ]
        );
    }

    #[test]
    fn agents_expand_sets_plurals_and_stems() {
        let import = petrarch(&dictionaries(), &Options::default());
        let all: Vec<&String> = import
            .lists
            .iter()
            .filter(|l| l.name.starts_with("agents_"))
            .flat_map(|l| l.entries.iter())
            .collect();
        assert_eq!(
            all,
            [
                "foreign minister",
                "foreign ministers",
                "foreign ministry",
                "foreign ministries",
                "defense minist*",
                "minister of defence",
                "ministers of defence",
                "troop",
                "troops",
                "police",
                "thief",
                "thieves",
                "administration",
                "administrations",
                "refugee",
                "refugees"
            ]
        );
        // All codes are small here: one shared list.
        assert_eq!(
            import
                .lists
                .iter()
                .filter(|l| l.name.starts_with("agents_"))
                .count(),
            1
        );
        let notes: Vec<&str> = import
            .notes
            .iter()
            .filter(|n| n.file == AGENTS_FILE)
            .map(|n| n.message.as_str())
            .collect();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("`AD!MINIST!RATION` read as `ADMINISTRATION`"));
        assert!(notes[1].contains("no [CODE]"));
    }

    #[test]
    fn verb_blocks_give_forms_and_reduced_patterns() {
        let import = petrarch(&dictionaries(), &Options::default());
        assert_eq!(
            list(&import, "cameo_04"),
            [
                "meet with",
                "met with",
                "meets with",
                "meeting with",
                "meet",
                "meets",
                "met",
                "meeting",
                "confront",
                "confronts",
                "confronted",
                "confronting"
            ]
        );
        assert_eq!(
            list(&import, "cameo_03"),
            [
                "meet for talks",
                "meets for talks",
                "met for talks",
                "meeting for talks"
            ]
        );
        assert_eq!(
            list(&import, "cameo_17"),
            [
                "ban",
                "bans",
                "banned",
                "banning",
                "rush to banned parties",
                "rushes to banned parties",
                "rushed to banned parties",
                "rushing to banned parties"
            ]
        );
        assert_eq!(
            list(&import, "cameo_07"),
            [
                "rush aid",
                "rush assistance",
                "rushes aid",
                "rushes assistance",
                "rushed aid",
                "rushed assistance",
                "rushing aid",
                "rushing assistance"
            ]
        );
        assert_eq!(
            list(&import, "cameo_16"),
            [
                "talks rush",
                "talks rushes",
                "talks rushed",
                "talks rushing"
            ]
        );
        let notes: Vec<(usize, &str)> = import
            .notes
            .iter()
            .filter(|n| n.file == VERBS_FILE)
            .map(|n| (n.line, n.message.as_str()))
            .collect();
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].1.contains("coded ---"), "{notes:?}");
        assert!(
            notes[1].1.contains("undefined synonym set &MILITARY"),
            "{notes:?}"
        );
        assert!(notes[2].1.contains("transformation"), "{notes:?}");
    }

    #[test]
    fn bad_lines_are_noted_with_file_and_line() {
        let import = petrarch(&dictionaries(), &Options::default());
        let note = import
            .notes
            .iter()
            .find(|n| n.file == COUNTRIES_FILE && n.line == 29)
            .expect("a note for the bad date");
        assert!(note.message.contains("not a valid date"), "{note:?}");
        assert!(import.noted_lines() >= 5);
    }

    #[test]
    fn regular_verb_forms() {
        let f = |v: &str| verb_inflections(v);
        assert_eq!(f("ask"), ["ask", "asks", "asked", "asking"]);
        assert_eq!(f("ban"), ["ban", "bans", "banned", "banning"]);
        assert_eq!(f("admit"), ["admit", "admits", "admitted", "admitting"]);
        assert_eq!(f("visit"), ["visit", "visits", "visited", "visiting"]);
        assert_eq!(
            f("cancel"),
            [
                "cancel",
                "cancels",
                "canceled",
                "cancelled",
                "canceling",
                "cancelling"
            ]
        );
        assert_eq!(f("agree"), ["agree", "agrees", "agreed", "agreeing"]);
        assert_eq!(f("die"), ["die", "dies", "died", "dying"]);
        assert_eq!(f("rescue"), ["rescue", "rescues", "rescued", "rescuing"]);
        assert_eq!(f("carry"), ["carry", "carries", "carried", "carrying"]);
        assert_eq!(f("play"), ["play", "plays", "played", "playing"]);
        assert_eq!(f("veto"), ["veto", "vetoes", "vetoed", "vetoing"]);
        assert_eq!(f("quit"), ["quit", "quits", "quitting"]);
        assert_eq!(f("set"), ["set", "sets", "setting"]);
        assert_eq!(f("bring"), ["bring", "brings", "brought", "bringing"]);
        assert_eq!(
            f("begin"),
            ["begin", "begins", "began", "begun", "beginning"]
        );
        assert_eq!(f("appeal"), ["appeal", "appeals", "appealed", "appealing"]);
        assert_eq!(
            f("patrol"),
            ["patrol", "patrols", "patrolled", "patrolling"]
        );
        assert_eq!(f("offer"), ["offer", "offers", "offered", "offering"]);
    }

    #[test]
    fn dates_follow_petrarch() {
        let d = |s: &str| petrarch_date(s).map(|(d, w)| (d.to_string(), w.is_some()));
        assert_eq!(d("991001"), Ok(("1999-10-01".into(), false)));
        assert_eq!(d("020128"), Ok(("2002-01-28".into(), false)));
        assert_eq!(d("301231"), Ok(("2030-12-31".into(), false)));
        assert_eq!(d("310101"), Ok(("1931-01-01".into(), false)));
        assert_eq!(d("19270101"), Ok(("1927-01-01".into(), false)));
        assert_eq!(d("2004017"), Ok(("2020-04-01".into(), true)));
        assert!(d("991301").is_err());
        assert_eq!(
            "1990-01-01".parse::<Date>().unwrap().to_string(),
            "1990-01-01"
        );
        assert!("1990-1-1".parse::<Date>().is_err());
        assert!("2001-02-29".parse::<Date>().is_err());
    }

    #[test]
    fn entries_are_checked() {
        assert!(entry_key("United States").is_ok());
        assert!(entry_key("{US}").is_ok());
        assert!(entry_key("defense minist*").is_ok());
        assert_eq!(entry_key("U.S."), entry_key("US"));
        assert!(entry_key("mi*").is_err());
        assert!(entry_key("a_b").is_err());
        assert!(entry_key("{US").is_err());
        assert!(entry_key("").is_err());
        assert!(entry_key("-").is_err());
    }

    #[test]
    fn output_files() {
        let options = Options::default();
        let import = petrarch(&dictionaries(), &options);
        let countries = &import.lists[0];
        let text = list_file_text(countries, &options);
        assert!(text.starts_with("# countries: "), "{text}");
        assert!(text.contains("Phoenix.Countries.actors.txt"));
        assert!(text.contains("MIT licence"));
        assert!(text.contains("--cutoff 1990-01-01`: 6 entries"));
        assert!(text.ends_with("\nAfghanistan\nAfghan\nKabul\n{US}\nChina\n{PRC}\n"));
        let toml = lists_toml(&import.lists, &options);
        assert!(toml.contains(
            "\n[lists]\ncountries = { file = \"countries.txt\", description = \"countries"
        ));
        let parsed: toml::Value = toml::from_str(&toml).expect("valid TOML");
        assert_eq!(
            parsed["lists"].as_table().unwrap().len(),
            import.lists.len()
        );
    }
}
