//! Forum paths that are a canonical endpoint under another name. The canonical handler is
//! mounted at the forum's path as it is, and its OpenAPI operation is copied from the domain's
//! document (retagged, renamed, its path parameters renamed to the forum path's placeholders),
//! so neither the handler's parameters nor its documentation is written twice.

use std::collections::BTreeMap;

use utoipa::openapi::path::{HttpMethod, Operation, PathItem};
use utoipa::openapi::{OpenApi, RefOr};

/// The tag of every forum path.
pub const TAG: &str = "forum (original paths)";

/// One forum path served by a canonical endpoint.
#[derive(Clone, Copy, Debug)]
pub struct Alias {
    /// The forum's method.
    pub method: Method,
    /// The forum's path, e.g. `/posts/update/{id}/`.
    pub path: &'static str,
    /// The canonical method.
    pub canonical_method: Method,
    /// The canonical path, e.g. `/api/v1/posts/{id}/`.
    pub canonical: &'static str,
}

/// The methods forum paths use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    fn http(self) -> HttpMethod {
        match self {
            Self::Get => HttpMethod::Get,
            Self::Post => HttpMethod::Post,
            Self::Patch => HttpMethod::Patch,
            Self::Delete => HttpMethod::Delete,
        }
    }

    fn of(self, item: &PathItem) -> Option<&Operation> {
        match self {
            Self::Get => item.get.as_ref(),
            Self::Post => item.post.as_ref(),
            Self::Patch => item.patch.as_ref(),
            Self::Delete => item.delete.as_ref(),
        }
    }
}

/// The placeholders of a path template, in order: `/a/{x}/b/{y}/` → `["x", "y"]`.
fn placeholders(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split('}').next())
        .collect()
}

/// The OpenAPI document of `aliases`, each operation copied from `canonical` (which must
/// document every canonical path; a missing one is left out and caught by the OpenAPI test).
pub fn document(aliases: &[Alias], canonical: &OpenApi) -> OpenApi {
    let mut doc = OpenApi::default();
    for alias in aliases {
        let Some(source) = canonical
            .paths
            .get_path_item(alias.canonical)
            .and_then(|item| alias.canonical_method.of(item))
        else {
            continue;
        };
        let mut op = source.clone();
        let renames: BTreeMap<&str, &str> = placeholders(alias.canonical)
            .into_iter()
            .zip(placeholders(alias.path))
            .collect();
        for param in op.parameters.iter_mut().flatten() {
            if let RefOr::T(param) = param {
                if let Some(name) = renames.get(param.name.as_str()) {
                    param.name = (*name).to_owned();
                }
            }
        }
        op.tags = Some(vec![TAG.to_owned()]);
        op.operation_id = op.operation_id.map(|id| format!("legacy_{id}"));
        op.description = Some(format!(
            "The forum's original path for {} `{}`: the same endpoint, the same answers.",
            alias.canonical_method.name(),
            alias.canonical
        ));
        doc.paths
            .add_path_operation(alias.path, vec![alias.method.http()], op);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_order() {
        assert_eq!(placeholders("/posts/reply/create/{post_id}/"), ["post_id"]);
        assert_eq!(placeholders("/a/{x}/b/{y}/"), ["x", "y"]);
        assert!(placeholders("/posts/list/").is_empty());
    }
}
