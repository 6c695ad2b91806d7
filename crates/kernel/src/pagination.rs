//! Pagination as DRF clients expect it.
//!
//! - [`PageRequest`] (`?page=&page_size=`, default 20, max 100) and [`Page`]:
//!   `{count, next, previous, results}` with absolute links. A page past the end is 404
//!   `"Invalid page."`, except page 1 of an empty list. [`PageRequest::paginate`] is the step
//!   every such list runs: count, check, load the page's [`Window`], wrap.
//! - [`CursorRequest`] (`?cursor=&page_size=`) and [`CursorPage`]: keyset pagination for feeds
//!   that grow without end; the cursor is an opaque encoding of the last row's sort key, so a
//!   deep page costs what the first does.
//! - [`parse_ordering`]: DRF's `?ordering=a,-b`, checked against the fields a list allows.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};

/// Page size when the client names none.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: u32 = 100;

/// `?page=` and `?page_size=`, for OpenAPI documentation of list endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number, or `last`.
    pub page: Option<String>,
    /// Items per page (default 20, at most 100).
    pub page_size: Option<u32>,
}

/// `?cursor=` and `?page_size=`, for OpenAPI documentation of feed endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CursorParams {
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Items per page (default 20, at most 100).
    pub page_size: Option<u32>,
}

/// Which page was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PageNumber {
    Number(u64),
    Last,
}

/// A page-number request, read from the query string.
#[derive(Clone, Debug)]
pub struct PageRequest {
    page: PageNumber,
    page_size: u32,
    /// Absolute URL of this request, for the links.
    url: String,
}

impl PageRequest {
    /// Reads `page` and `page_size` from a request.
    pub fn from_http(req: &HttpRequest) -> Result<Self, ApiError> {
        let mut page = PageNumber::Number(1);
        let mut page_size = DEFAULT_PAGE_SIZE;
        for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
            match key.as_ref() {
                "page" => {
                    page = match value.as_ref() {
                        "last" => PageNumber::Last,
                        v => match v.parse::<u64>() {
                            Ok(n) if n >= 1 => PageNumber::Number(n),
                            _ => return Err(ApiError::not_found("Invalid page.")),
                        },
                    }
                }
                // As DRF: an unusable page_size falls back to the default; a large one is capped.
                "page_size" => {
                    page_size = match value.parse::<u32>() {
                        Ok(0) | Err(_) => DEFAULT_PAGE_SIZE,
                        Ok(n) => n.min(MAX_PAGE_SIZE),
                    }
                }
                _ => {}
            }
        }
        Ok(Self {
            page,
            page_size,
            url: absolute_url(req),
        })
    }

    /// A request for page `page` of `page_size`, linking to `url` (for services and tests).
    pub fn new(page: u64, page_size: u32, url: impl Into<String>) -> Self {
        Self {
            page: PageNumber::Number(page.max(1)),
            page_size: page_size.clamp(1, MAX_PAGE_SIZE),
            url: url.into(),
        }
    }

    /// Items per page.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// The page number this request resolves to, given the total.
    fn number(&self, count: u64) -> u64 {
        match self.page {
            PageNumber::Number(n) => n,
            PageNumber::Last => count.div_ceil(u64::from(self.page_size)).max(1),
        }
    }

    /// Checks the page exists for `count` items: 404 `"Invalid page."` past the end.
    pub fn check(&self, count: u64) -> Result<(), ApiError> {
        let pages = count.div_ceil(u64::from(self.page_size)).max(1);
        if self.number(count) > pages {
            return Err(ApiError::not_found("Invalid page."));
        }
        Ok(())
    }

    /// `LIMIT` for the page query.
    pub fn limit(&self) -> i64 {
        i64::from(self.page_size)
    }

    /// `OFFSET` for the page query, given the total.
    pub fn offset(&self, count: u64) -> i64 {
        let offset = (self.number(count) - 1).saturating_mul(u64::from(self.page_size));
        i64::try_from(offset).unwrap_or(i64::MAX)
    }

    /// The paginate step of a page-number list: checks the page exists for `count` items
    /// (404 `"Invalid page."` past the end, before any row is loaded), loads the page's rows
    /// with `load`, given the page's [`Window`], and wraps them with their links.
    ///
    /// `count` is what the list's `COUNT(*)` query returned. `load` runs the page query and
    /// whatever batch query the rows need, so the list runs the statements it did when the
    /// step was written out by hand, in the same order:
    ///
    /// ```ignore
    /// let count: i64 = mine().count().get_result(conn)?;
    /// page.paginate(count, |window| {
    ///     let rows = mine().limit(window.limit).offset(window.offset).load(conn)?;
    ///     Ok(present(rows))
    /// })
    /// ```
    pub fn paginate<T>(
        self,
        count: i64,
        load: impl FnOnce(Window) -> ApiResult<Vec<T>>,
    ) -> ApiResult<Page<T>> {
        // `COUNT(*)` is never negative; were it, the list would read as empty.
        let count = u64::try_from(count).unwrap_or(0);
        self.check(count)?;
        let results = load(Window {
            limit: self.limit(),
            offset: self.offset(count),
        })?;
        Ok(self.into_page(count, results))
    }

    /// The page of a list known to be empty without asking the database (an unknown tag, no
    /// résumé yet): page 1 with no results, 404 `"Invalid page."` for any later page.
    pub fn empty<T>(self) -> ApiResult<Page<T>> {
        self.paginate(0, |_| Ok(Vec::new()))
    }

    /// Wraps a fetched page with its links.
    pub fn into_page<T>(self, count: u64, results: Vec<T>) -> Page<T> {
        let number = self.number(count);
        let pages = count.div_ceil(u64::from(self.page_size)).max(1);
        let next = (number < pages).then(|| with_query_param(&self.url, "page", Some(number + 1)));
        let previous = (number > 1).then(|| {
            // DRF drops the parameter for the first page.
            let target = (number > 2).then_some(number - 1);
            with_query_param(&self.url, "page", target)
        });
        Page {
            count,
            next,
            previous,
            results,
        }
    }
}

