//! One CSV line for files people open in spreadsheets: fields quoted
//! where CSV needs it, and a value a spreadsheet would run as a formula
//! (starting with = + - @, tab or CR, and not a number) defused with a
//! leading `'`. The exports and the channel plan's CSV share it.

pub fn csv_line(fields: &[&str]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let risky = f.starts_with(['=', '+', '-', '@', '\t', '\r']) && f.parse::<f64>().is_err();
        let value = if risky {
            format!("'{f}")
        } else {
            f.to_string()
        };
        if value.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&value.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&value);
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::csv_line;

    #[test]
    fn quotes_and_defuses() {
        assert_eq!(
            csv_line(&["a", "b,c", "say \"hi\""]),
            "a,\"b,c\",\"say \"\"hi\"\"\"\n"
        );
        assert_eq!(
            csv_line(&["=SUM(A1)", "-3", "@x", "+1.5"]),
            "'=SUM(A1),-3,'@x,+1.5\n"
        );
        assert_eq!(csv_line(&[]), "\n");
    }
}
