//! Query pieces that keep a statement in each connection's prepared-statement cache.
//!
//! On MySQL diesel prepares every statement on the server. A statement whose SQL it cannot
//! prove fixed (an `IN` list from `eq_any`, a `sql` literal, every `INSERT`) is prepared,
//! executed and closed each time: two round trips and two parses instead of one execution.
//! Measured on the forum's uncached reads (issue 16): half their statements were prepared
//! anew per request, and every statement of a create. These pieces write the same SQL
//! without giving up the cache (keyed by the SQL text).

use diesel::backend::Backend;
use diesel::expression::ValidGrouping;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType};
use diesel::QueryResult;

/// `column IN (…)` over ids, cached per size: the ids are sorted, deduplicated and padded
/// with the last one to the next power of two, so a page of 1–128 authors uses one of eight
/// statements. Build it with [`ids_in`].
#[derive(Debug, Clone)]
pub struct IdsIn<C> {
    column: C,
    ids: Vec<i64>,
}

/// `column IN (ids…)`, kept in the statement cache (see [`IdsIn`]); no ids matches nothing.
pub fn ids_in<C>(column: C, ids: &[i64]) -> IdsIn<C>
where
    C: Expression<SqlType = BigInt>,
{
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if let Some(&last) = ids.last() {
        ids.resize(ids.len().next_power_of_two(), last);
    }
    IdsIn { column, ids }
}

impl<C: Expression> Expression for IdsIn<C> {
    type SqlType = Bool;
}

impl<C, QS> AppearsOnTable<QS> for IdsIn<C> where C: AppearsOnTable<QS> {}

impl<C, QS> SelectableExpression<QS> for IdsIn<C> where C: SelectableExpression<QS> {}

impl<C, GB> ValidGrouping<GB> for IdsIn<C>
where
    C: ValidGrouping<GB>,
{
    type IsAggregate = C::IsAggregate;
}

impl<C> QueryId for IdsIn<C> {
    type QueryId = ();
    // The SQL depends on the number of ids: the cache keys it by its text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C, DB> QueryFragment<DB> for IdsIn<C>
where
    DB: Backend + HasSqlType<BigInt>,
    C: QueryFragment<DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.ids.is_empty() {
            out.push_sql("1 = 0");
            return Ok(());
        }
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for (i, id) in self.ids.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_bind_param::<BigInt, i64>(id)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

/// A fixed SQL expression of type `BigInt` (`LAST_INSERT_ID()`), cached unlike diesel's `sql`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FixedBigInt(pub(crate) &'static str);

impl Expression for FixedBigInt {
    type SqlType = BigInt;
}

impl<QS> AppearsOnTable<QS> for FixedBigInt {}

impl<QS> SelectableExpression<QS> for FixedBigInt {}

impl<GB> ValidGrouping<GB> for FixedBigInt {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for FixedBigInt {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB: Backend> QueryFragment<DB> for FixedBigInt {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.0);
        Ok(())
    }
}
