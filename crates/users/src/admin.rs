//! Accounts in the staff console: a searchable list, the account form (roles and the staff
//! flag for superusers only), staff-made accounts, deletion with what goes with it, the
//! "deactivate" bulk action, and sign-ups per day on the dashboard. Everything goes through
//! this crate's services, so the console obeys the API's rules (and ends the sessions of a
//! deactivated account through the sessions hook).

use actix_web::web;
use diesel::prelude::*;
use plaza_kernel::admin::{
    self, Action, Admin, AdminContext, AdminFuture, AdminModel, Chart, Column, Delete, Field,
    FieldKind, Filter, ListPage, ListRequest, Point, Record, Row, Values, YES_NO,
};
use plaza_kernel::counts::Counts;
use plaza_kernel::{ApiError, ApiResult, Body, Role};

use crate::service::{self, requests};
use crate::sessions::Sessions;
use crate::types::{CreateUser, ListQuery, UserPatch};
use crate::views::{UserDetail, UserOut, Viewer};
use crate::UsersSettings;

const ROLES: &[admin::Choice] = &[
    ("user", "User"),
    ("moderator", "Moderator"),
    ("admin", "Admin"),
];

/// The users domain in the console.
pub const ADMIN: Admin = Admin {
    models: &[USERS],
    charts: &[Chart {
        title: "Sign-ups per day",
        unit: "users",
        series: signups_per_day,
    }],
    gauges: &[],
};

/// Accounts.
pub const USERS: AdminModel = AdminModel {
    columns: &[
        Column::new("username", "Username"),
        Column::new("email", "Email"),
        Column::new("role", "Role"),
        Column::new("is_staff", "Staff"),
        Column::new("is_active", "Active"),
        Column::new("date_joined", "Joined"),
    ],
    search: Some("username, name or email"),
    filters: &[
        Filter {
            key: "is_active",
            label: "Active",
            choices: YES_NO,
        },
        Filter {
            key: "is_staff",
            label: "Staff",
            choices: YES_NO,
        },
        Filter {
            key: "role",
            label: "Role",
            choices: ROLES,
        },
    ],
    orderings: &[
        ("-date_joined", "Newest"),
        ("date_joined", "Oldest"),
        ("username", "Username"),
        ("-last_login", "Last login"),
    ],
    fields: &[
        Field::on_create("username", "Username", FieldKind::Text),
        Field::new("email", "Email", FieldKind::Text),
        Field::on_create("password", "Password", FieldKind::Text),
        Field::new("first_name", "First name", FieldKind::Text),
        Field::new("last_name", "Last name", FieldKind::Text),
        Field::new("is_active", "Active", FieldKind::Bool),
        Field::new("is_verified", "Email verified", FieldKind::Bool),
        Field::new("is_premium", "Premium", FieldKind::Bool),
        Field::superuser("role", "Role", FieldKind::Choice(ROLES)),
        Field::superuser("is_staff", "Staff", FieldKind::Bool),
    ],
    actions: &[Action::new(
        "deactivate",
        "Deactivate the selected accounts",
    )],
    create: Some(create),
    update: Some(update),
    delete: Some(Delete {
        preview: delete_preview,
        run: delete,
    }),
    act,
    ..AdminModel::new("users", "Users", list, get)
};

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

fn full(out: UserOut) -> ApiResult<UserDetail> {
    match out {
        UserOut::Full(detail) => Ok(detail),
        UserOut::Public(_) => Err(ApiError::permission_denied("Staff only.")),
    }
}

fn list(ctx: AdminContext, request: ListRequest) -> AdminFuture<ListPage> {
    ctx.read(move |conn, caller| {
        let role = request.filter("role").map(str::parse::<Role>).transpose()?;
        let query = ListQuery {
            search: request.search.clone(),
            ordering: request.ordering.clone(),
            is_active: request.flag("is_active"),
            is_staff: request.flag("is_staff"),
            is_verified: None,
            role,
        };
        let page = service::list_users(
            conn,
            Viewer::Staff(caller.id),
            &query,
            request.page_request(),
        )?;
        let mut rows = Vec::with_capacity(page.results.len());
        for out in page.results {
            let user = full(out)?;
            rows.push(
                Row::new(user.id)
                    .cell("username", &user.username)
                    .cell("email", &user.email)
                    .cell("role", user.role.as_str())
                    .cell("is_staff", yes_no(user.is_staff))
                    .cell("is_active", yes_no(user.is_active))
                    .cell("date_joined", user.date_joined.format("%Y-%m-%d %H:%M")),
            );
        }
        Ok(ListPage {
            total: page.count,
            rows,
        })
    })
}

fn get(ctx: AdminContext, id: String) -> AdminFuture<Record> {
    ctx.read(move |conn, caller| {
        let id = admin::numeric_id(&id)?;
        let user = full(service::get_user(conn, Viewer::Staff(caller.id), id)?)?;
        Ok(Record::new(user.id, &user.username)
            .value("email", &user.email)
            .value("first_name", &user.first_name)
            .value("last_name", &user.last_name)
            .value("is_active", user.is_active)
            .value("is_verified", user.is_verified)
            .value("is_premium", user.is_premium)
            .value("role", user.role.as_str())
            .value("is_staff", user.is_staff)
            .detail("Id", user.id)
            .detail("Username", &user.username)
            .detail("Superuser", yes_no(user.is_superuser))
            .detail("Joined", user.date_joined.format("%Y-%m-%d %H:%M:%S UTC"))
            .detail(
                "Last login",
                user.last_login.map_or_else(
                    || "never".to_owned(),
                    |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                ),
            ))
    })
}

