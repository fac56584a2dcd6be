//! Domain blocklists as admins share them: Mastodon's CSV export (a header line
//! `#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate`, then one
//! domain per record) or a plain file with one domain per line.

use super::block::BlockedDomain;

/// What a Mastodon domain block does. Broadside can only refuse a domain outright, which is
/// `suspend`; `silence` (hide from public timelines) and `noop` (only reject media or reports)
/// have no counterpart here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Suspend,
    Silence,
    Noop,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Silence => "silence",
            Self::Noop => "noop",
        }
    }

    /// An empty severity is a suspension, as in Mastodon's importer.
    fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "suspend" => Some(Self::Suspend),
            "silence" => Some(Self::Silence),
            "noop" => Some(Self::Noop),
            _ => None,
        }
    }
}

/// One domain of a blocklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistEntry {
    /// The line the record starts on, counting from 1.
    pub line: usize,
    pub domain: BlockedDomain,
    pub severity: Severity,
    /// The list's public comment, if it has that column.
    pub comment: String,
}

/// A record that could not be read, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidLine {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blocklist {
    pub entries: Vec<BlocklistEntry>,
    pub invalid: Vec<InvalidLine>,
}

/// Reads a blocklist. Blank lines, and lines starting with `#` other than the header, are
/// skipped; a record that cannot be read is listed in `invalid` and the rest still count.
pub fn parse(text: &str) -> Blocklist {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut list = Blocklist::default();
    let mut columns = Columns::default();
    let mut first = true;
    for (line, fields) in records(text) {
        let Some(head) = fields.first().map(|f| f.trim()) else {
            continue;
        };
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if first {
            first = false;
            if let Some(header) = Columns::from_header(&fields) {
                columns = header;
                continue;
            }
        }
        if head.starts_with('#') {
            continue;
        }
        let field = |index: Option<usize>| {
            index
                .and_then(|i| fields.get(i))
                .map_or("", |f| f.trim())
                .to_owned()
        };
        let domain = match BlockedDomain::parse(&field(Some(columns.domain))) {
            Ok(domain) => domain,
            Err(err) => {
                list.invalid.push(InvalidLine {
                    line,
                    reason: err.to_string(),
                });
                continue;
            }
        };
        let severity_text = field(columns.severity);
        let Some(severity) = Severity::parse(&severity_text) else {
            list.invalid.push(InvalidLine {
                line,
                reason: format!("unknown severity `{severity_text}` for {domain}"),
            });
            continue;
        };
        list.entries.push(BlocklistEntry {
            line,
            domain,
            severity,
            comment: field(columns.comment),
        });
    }
    list
}

/// Where the fields are; without a header, the domain is first and a severity may follow.
#[derive(Debug, Clone, Copy)]
struct Columns {
    domain: usize,
    severity: Option<usize>,
    comment: Option<usize>,
}

impl Default for Columns {
    fn default() -> Self {
        Self {
            domain: 0,
            severity: Some(1),
            comment: None,
        }
    }
}

impl Columns {
    /// Reads a header line (`#domain,#severity,…`, or the same without `#`).
    fn from_header(fields: &[String]) -> Option<Self> {
        let names: Vec<String> = fields
            .iter()
            .map(|f| f.trim().trim_start_matches('#').to_ascii_lowercase())
            .collect();
        let find = |name: &str| names.iter().position(|n| n == name);
        Some(Self {
            domain: find("domain")?,
            severity: find("severity"),
            comment: find("public_comment").or_else(|| find("comment")),
        })
    }
}

/// Splits CSV text (RFC 4180: fields in double quotes may hold commas, line breaks and `""`)
/// into records, each with the line it starts on.
fn records(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            '\n' if !quoted => {
                fields.push(std::mem::take(&mut field));
                records.push((start, std::mem::take(&mut fields)));
                line += 1;
                start = line;
            }
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            '\n' => {
                line += 1;
                field.push(c);
            }
            other => field.push(other),
        }
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push((start, fields));
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains(list: &Blocklist) -> Vec<(&str, Severity)> {
        list.entries
            .iter()
            .map(|e| (e.domain.as_str(), e.severity))
            .collect()
    }

    #[test]
    fn reads_a_mastodon_export() {
        let text = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\r\n\
                    spam.example,suspend,false,false,\"Spam, and lots of it\",false\r\n\
                    loud.example,silence,false,false,,false\r\n\
                    media.example,noop,true,false,\"Says \"\"hi\"\"\nin two lines\",false\r\n\
                    bad.example,suspend,true,true,,true\r\n";
        let list = parse(text);
        assert_eq!(
            domains(&list),
            [
                ("spam.example", Severity::Suspend),
                ("loud.example", Severity::Silence),
                ("media.example", Severity::Noop),
                ("bad.example", Severity::Suspend),
            ]
        );
        assert_eq!(list.entries[0].comment, "Spam, and lots of it");
        assert_eq!(list.entries[2].comment, "Says \"hi\"\nin two lines");
        assert_eq!(list.entries[3].line, 6, "the quoted line break counts");
        assert!(list.invalid.is_empty(), "{:?}", list.invalid);
    }

    #[test]
    fn reads_one_domain_per_line_with_comments_and_blanks() {
        let list = parse("\u{feff}# our list\nspam.example\n\n*.Bad.Example.\nnot a domain\n");
        assert_eq!(
            domains(&list),
            [
                ("spam.example", Severity::Suspend),
                ("bad.example", Severity::Suspend)
            ]
        );
        assert_eq!(list.invalid.len(), 1);
        assert_eq!(list.invalid[0].line, 5);
    }

    #[test]
    fn an_unknown_severity_is_invalid() {
        let list = parse("#domain,#severity\nodd.example,banish\n");
        assert!(list.entries.is_empty());
        assert!(list.invalid[0].reason.contains("banish"));
    }
}