impl FromRequest for PageRequest {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Self::from_http(req))
    }
}

/// The rows of one page, as [`PageRequest::paginate`] hands them to the query that loads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// `LIMIT`: the page size.
    pub limit: i64,
    /// `OFFSET`: how many rows the earlier pages hold.
    pub offset: i64,
}

/// One page of a list, in DRF's shape.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// Total items across all pages.
    pub count: u64,
    /// Absolute URL of the next page, or null.
    pub next: Option<String>,
    /// Absolute URL of the previous page, or null.
    pub previous: Option<String>,
    /// This page's items.
    pub results: Vec<T>,
}

impl<T> Page<T> {
    /// Converts every item, keeping the links.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            count: self.count,
            next: self.next,
            previous: self.previous,
            results: self.results.into_iter().map(f).collect(),
        }
    }
}

/// The absolute URL of a request, honouring the scheme and host it was reached by.
pub fn absolute_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    let query = req.query_string();
    if query.is_empty() {
        format!("{}://{}{}", info.scheme(), info.host(), req.path())
    } else {
        format!(
            "{}://{}{}?{}",
            info.scheme(),
            info.host(),
            req.path(),
            query
        )
    }
}

/// `url` with `key` set to `value` (or removed when `None`), other parameters kept in order.
pub fn with_query_param(url: &str, key: &str, value: Option<u64>) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    let mut replaced = false;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k == key {
            if let (Some(n), false) = (value, replaced) {
                out.append_pair(key, &n.to_string());
                replaced = true;
            }
        } else {
            out.append_pair(&k, &v);
        }
    }
    if let (Some(n), false) = (value, replaced) {
        out.append_pair(key, &n.to_string());
    }
    let query = out.finish();
    if query.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{query}")
    }
}

/// A keyset request: `?cursor=` (opaque) and `?page_size=`.
#[derive(Clone, Debug)]
pub struct CursorRequest {
    cursor: Option<String>,
    page_size: u32,
}

