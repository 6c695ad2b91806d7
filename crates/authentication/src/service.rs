//! The authentication domain's requests: one async function per unit of work a handler asks
//! for. Each checks who may do it, chooses its transaction (or none), and does the Cache work
//! that follows a commit (revoking access tokens); handlers only extract and answer.

use plaza_kernel::auth::{revocation, TokenType};
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::{ApiError, ApiResult, Body, Caller, Db, Services};
use plaza_users::login_log::LoginMethod;
use plaza_users::password::{
    check_confirmation, hash_password_async, validate_new_password, verify_password_async,
};
use plaza_users::routes::require_login_session;
use plaza_users::settings::UsersSettings;
use plaza_users::{create_account, ClientInfo, NewAccount, User};
use std::time::Duration;

use crate::account_tokens::{self, Purpose};
use crate::api_keys;
use crate::login::{check_registration, complete_login};
use crate::sessions::{self, revoke_access_tokens, Rotation};
use crate::two_factor;
use crate::types::{
    CodeRequest, CreatedApiKey, NewApiKey, PasswordResetConfirm, PasswordResetRequest,
    RegisterRequest, RegisterResponse, TokenPairOut, TwoFactorDisable, TwoFactorEnrollment,
};

/// The client's address as throttles count it (one bucket for clients without one).
fn address(ip: &Option<String>) -> &str {
    ip.as_deref().unwrap_or("unknown")
}

/// One mail of a kind per account per minute, so the endpoints cannot be used to flood an
/// inbox.
const MAIL_INTERVAL: Duration = Duration::from_secs(60);

/// Creates an account, queues its verification mail and signs it in, in one transaction
/// (the password is hashed before it opens, on the blocking pool). Registrations from one
/// address are limited (`THROTTLE_REGISTER`), counted before the body is looked at, as DRF
/// throttles.
pub async fn register(
    services: &Services,
    settings: &UsersSettings,
    client: ClientInfo,
    input: Body<RegisterRequest>,
) -> ApiResult<RegisterResponse> {
    if let Some(limit) = settings.register_limit {
        limit.hit(&services.cache, address(&client.ip)).await?;
    }
    let input = input.parse()?;
    let (username, email) = check_registration(&input)?;
    let hash = hash_password_async(input.password.clone(), settings.bcrypt_cost).await?;
    let (config, codec) = (services.config.clone(), services.tokens.clone());
    services
        .db
        .transaction(move |conn| {
            let account = NewAccount {
                first_name: input.first_name,
                last_name: input.last_name,
                ..NewAccount::user(username, email, hash)
            };
            let user = create_account(conn, &account)?;
            account_tokens::send_verification(conn, &config, &user, client.ip.as_deref())?;
            let login = complete_login(
                conn,
                &codec,
                &user,
                &client,
                LoginMethod::Register,
                None,
                None,
            )?;
            Ok(RegisterResponse {
                user: login.user,
                access: login.access,
                refresh: login.refresh,
            })
        })
        .await
}

/// Ends the caller's session of `refresh` and revokes its access tokens and the one the
/// caller used.
pub async fn logout(services: &Services, caller: &Caller, refresh: String) -> ApiResult<()> {
    let (user_id, codec) = (caller.id, services.tokens.clone());
    let revoke = services
        .db
        .transaction(move |conn| sessions::logout(conn, &codec, user_id, &refresh))
        .await?;
    revoke_access_tokens(&services.cache, &revoke).await?;
    if let plaza_kernel::auth::Credential::Access { jti, expires_at } = &caller.credential {
        revocation::revoke_access(&services.cache, jti, *expires_at).await?;
    }
    Ok(())
}

/// Spends `refresh` for a new pair, in one transaction. A spent token sent again revokes its
/// session's access tokens and answers 401.
pub async fn refresh(
    services: &Services,
    refresh: String,
    client: ClientInfo,
) -> ApiResult<TokenPairOut> {
    let codec = services.tokens.clone();
    let rotation = services
        .db
        .transaction(move |conn| sessions::rotate(conn, &codec, &refresh, &client))
        .await?;
    match rotation {
        Rotation::Rotated(pair) => Ok(TokenPairOut {
            access: pair.access,
            refresh: pair.refresh,
        }),
        Rotation::Reused(revoke) => {
            revoke_access_tokens(&services.cache, &revoke).await?;
            Err(ApiError::token_invalid(
                "Token has already been used; its session has been revoked.",
            ))
        }
    }
}