/// Roles and the staff flag are for superusers in the console, whatever the API allows staff.
fn ensure_superuser_fields(ctx: &AdminContext, values: &Values) -> ApiResult<()> {
    if ctx.caller.is_superuser {
        return Ok(());
    }
    match ["role", "is_staff"]
        .into_iter()
        .find(|f| values.0.contains_key(*f))
    {
        Some(field) => Err(ApiError::permission_denied(format!(
            "Only superusers may change {field}."
        ))),
        None => Ok(()),
    }
}

fn role_of(values: &Values) -> ApiResult<Option<Role>> {
    values.text("role").map(|r| r.parse::<Role>()).transpose()
}

fn update(ctx: AdminContext, id: String, values: Values) -> AdminFuture<()> {
    Box::pin(async move {
        ensure_superuser_fields(&ctx, &values)?;
        let id = admin::numeric_id(&id)?;
        let patch = UserPatch {
            email: values.text("email"),
            first_name: values.text("first_name"),
            last_name: values.text("last_name"),
            is_active: values.flag("is_active"),
            is_verified: values.flag("is_verified"),
            is_premium: values.flag("is_premium"),
            is_staff: values.flag("is_staff"),
            role: role_of(&values)?,
            ..UserPatch::default()
        };
        plaza_kernel::extract::validate(&patch)?;
        let hook = sessions_hook(&ctx);
        requests::update_account(
            &ctx.services,
            hook,
            ctx.caller.clone(),
            id,
            Body::valid(patch),
            false,
        )
        .await
        .map(drop)
    })
}

fn sessions_hook(ctx: &AdminContext) -> requests::SessionsHook {
    ctx.request.app_data::<web::Data<dyn Sessions>>().cloned()
}

fn create(ctx: AdminContext, values: Values) -> AdminFuture<String> {
    Box::pin(async move {
        ensure_superuser_fields(&ctx, &values)?;
        let input = CreateUser {
            username: values.text("username").unwrap_or_default(),
            email: values.text("email").unwrap_or_default(),
            password: values.text("password").unwrap_or_default(),
            first_name: values.text("first_name").unwrap_or_default(),
            last_name: values.text("last_name").unwrap_or_default(),
            is_active: values.flag("is_active"),
            is_staff: values.flag("is_staff"),
            is_premium: values.flag("is_premium"),
            is_verified: values.flag("is_verified"),
            role: role_of(&values)?,
        };
        plaza_kernel::extract::validate(&input)?;
        let cost = ctx
            .services
            .sections
            .get_or_default::<UsersSettings>()
            .bcrypt_cost;
        let user = requests::create_user(
            &ctx.services.db,
            cost,
            ctx.caller.clone(),
            Body::valid(input),
        )
        .await?;
        Ok(user.id.to_string())
    })
}

fn delete_preview(ctx: AdminContext, id: String) -> AdminFuture<Vec<String>> {
    let counts = ctx.request.app_data::<web::Data<Counts>>().cloned();
    ctx.read(move |conn, _| {
        let id = admin::numeric_id(&id)?;
        let user = crate::User::find(conn, id)
            .optional()?
            .ok_or_else(|| ApiError::not_found("No user with this id."))?;
        let mut out = vec![format!(
            "The account {} with its profile, settings, sessions and login history",
            user.username
        )];
        if let Some(counts) = counts {
            for (name, n) in counts.count_user(conn, id)? {
                if n > 0 {
                    out.push(format!("{n} {}", name.replace('_', " ")));
                }
            }
        }
        Ok(out)
    })
}

fn delete(ctx: AdminContext, id: String) -> AdminFuture<()> {
    Box::pin(async move {
        let id = admin::numeric_id(&id)?;
        requests::delete_user(&ctx.services, ctx.caller.clone(), id).await
    })
}

fn act(ctx: AdminContext, action: String, ids: Vec<String>) -> AdminFuture<usize> {
    Box::pin(async move {
        if action != "deactivate" {
            return Err(ApiError::bad_request(format!("No action \"{action}\".")));
        }
        let mut changed = 0;
        for id in ids {
            let id = admin::numeric_id(&id)?;
            if ctx.caller.is(id) {
                return Err(ApiError::bad_request(
                    "You cannot deactivate your own account here.",
                ));
            }
            let patch = UserPatch {
                is_active: Some(false),
                ..UserPatch::default()
            };
            requests::update_account(
                &ctx.services,
                sessions_hook(&ctx),
                ctx.caller.clone(),
                id,
                Body::valid(patch),
                false,
            )
            .await?;
            changed += 1;
        }
        Ok(changed)
    })
}

fn signups_per_day(ctx: AdminContext, days: u32) -> AdminFuture<Vec<Point>> {
    // Counted per day in SQL over the `date_joined` index.
    ctx.read(move |conn, _| Ok(admin::count_per_day(conn, "users", "date_joined", days)?))
}