impl CursorRequest {
    /// Reads `cursor` and `page_size` from a query string.
    pub fn from_query(query: &str) -> Self {
        let mut cursor = None;
        let mut page_size = DEFAULT_PAGE_SIZE;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "cursor" if !value.is_empty() => cursor = Some(value.into_owned()),
                "page_size" => {
                    page_size = match value.parse::<u32>() {
                        Ok(0) | Err(_) => DEFAULT_PAGE_SIZE,
                        Ok(n) => n.min(MAX_PAGE_SIZE),
                    }
                }
                _ => {}
            }
        }
        Self { cursor, page_size }
    }

    /// Items per page.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// Rows to fetch: one more than the page, to learn whether a next page exists.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.page_size) + 1
    }

    /// The position after which this page starts; `None` for the first page.
    pub fn position<K: DeserializeOwned>(&self) -> Result<Option<K>, ApiError> {
        self.cursor.as_deref().map(decode_cursor).transpose()
    }

    /// Trims the extra row and computes `next_cursor` from the last row kept.
    pub fn into_page<T, K: Serialize>(
        self,
        mut rows: Vec<T>,
        key: impl Fn(&T) -> K,
    ) -> CursorPage<T> {
        let limit = usize::try_from(self.page_size).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more {
            rows.last().map(|row| encode_cursor(&key(row)))
        } else {
            None
        };
        CursorPage {
            next_cursor,
            results: rows,
        }
    }
}

impl FromRequest for CursorRequest {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = Self::from_query(req.query_string());
        Box::pin(async move { Ok(request) })
    }
}

/// One page of a feed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CursorPage<T> {
    /// Pass as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// This page's items.
    pub results: Vec<T>,
}

impl<T> CursorPage<T> {
    /// Converts every item, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> CursorPage<U> {
        CursorPage {
            next_cursor: self.next_cursor,
            results: self.results.into_iter().map(f).collect(),
        }
    }
}

/// Encodes a sort key as an opaque cursor.
pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    // Serialising a plain key struct cannot fail; an empty cursor would only restart the feed.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Decodes a cursor; 400 `validation_error` on `cursor` if it was not made by us.
pub fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Result<K, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::invalid_field("cursor", "Invalid cursor."))
}

/// One field of `?ordering=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderBy {
    /// The field, as the list allows it.
    pub field: &'static str,
    /// `-field`: largest first.
    pub descending: bool,
}

