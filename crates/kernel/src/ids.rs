//! Typed ids: a `PostId` cannot be passed where a `ReplyId` is expected.
//!
//! [`typed_id!`](crate::typed_id) declares a newtype over `i64` that is a `BIGINT` column to
//! Diesel (on both backends), a plain integer to serde and to the OpenAPI document, and prints
//! as its number. New domains use one per table they own; [`UserId`] is here because every
//! domain refers to users.
//!
//! ```
//! plaza_kernel::typed_id!(
//!     /// A world's id.
//!     pub struct WorldId;
//! );
//! let id = WorldId(7);
//! assert_eq!(serde_json::to_string(&id).unwrap(), "7");
//! assert_eq!(id.to_string(), "7");
//! assert_eq!(i64::from(id), 7);
//! ```

/// Declares a typed id: `typed_id!(/// doc\n pub struct PostId;)`.
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $vis:vis struct $name:ident;) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        $vis struct $name(pub i64);

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::BigInt, DB> for $name
        where
            DB: diesel::backend::Backend,
            i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                self.0.to_sql(out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB> for $name
        where
            DB: diesel::backend::Backend,
            i64: diesel::deserialize::FromSql<diesel::sql_types::BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                i64::from_sql(bytes).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <i64 as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }
    };
}

typed_id!(
    /// A user's id (`users.id`).
    pub struct UserId;
);

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::UserId;
    use crate::db::{Db, PoolOptions};

    #[test]
    fn a_typed_id_binds_and_loads_as_bigint_through_either_backend() {
        let db = Db::connect("sqlite::memory:", PoolOptions::default()).unwrap();
        let mut conn = db.get().unwrap();
        let id: UserId = diesel::select(diesel::dsl::sql::<BigInt>("41 + 1"))
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(id, UserId(42));
        let back: i64 = diesel::select(UserId(9).into_sql::<BigInt>())
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(back, 9);
    }
}
