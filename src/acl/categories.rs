//! ACL categories: which command table ids each `@category` covers, derived
//! once from the same flags and groups COMMAND INFO reports.

use std::sync::OnceLock;

use ahash::AHashMap;

use crate::commands::introspection::{acl_categories, CATEGORY_ORDER};
use crate::commands::CommandTable;

fn index() -> &'static AHashMap<&'static str, Vec<usize>> {
    static INDEX: OnceLock<AHashMap<&'static str, Vec<usize>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let table = CommandTable::global();
        let mut map: AHashMap<&'static str, Vec<usize>> =
            CATEGORY_ORDER.iter().map(|c| (*c, Vec::new())).collect();
        for id in 0..table.len() {
            let entry = table.entry(id);
            for cat in acl_categories(entry.spec, &entry.full_name) {
                map.entry(cat).or_default().push(id);
            }
        }
        map
    })
}

/// The table ids in a category (lower-case name without `@`); `None` for
/// an unknown category.
pub fn commands_in(category: &str) -> Option<&'static [usize]> {
    index().get(category).map(Vec::as_slice)
}

/// Every category name, in the order ACL CAT lists them.
pub fn names() -> &'static [&'static str] {
    CATEGORY_ORDER
}
