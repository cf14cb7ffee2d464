//! `rubric check`: every problem of rule files (with their list files), and their lints.

use super::*;

use rubric::Severity;

pub(super) fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut problems = 0usize;
    for path in files {
        // Refuses what is not a regular file and caps the size (rubric::rules::read_rule_file).
        let text = rubric::rules::read_rule_file(path).map_err(anyhow::Error::msg)?;
        let name = path.display().to_string();
        match Engine::check_with(&name, &text, &rubric::rules::ListDir::beside(path)) {
            (Some(engine), _) => {
                for warning in engine.warnings() {
                    println!("{warning}");
                }
                let info = engine.info();
                let lists = if info.list_count > 0 {
                    format!(
                        ", {} ({})",
                        count(info.list_count, "list"),
                        count(info.list_entry_count, "entry").replace("entrys", "entries")
                    )
                } else {
                    String::new()
                };
                println!(
                    "{name}: {} in {}{lists}, 0 errors, {}",
                    count(info.rule_count, "rule"),
                    count(info.topic_count, "topic"),
                    count(engine.warnings().len(), "warning")
                );
                problems += engine.warnings().len();
            }
            (None, diagnostics) => {
                let err = rubric::RuleSetError::new(diagnostics);
                for d in err.diagnostics() {
                    println!("{d}");
                }
                let errors = err.error_count();
                let warnings = err
                    .diagnostics()
                    .iter()
                    .filter(|d| d.severity == Severity::Warning)
                    .count();
                println!(
                    "{name}: rejected, {}, {}",
                    count(errors, "error"),
                    count(warnings, "warning")
                );
                problems += err.diagnostics().len();
            }
        }
    }
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