/// Checks an access token (signature, expiry, revocation) or a refresh token (also its live
/// session); reads only.
pub async fn verify_token(services: &Services, token: String) -> ApiResult<()> {
    let tokens = &services.tokens;
    match tokens.decode(&token, TokenType::Access) {
        Ok(claims) => {
            if revocation::is_revoked(&services.cache, &claims).await? {
                return Err(ApiError::token_invalid("Token has been revoked."));
            }
            Ok(())
        }
        Err(access_error) => {
            if tokens.decode(&token, TokenType::Refresh).is_err() {
                return Err(access_error);
            }
            let codec = tokens.clone();
            services
                .db
                .run(move |conn| sessions::check_refresh(conn, &codec, &token))
                .await
        }
    }
}

/// Ends one of the caller's sessions (a login session only, not an API key), then revokes
/// its access tokens.
pub async fn end_session(services: &Services, caller: &Caller, id: i64) -> ApiResult<()> {
    require_login_session(caller)?;
    let user_id = caller.id;
    let revoke = services
        .db
        .transaction(move |conn| sessions::delete(conn, user_id, id))
        .await?;
    revoke_access_tokens(&services.cache, &revoke).await
}

/// Creates an API key for the caller (a login session only), in one transaction.
pub async fn create_api_key(
    db: &Db,
    caller: &Caller,
    input: Body<NewApiKey>,
) -> ApiResult<CreatedApiKey> {
    require_login_session(caller)?;
    let input = input.parse()?;
    let user_id = caller.id;
    db.transaction(move |conn| api_keys::create(conn, user_id, &input.name, input.expires_at))
        .await
}

/// Revokes one of the caller's API keys (a login session only).
pub async fn revoke_api_key(db: &Db, caller: &Caller, id: i64) -> ApiResult<()> {
    require_login_session(caller)?;
    let user_id = caller.id;
    db.transaction(move |conn| api_keys::revoke(conn, user_id, id))
        .await
}

/// Starts enrolling the caller in two-factor authentication (a login session only).
pub async fn begin_two_factor(db: &Db, caller: &Caller) -> ApiResult<TwoFactorEnrollment> {
    require_login_session(caller)?;
    let user_id = caller.id;
    db.transaction(move |conn| {
        let user = User::find(conn, user_id)?;
        two_factor::begin(conn, &user)
    })
    .await
}

/// Turns two-factor authentication on with a first code; answers the recovery codes.
pub async fn confirm_two_factor(
    db: &Db,
    caller: &Caller,
    input: Body<CodeRequest>,
) -> ApiResult<Vec<String>> {
    require_login_session(caller)?;
    let code = input.parse()?.code;
    let user_id = caller.id;
    db.transaction(move |conn| {
        let user = User::find(conn, user_id)?;
        let codes = two_factor::confirm(conn, &user, &code)?;
        syslog::record(
            conn,
            &Event::new(
                Level::Info,
                "authentication",
                "two_factor_enabled",
                format!("{} turned on two-factor authentication", user.username),
            )
            .user(user.id),
        )?;
        Ok(codes)
    })
    .await
}

/// Turns two-factor authentication off: reads, checks the password on the blocking pool
/// outside any transaction, then checks the code and disables in one transaction.
pub async fn disable_two_factor(
    db: &Db,
    caller: &Caller,
    input: Body<TwoFactorDisable>,
) -> ApiResult<()> {
    require_login_session(caller)?;
    let input = input.parse()?;
    let id = caller.id;
    let (user, row) = db
        .run(move |conn| Ok((User::find(conn, id)?, two_factor::enabled(conn, id)?)))
        .await?;
    let Some(row) = row else {
        return Err(ApiError::bad_request(
            "Two-factor authentication is not enabled.",
        ));
    };
    if !verify_password_async(input.password, user.password.clone()).await? {
        return Err(ApiError::invalid_field("password", "Incorrect password."));
    }
    let code = input.code;
    db.transaction(move |conn| {
        if two_factor::verify(conn, &row, &user.username, &code)?.is_none() {
            return Err(ApiError::invalid_field("code", "Invalid code."));
        }
        two_factor::disable(conn, user.id)?;
        syslog::record(
            conn,
            &Event::new(
                Level::Warning,
                "authentication",
                "two_factor_disabled",
                format!("{} turned off two-factor authentication", user.username),
            )
            .user(user.id),
        )?;
        Ok(())
    })
    .await
}

