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
//! new marker (and unpacking keeps the old one). The audit chain's event details are packed the
//! same way with a table of their own ([`EVENT_DETAILS`], marker 0x7F: no JSON text opens with
//! DEL), by `store::events`.

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

/// A table of fragments and the marker its packed text starts with.
pub struct Table {
    marker: u8,
    fragments: &'static [&'static str],
}

/// Findings' evidence (table 1).
const EVIDENCE: Table = Table {
    marker: MARKER,
    fragments: &TABLE,
};

/// The audit chain's event details: what every `opened` event of a finding says around its rule,
/// severity and subject (a quarter million events: 16 MB of JSON, 8 MB packed). No fragment
/// ends in `,"` or `{"`, so a key such as `"expires_at"` stays whole in packed text, where
/// SQL's `LIKE` finds it (`store::audit`).
pub const EVENT_DETAILS: Table = Table {
    marker: 0x7F,
    fragments: &[
        r#"{"rule":""#,
        r#"","severity":"low","subject":""#,
        r#"","severity":"medium","subject":""#,
        r#"","severity":"high","subject":""#,
        r#"","severity":"critical","subject":""#,
        r#"","severity":""#,
        r#"","subject":""#,
        r#""}"#,
    ],
};

/// HR records as `snapshot_people` keeps each snapshot's (`store::people`): the field names of
/// a person's record around its values (100,000 people: ~80 bytes of a 180-byte record). A
/// column of its own, read only with this table: the marker may be the events' one.
pub const HR_RECORDS: Table = Table {
    marker: 0x7F,
    fragments: &[
        r#"{"aliases":[""#,
        r#""],"department":""#,
        r#""],"email":""#,
        r#"{"department":""#,
        r#"{"email":""#,
        r#"","email":""#,
        r#"","github_login":""#,
        r#"","gitlab_user":""#,
        r#"","aws_user":""#,
        r#"","manager":""#,
        r#"","name":""#,
        r#"","role_changed_at":""#,
        r#"","status":"active","title":""#,
        r#"","status":"active""#,
        r#"","status":""#,
        r#"","terminated_at":""#,
        r#"","title":""#,
        r#""attributes":{""#,
        r#""}"#,
    ],
};

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

/// The fragment `byte` stands for in `table`, if it is a token.
fn fragment(table: &Table, byte: u8) -> Option<&'static str> {
    (0..table.fragments.len())
        .find(|&i| token(i) == byte)
        .map(|i| table.fragments[i])
}

/// Whether `byte` is the marker or a token (never raw in JSON text).
fn reserved(byte: u8) -> bool {
    byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r')
}

/// Evidence JSON as stored: packed, or as it is when it holds a reserved byte.
pub fn pack(json: &str) -> Cow<'_, str> {
    pack_with(&EVIDENCE, json)
}

/// The evidence JSON of stored text (see [`pack`]).
pub fn unpack(stored: &str) -> Cow<'_, str> {
    unpack_with(&EVIDENCE, stored)
}

/// JSON packed with `table`: its marker, then the text with each fragment as its token; as it
/// is when it holds a reserved byte or the marker (DEL may be raw in a JSON string).
pub fn pack_with<'j>(table: &Table, json: &'j str) -> Cow<'j, str> {
    let bytes = json.as_bytes();
    if bytes.iter().any(|&b| reserved(b) || b == table.marker) {
        return Cow::Borrowed(json);
    }
    let mut out = Vec::with_capacity(json.len() / 2 + 16);
    out.push(table.marker);
    let mut at = 0;
    'scan: while at < bytes.len() {
        let rest = &bytes[at..];
        // Every fragment starts with one of these; most bytes are none of them.
        if matches!(rest[0], b'"' | b'{' | b'n' | b'e' | b'T') && rest.len() > 1 {
            for (i, f) in table.fragments.iter().enumerate() {
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

/// The JSON of text stored by [`pack_with`] with `table`; other text as it is.
pub fn unpack_with<'s>(table: &Table, stored: &'s str) -> Cow<'s, str> {
    let Some(packed) = stored.strip_prefix(char::from(table.marker)) else {
        return Cow::Borrowed(stored);
    };
    let mut out = String::with_capacity(packed.len() * 3);
    let mut plain = 0;
    for (at, byte) in packed.bytes().enumerate() {
        if let Some(f) = reserved(byte).then(|| fragment(table, byte)).flatten() {
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
        assert!(EVENT_DETAILS.fragments.len() <= TABLE.len());
        assert!(HR_RECORDS.fragments.len() <= TABLE.len());
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
        for table in [&EVIDENCE, &EVENT_DETAILS, &HR_RECORDS] {
            for (i, long) in table.fragments.iter().enumerate() {
                for short in &table.fragments[..i] {
                    assert!(!long.starts_with(short), "{long} after {short}");
                }
            }
        }
    }

    /// An `opened` event's detail packs to about half, reads back byte for byte, and a key such
    /// as `"expires_at"` stays whole in packed text; details of either table read only with
    /// their own.
    #[test]
    fn event_details_read_back_as_written_and_keep_their_keys_whole() {
        let opened = r#"{"rule":"leaver-active-account","severity":"high","subject":"acct-21"}"#;
        let packed = pack_with(&EVENT_DETAILS, opened);
        assert!(packed.len() * 2 < opened.len() + 10, "{}", packed.len());
        assert_eq!(unpack_with(&EVENT_DETAILS, &packed), opened);
        let excepted =
            r#"{"approver":"x","expires_at":"2027-01-01T00:00:00Z","reason":"r","rule":"a"}"#;
        let packed = pack_with(&EVENT_DETAILS, excepted);
        assert!(packed.contains(r#""expires_at""#), "{packed:?}");
        assert_eq!(unpack_with(&EVENT_DETAILS, &packed), excepted);
        for json in ["{}", "not json", "x\u{7f}y", "{\"a\":\"\u{7f}\"}"] {
            assert_eq!(
                unpack_with(&EVENT_DETAILS, &pack_with(&EVENT_DETAILS, json)),
                json
            );
        }
        // Text holding the marker is kept as it is.
        let raw_del = "{\"a\":\"\u{7f}\"}";
        assert_eq!(pack_with(&EVENT_DETAILS, raw_del), raw_del);
        assert_eq!(
            unpack(&pack_with(&EVENT_DETAILS, opened)).chars().next(),
            Some('\u{7f}')
        );
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
