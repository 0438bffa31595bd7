//! A finding's evidence in its compact form: its JSON text with the fragments every large run
//! writes over and over (keys such as `"last_used_at":"`, a rule's fixed reason) as one byte each.
//! Candidates hold their evidence so ([`EvidenceText`]) and the store keeps it so
//! (`findings.evidence`); whoever reads it gets the JSON back ([`EvidenceText::json`], [`unpack`]).
//!
//! Why: a million-account export raises a couple of hundred thousand findings whose evidence is
//! ~330 bytes of JSON, half of it the same keys and sentences in every row: 71 MB of a 510 MB
//! store on the foundation benchmark (27 MB in this form), and as much memory held until the
//! run's lifecycle is planned. A general compressor was not taken: per-row compression of a few
//! hundred bytes gains little without a trained dictionary, and either costs a C dependency;
//! this is a table and two loops.
//!
//! Why it is lossless: packed text starts with [`MARKER`] and uses the bytes 0x02–0x1F other than
//! tab, line feed and carriage return as tokens, bytes that JSON text never holds raw (its strings
//! escape them; whitespace between tokens is only those three and the space). Text holding any of
//! them is kept as it is, and so is every row stored before this form: unpacking text that does
//! not start with the marker returns it unchanged.
//!
//! The table is part of the stored form: an entry may never change or move. A new table needs a
//! new marker (and unpacking keeps the old one).

use std::borrow::Cow;

/// Evidence JSON held packed (see the module's comment).
#[derive(Clone, PartialEq, Eq)]
pub struct EvidenceText(Box<str>);

impl EvidenceText {
    /// Packs `json`.
    pub fn from_json(json: &str) -> EvidenceText {
        EvidenceText(pack(json).into())
    }

    /// The JSON text.
    pub fn json(&self) -> Cow<'_, str> {
        unpack(&self.0)
    }

    /// The packed form, as the store keeps it.
    pub fn packed(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for EvidenceText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("EvidenceText").field(&self.json()).finish()
    }
}

/// Serialised as the JSON text (a string), as the evidence was before it was held packed.
impl serde::Serialize for EvidenceText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.json())
    }
}

/// The first byte of packed text (table 1).
const MARKER: u8 = 0x01;

/// Fragments of table 1, in the order of their tokens ([`token`]). Longer fragments come before
/// the shorter ones they begin with, so that packing takes the longest.
const TABLE: [&str; 27] = [
    r#"{"account":{"attributes":{"#,
    r#""created_at":""#,
    r#""enabled":true"#,
    r#""enabled":false"#,
    r#""kind":""#,
    r#""last_used_at":""#,
    r#""name":""#,
    r#""person":{"departed_at":""#,
    r#""departed_at":""#,
    r#""email":""#,
    r#""employee_id":""#,
    r#""link":{"confidence":"#,
    r#""method":""#,
    r#""status":"leaver""#,
    r#""status":""#,
    r#""used_at":""#,
    r#""hints":{"emails":[""#,
    r#""reason":""#,
    r#""note":""#,
    r#""owner":{"departed_at":""#,
    r#""credentials_to_rotate":["#,
    r#""credential":{"#,
    r#""secret":{"#,
    r#""live":"#,
    r#"no HR column, email, alias, employee id or owner links this account to a person""#,
    r#"every credential of this identity created before its owner left was known to them and needs rotation""#,
    r#"T00:00:00Z""#,
];

/// The byte that stands for `TABLE[index]`: 0x02 up, skipping tab, line feed and carriage return.
const fn token(index: usize) -> u8 {
    let mut byte = 0x02 + index as u8;
    if byte >= b'\t' {
        byte += 2; // past tab and line feed
    }
    if byte >= b'\r' {
        byte += 1; // past carriage return
    }
    byte
}

/// The fragment `byte` stands for, if it is a token.
fn fragment(byte: u8) -> Option<&'static str> {
    (0..TABLE.len())
        .find(|&i| token(i) == byte)
        .map(|i| TABLE[i])
}