/// Parses DRF's `?ordering=a,-b` against the fields a list allows (each backed by an index).
///
/// `None` or an empty value gives an empty list: the caller applies its default order. A field
/// given twice counts once (the first wins). An unknown field is 400 `validation_error` on
/// `ordering`, naming the fields allowed — rather than DRF's silent ignore, so a typo is seen.
pub fn parse_ordering(
    raw: Option<&str>,
    allowed: &[&'static str],
) -> Result<Vec<OrderBy>, ApiError> {
    let mut out: Vec<OrderBy> = Vec::new();
    for part in raw.unwrap_or("").split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let (name, descending) = match part.strip_prefix('-') {
            Some(name) => (name, true),
            None => (part, false),
        };
        let Some(field) = allowed.iter().copied().find(|f| *f == name) else {
            return Err(ApiError::invalid_field(
                "ordering",
                format!(
                    "Unknown ordering field \"{name}\"; use one of: {}.",
                    allowed.join(", ")
                ),
            ));
        };
        if out.iter().all(|o| o.field != field) {
            out.push(OrderBy { field, descending });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_is_checked_against_allowed_fields() {
        let allowed = ["created_at", "reply_count"];
        assert_eq!(parse_ordering(None, &allowed).unwrap(), vec![]);
        assert_eq!(
            parse_ordering(Some("-reply_count, created_at,-reply_count"), &allowed).unwrap(),
            vec![
                OrderBy {
                    field: "reply_count",
                    descending: true
                },
                OrderBy {
                    field: "created_at",
                    descending: false
                }
            ]
        );
        let err = parse_ordering(Some("password"), &allowed).unwrap_err();
        assert_eq!(err.code(), "validation_error");
        assert!(err.errors().unwrap().contains_key("ordering"));
    }

    fn req(page: u64, size: u32) -> PageRequest {
        PageRequest::new(
            page,
            size,
            format!("http://h/api/v1/posts/?search=x&page={page}"),
        )
    }

    #[test]
    fn links_follow_drf() {
        let first = req(1, 10).into_page(25, vec![0; 10]);
        assert_eq!(
            first.next.as_deref(),
            Some("http://h/api/v1/posts/?search=x&page=2")
        );
        assert_eq!(first.previous, None);

        let second = req(2, 10).into_page(25, vec![0; 10]);
        assert_eq!(
            second.previous.as_deref(),
            Some("http://h/api/v1/posts/?search=x")
        );
        assert_eq!(
            second.next.as_deref(),
            Some("http://h/api/v1/posts/?search=x&page=3")
        );

        let last = req(3, 10).into_page(25, vec![0; 5]);
        assert_eq!(last.next, None);
        assert_eq!(
            last.previous.as_deref(),
            Some("http://h/api/v1/posts/?search=x&page=2")
        );
    }

    #[test]
    fn page_past_the_end_is_invalid_but_empty_first_page_is_fine() {
        assert!(req(1, 10).check(0).is_ok());
        assert!(req(3, 10).check(25).is_ok());
        let err = req(4, 10).check(25).unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.detail()),
            (404, "Invalid page.")
        );
    }

    #[test]
    fn offsets() {
        assert_eq!(req(1, 20).offset(100), 0);
        assert_eq!(req(3, 20).offset(100), 40);
    }

    #[test]
    fn paginate_loads_the_window_of_an_existing_page() {
        let mut asked = None;
        let page = req(3, 20)
            .paginate(45, |window| {
                asked = Some(window);
                Ok(vec![1, 2, 3, 4, 5])
            })
            .unwrap();
        assert_eq!(
            asked,
            Some(Window {
                limit: 20,
                offset: 40
            })
        );
        assert_eq!((page.count, page.results.len()), (45, 5));
        assert_eq!(page.next, None);
        assert_eq!(
            page.previous.as_deref(),
            Some("http://h/api/v1/posts/?search=x&page=2")
        );
    }

    #[test]
    fn paginate_past_the_end_loads_nothing() {
        let mut loaded = false;
        let err = req(4, 10)
            .paginate(25, |_| {
                loaded = true;
                Ok(Vec::<u8>::new())
            })
            .unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.detail()),
            (404, "Invalid page.")
        );
        assert!(!loaded);
    }

    #[test]
    fn paginate_passes_the_loaders_error_on() {
        let err = req(1, 10)
            .paginate(3, |_| Err::<Vec<u8>, _>(ApiError::not_found("gone")))
            .unwrap_err();
        assert_eq!(err.detail(), "gone");
    }

    #[test]
    fn an_empty_list_has_only_its_first_page() {
        let first = req(1, 10).empty::<u8>().unwrap();
        assert_eq!((first.count, first.next, first.previous), (0, None, None));
        assert!(first.results.is_empty());
        let err = req(2, 10).empty::<u8>().unwrap_err();
        assert_eq!(err.status().as_u16(), 404);
    }

    #[test]
    fn cursor_round_trip_and_forgery() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Key {
            id: i64,
        }
        let c = encode_cursor(&Key { id: 42 });
        assert_eq!(decode_cursor::<Key>(&c).unwrap(), Key { id: 42 });
        assert_eq!(
            decode_cursor::<Key>("!!").unwrap_err().code(),
            "validation_error"
        );

        let page =
            CursorRequest::from_query("page_size=2").into_page(vec![5, 4, 3], |n| Key { id: *n });
        assert_eq!(page.results, vec![5, 4]);
        assert_eq!(
            decode_cursor::<Key>(page.next_cursor.as_deref().unwrap()).unwrap(),
            Key { id: 4 }
        );
        let end =
            CursorRequest::from_query("page_size=5").into_page(vec![2, 1], |n| Key { id: *n });
        assert_eq!(end.next_cursor, None);
    }
}

/// A cursor comes from the client: any string decodes to a key or a 400, and every key the
/// server encodes decodes to itself.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_cursor_decodes_or_is_refused(cursor in ".{0,200}") {
            if let Err(err) = decode_cursor::<(i64, i64)>(&cursor) {
                prop_assert_eq!(err.status().as_u16(), 400);
            }
        }

        #[test]
        fn encoded_keys_round_trip(key in any::<(i64, i64)>(), name in ".{0,40}") {
            prop_assert_eq!(decode_cursor::<(i64, i64)>(&encode_cursor(&key)).unwrap(), key);
            let text = (name, key.0);
            prop_assert_eq!(decode_cursor::<(String, i64)>(&encode_cursor(&text)).unwrap(), text);
        }
    }
}