/// Queues a reset mail when an active account has `email`, at most one a minute per
/// account. Says nothing about whether one does.
pub async fn request_password_reset(
    services: &Services,
    settings: &UsersSettings,
    input: Body<PasswordResetRequest>,
    ip: Option<String>,
) -> ApiResult<()> {
    if let Some(limit) = settings.password_reset_limit {
        limit.hit(&services.cache, address(&ip)).await?;
    }
    let email = input.parse()?.email;
    let user = services
        .db
        .run(move |conn| Ok(User::find_by_email(conn, &email)?))
        .await?;
    let Some(user) = user.filter(|u| u.is_active) else {
        return Ok(());
    };
    let throttle = format!("auth:reset-mail:{}", user.id);
    if services
        .cache
        .set_nx(&throttle, "1", Some(MAIL_INTERVAL))
        .await?
    {
        let config = services.config.clone();
        services
            .db
            .transaction(move |conn| {
                account_tokens::send_reset(conn, &config, &user, ip.as_deref())
            })
            .await?;
    }
    Ok(())
}

/// Sets a new password with a reset token: the token and the password are checked before
/// the token is spent, the hash is made outside the transaction, and every session and
/// access token of the account is revoked after it commits.
pub async fn confirm_password_reset(
    services: &Services,
    bcrypt_cost: u32,
    input: PasswordResetConfirm,
    ip: Option<String>,
) -> ApiResult<()> {
    let token = input.token.clone();
    let (_, user) = services
        .db
        .run(move |conn| account_tokens::find_live(conn, &token, Purpose::ResetPassword))
        .await?;
    check_confirmation(
        "new_password_confirm",
        &input.new_password,
        input.new_password_confirm.as_deref(),
    )?;
    validate_new_password(&input.new_password, &user)?;
    let hash = hash_password_async(input.new_password, bcrypt_cost).await?;
    let token = input.token;
    let (user_id, revoke) = services
        .db
        .transaction(move |conn| {
            let (row, user) = account_tokens::find_live(conn, &token, Purpose::ResetPassword)?;
            account_tokens::spend(conn, &row)?;
            plaza_users::service::set_password(conn, user.id, &hash)?;
            plaza_users::service::mark_verified(conn, user.id)?;
            let (_, revoke) = sessions::revoke_all(conn, user.id, "password_reset")?;
            syslog::record(
                conn,
                &Event::new(
                    Level::Info,
                    "authentication",
                    "password_reset",
                    format!("{} reset their password by email", user.username),
                )
                .user(user.id)
                .ip(ip),
            )?;
            Ok((user.id, revoke))
        })
        .await?;
    revoke_access_tokens(&services.cache, &revoke).await?;
    revocation::revoke_all_access(&services.cache, user_id, services.tokens.access_ttl).await
}

/// Spends a verification token and marks its account's address verified, in one
/// transaction.
pub async fn verify_email(db: &Db, token: String) -> ApiResult<()> {
    db.transaction(move |conn| {
        let (row, user) = account_tokens::find_live(conn, &token, Purpose::VerifyEmail)?;
        account_tokens::spend(conn, &row)?;
        Ok(plaza_users::service::mark_verified(conn, user.id)?)
    })
    .await
}

/// Queues a new verification mail for the caller, at most one a minute (429 otherwise).
pub async fn resend_verification(
    services: &Services,
    caller: &Caller,
    ip: Option<String>,
) -> ApiResult<()> {
    let id = caller.id;
    let user = services
        .db
        .run(move |conn| Ok(User::find(conn, id)?))
        .await?;
    if user.is_verified {
        return Err(ApiError::bad_request(
            "Your email address is already verified.",
        ));
    }
    let throttle = format!("auth:verify-mail:{id}");
    let cache = &services.cache;
    if !cache.set_nx(&throttle, "1", Some(MAIL_INTERVAL)).await? {
        let left = cache.ttl(&throttle).await?.unwrap_or(MAIL_INTERVAL);
        return Err(ApiError::throttled(left.as_secs().max(1)));
    }
    let config = services.config.clone();
    services
        .db
        .transaction(move |conn| {
            account_tokens::send_verification(conn, &config, &user, ip.as_deref())
        })
        .await
}