/// Whether `byte` is the marker or a token (never raw in JSON text).
fn reserved(byte: u8) -> bool {
    byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r')
}

/// Evidence JSON as stored: packed, or as it is when it holds a reserved byte.
pub fn pack(json: &str) -> Cow<'_, str> {
    let bytes = json.as_bytes();
    if bytes.iter().any(|&b| reserved(b)) {
        return Cow::Borrowed(json);
    }
    let mut out = Vec::with_capacity(json.len() / 2 + 16);
    out.push(MARKER);
    let mut at = 0;
    'scan: while at < bytes.len() {
        let rest = &bytes[at..];
        // Every fragment starts with one of these; most bytes are none of them.
        if matches!(rest[0], b'"' | b'{' | b'n' | b'e' | b'T') && rest.len() > 1 {
            for (i, f) in TABLE.iter().enumerate() {
                // The first two bytes rule out all but one or two fragments before a compare.
                let f = f.as_bytes();
                if f[..2] == rest[..2] && rest.starts_with(f) {
                    out.push(token(i));
                    at += f.len();
                    continue 'scan;
                }
            }
        }
        out.push(rest[0]);
        at += 1;
    }
    // Only whole fragments (UTF-8 themselves) and ASCII tokens replaced whole UTF-8 sequences.
    Cow::Owned(String::from_utf8(out).unwrap_or_else(|_| json.to_string()))
}

/// The evidence JSON of stored text (see [`pack`]).
pub fn unpack(stored: &str) -> Cow<'_, str> {
    let Some(packed) = stored.strip_prefix(char::from(MARKER)) else {
        return Cow::Borrowed(stored);
    };
    let mut out = String::with_capacity(packed.len() * 3);
    let mut plain = 0;
    for (at, byte) in packed.bytes().enumerate() {
        if let Some(f) = reserved(byte).then(|| fragment(byte)).flatten() {
            out.push_str(&packed[plain..at]);
            out.push_str(f);
            plain = at + 1;
        }
    }
    out.push_str(&packed[plain..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_never_json_whitespace() {
        let tokens: Vec<u8> = (0..TABLE.len()).map(token).collect();
        let mut unique = tokens.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), tokens.len());
        for t in tokens {
            assert!(reserved(t) && t != MARKER, "token {t:#x}");
        }
    }

    #[test]
    fn longer_fragments_come_before_the_shorter_ones_they_begin_with() {
        for (i, long) in TABLE.iter().enumerate() {
            for short in &TABLE[..i] {
                assert!(!long.starts_with(short), "{long} after {short}");
            }
        }
    }

    #[test]
    fn evidence_reads_back_as_it_was_written_and_smaller() {
        let leaver = concat!(
            r#"{"account":{"attributes":{},"created_at":"2024-01-01T00:00:00Z","enabled":true,"#,
            r#""kind":"user","last_used_at":"2026-11-15T08:00:00Z","name":"acct-115310"},"#,
            r#""person":{"departed_at":"2026-05-13T00:00:00Z","email":"p@example.com","#,
            r#""employee_id":"E029363","link":{"confidence":0.9,"method":"email"},"status":"leaver"}}"#
        );
        let packed = pack(leaver);
        assert!(
            packed.len() * 2 < leaver.len(),
            "{} of {}",
            packed.len(),
            leaver.len()
        );
        assert_eq!(unpack(&packed), leaver);
        for json in [
            "{}",
            r#"{"name":"ünïcødé \"name\":\" in a value","x":[1,2]}"#,
            "{\n  \"kind\": \"user\"\n}",
            r#"{"note":"every credential"}"#,
            "",
        ] {
            assert_eq!(unpack(&pack(json)), json, "{json}");
        }
    }

    /// Text stored before this form, or holding a reserved byte, reads as it is.
    #[test]
    fn plain_text_reads_as_it_is() {
        let legacy = r#"{"account":{"attributes":{}}}"#;
        assert_eq!(unpack(legacy), legacy);
        let odd = "not json \u{2} with a token byte";
        assert_eq!(pack(odd), odd);
        assert_eq!(unpack(&pack(odd)), odd);
    }
}
