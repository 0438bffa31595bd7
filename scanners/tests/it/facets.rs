//! What the scanners' typed facets must say: the same as the display attributes beside them.
//! The core decides on the facets and shows the attributes, so the two may never disagree.

use residual_scanners::{CredentialFacets, GrantFacets, Observations};

/// Every credential's and grant's facets are what its display attributes say (the keys the core
/// read before facets were typed).
pub(crate) fn assert_facets_match_attributes(obs: &Observations) {
    for c in &obs.credentials {
        assert_eq!(
            c.facets,
            CredentialFacets::from_attributes(c.kind, &c.attributes),
            "credential {} ({}): facets and attributes disagree",
            c.id,
            c.kind.as_str()
        );
    }
    for g in &obs.grants {
        assert_eq!(
            g.facets,
            GrantFacets::from_attributes(g.kind, &g.attributes),
            "grant {} of {}: facets and attributes disagree",
            g.target,
            g.account
        );
    }
}
