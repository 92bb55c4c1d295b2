//! The one way Portico imports a CSV file: a header row naming known
//! columns (any case, any order), then one record per row. Every bad row
//! is reported by its line, and a file with any error imports nothing.

use std::collections::HashSet;

/// One record, read by column name.
pub struct Row<'a> {
    pub line: usize,
    header: &'a [String],
    record: &'a csv::StringRecord,
}

impl Row<'_> {
    /// The trimmed value of `column`; None when absent or empty.
    pub fn get(&self, column: &str) -> Option<String> {
        self.header
            .iter()
            .position(|h| h == column)
            .and_then(|i| self.record.get(i))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// Like `get`, but the raw value (a password keeps its spaces).
    pub fn raw(&self, column: &str) -> String {
        self.header
            .iter()
            .position(|h| h == column)
            .and_then(|i| self.record.get(i))
            .unwrap_or("")
            .to_string()
    }
}

/// Reads `text`: `known` columns only, `required` ones present; `parse`
/// turns a row into (its unique key, its value); a key seen twice is an
/// error of the later row, named by `what` ("username", "name").
pub fn read<T>(
    text: &str,
    known: &[&str],
    required: &[&str],
    what: &str,
    mut parse: impl FnMut(&Row<'_>) -> Result<(String, T), String>,
) -> Result<Vec<T>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_ascii_lowercase()).collect(),
        Err(e) => return Err(vec![format!("line 1: cannot read header: {e}")]),
    };
    let mut errors: Vec<String> = header
        .iter()
        .filter(|h| !known.contains(&h.as_str()))
        .map(|h| {
            format!(
                "line 1: unknown column {h:?} (allowed: {})",
                known.join(", ")
            )
        })
        .collect();
    for need in required {
        if !header.iter().any(|h| h == need) {
            errors.push(format!("line 1: missing column {need}"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = record
            .position()
            .map(|p| usize::try_from(p.line()).unwrap_or(usize::MAX))
            .unwrap_or(0);
        let row = Row {
            line,
            header: &header,
            record: &record,
        };
        match parse(&row) {
            Ok((key, _)) if !seen.insert(key.clone()) => {
                errors.push(format!("line {line}: {what} {key:?} appears twice"))
            }
            Ok((_, value)) => out.push(value),
            Err(why) => errors.push(format!("line {line}: {why}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_names(text: &str) -> Result<Vec<String>, Vec<String>> {
        read(text, &["name", "note"], &["name"], "name", |row| {
            let name = row.get("name").ok_or("name is empty")?;
            Ok((name.clone(), name))
        })
    }

    #[test]
    fn names_every_bad_row_and_imports_nothing() {
        assert_eq!(parse_names("Name,note\na,x\nb,\n").unwrap(), ["a", "b"]);
        let e = parse_names("name\na\n\"\"\na\n").unwrap_err();
        assert_eq!(
            e,
            ["line 3: name is empty", "line 4: name \"a\" appears twice"]
        );
        let e = parse_names("note,colour\nx,y\n").unwrap_err();
        assert!(
            e.iter().any(|m| m.contains("unknown column \"colour\"")),
            "{e:?}"
        );
        assert!(e.iter().any(|m| m.contains("missing column name")), "{e:?}");
        let e = parse_names("name,note\na\n").unwrap_err();
        assert!(e[0].starts_with("line 2:"), "{e:?}");
    }
}
