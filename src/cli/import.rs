//! `rubric import phoenix` and `rubric import petrarch`: rule and list files from PETRARCH2
//! dictionaries.

use super::*;

pub(super) fn import_phoenix(file: &Path, output: Option<PathBuf>) -> Result<ExitCode> {
    // A regular file of at most 64 MiB (`/dev/zero` and FIFOs are refused at once).
    let text = rubric::rules::read_text_file(file, rubric::rules::MAX_RULE_FILE_BYTES)
        .map_err(|why| anyhow::anyhow!("cannot read dictionary {}: {why}", file.display()))?;
    let name = file.display().to_string();
    let import = rubric::import::phoenix(&name, &text);
    // Another file (an actor dictionary, a rule file): one line, not every line as a note.
    if import.blocks == 0 {
        bail!("no <ISSUE> block found in {name}: is it a PETRARCH2 issue dictionary?");
    }
    for note in &import.notes {
        eprintln!("{name}:{}: {}", note.line, note.message);
    }
    // Blocks without one codable line: the input's fault, said as such.
    if import.topics == 0 {
        bail!(
            "{name}: no rule written: its {} held no codable line `phrase [CODE]` (see above)",
            count(import.blocks, "<ISSUE> block")
        );
    }
    // The result must load: a converter that writes an unloadable file is a bug worth stopping on.
    let engine = Engine::from_toml("<imported>", &import.toml)
        .map_err(|e| anyhow::anyhow!("the imported rule set does not load (a bug):\n{e}"))?;
    match &output {
        Some(path) => fs::write(path, &import.toml)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => io::stdout().write_all(import.toml.as_bytes())?,
    }
    eprintln!(
        "{name}: {} in {}, {} not translated exactly (listed above), {}",
        count(import.rules, "rule"),
        count(import.topics, "topic"),
        count(import.notes.len(), "line"),
        count(engine.warnings().len(), "lint warning"),
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn import_petrarch(
    dir: &Path,
    cutoff: rubric::import::petrarch::Date,
    output: &Path,
) -> Result<ExitCode> {
    use rubric::import::petrarch;
    let dictionaries = petrarch::Dictionaries::read(dir)?;
    let options = petrarch::Options { cutoff };
    let import = petrarch::petrarch(&dictionaries, &options);
    for note in &import.notes {
        // The dictionaries hold a few damaged characters: never write a control character raw.
        let message: String = note
            .message
            .chars()
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_unicode().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect();
        eprintln!(
            "{}:{}: {message}",
            dir.join(&note.file).display(),
            note.line
        );
    }
    fs::create_dir_all(output)
        .with_context(|| format!("cannot create directory {}", output.display()))?;
    let write = |name: &str, text: &str| {
        let path = output.join(name);
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    for list in &import.lists {
        write(
            &format!("{}.txt", list.name),
            &petrarch::list_file_text(list, &options),
        )?;
    }
    write("lists.toml", &petrarch::lists_toml(&import.lists, &options))?;
    // The lists are a substantial portion of the dictionaries: their licence goes with them.
    if let Ok(licence) = fs::read_to_string(dir.join(petrarch::LICENSE_FILE)) {
        write(petrarch::LICENSE_FILE, &licence)?;
    }
    eprintln!(
        "{}: {} with {} written to {}; {} not translated (listed above); {} whose codes all ended before {cutoff} left out",
        dir.display(),
        count(import.lists.len(), "list"),
        count(import.entries(), "entry").replace("entrys", "entries"),
        output.display(),
        count(import.noted_lines(), "source line"),
        count(import.before_cutoff, "actor"),
    );
    Ok(ExitCode::SUCCESS)
}
