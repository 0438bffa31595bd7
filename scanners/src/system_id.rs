//! `SystemId`: the name of one swept system, `KIND:SCOPE` (`aws-iam:123456789012`,
//! `github:acme`, `git:/srv/repo`, `inventory:crm`). Stored and shown as that one string; code
//! that needs its parts asks this type instead of splitting the string again.

use std::fmt;

/// A borrowed view of a system id: its scanner kind and the scope that kind swept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SystemId<'a> {
    /// The scanner kind (`aws-iam`, `github`, `inventory`, …).
    pub kind: &'a str,
    /// What that kind swept: an account id, an org, a path, an export's name; empty when the id
    /// names a kind only.
    pub scope: &'a str,
}

impl<'a> SystemId<'a> {
    /// Reads `KIND:SCOPE`; a string without `:` is a kind with an empty scope. The scope keeps any
    /// further `:` (`git:C:/repo`, `aws-iam:profile:dev`).
    pub fn parse(system: &'a str) -> Self {
        match system.split_once(':') {
            Some((kind, scope)) => SystemId { kind, scope },
            None => SystemId {
                kind: system,
                scope: "",
            },
        }
    }

    /// Whether `asked` names this system: its whole id, its kind or its scope (what `--system`
    /// accepts).
    pub fn answers_to(&self, asked: &str) -> bool {
        self.kind == asked
            || (!self.scope.is_empty() && self.scope == asked)
            || *self == SystemId::parse(asked)
    }
}

impl fmt::Display for SystemId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scope.is_empty() {
            f.write_str(self.kind)
        } else {
            write!(f, "{}:{}", self.kind, self.scope)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SystemId;

    #[test]
    fn the_scope_keeps_every_colon_after_the_first() {
        let id = SystemId::parse("aws-iam:profile:dev");
        assert_eq!((id.kind, id.scope), ("aws-iam", "profile:dev"));
        assert_eq!(id.to_string(), "aws-iam:profile:dev");
        let bare = SystemId::parse("github");
        assert_eq!((bare.kind, bare.scope), ("github", ""));
        assert_eq!(bare.to_string(), "github");
    }

    #[test]
    fn a_system_answers_to_its_id_its_kind_and_its_scope() {
        let id = SystemId::parse("github:acme");
        assert!(id.answers_to("github:acme"));
        assert!(id.answers_to("github"));
        assert!(id.answers_to("acme"));
        assert!(!id.answers_to("gitlab"));
        assert!(!id.answers_to("github:other"));
        assert!(!SystemId::parse("github").answers_to(""));
    }
}
