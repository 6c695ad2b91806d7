//! Registration and the login flow: password (bcrypt on the blocking pool, a dummy hash for
//! unknown users so both answers take the same time), lockouts, the optional second factor,
//! and what a completed login writes (login log, `last_login`, the attempt, a new session).

use actix_web::web;
use diesel::OptionalExtension;
use plaza_kernel::auth::TokenCodec;
use plaza_kernel::error::FieldErrors;
use plaza_kernel::syslog::{self, Event, Level};
use plaza_kernel::{ApiError, ApiResult, Cache, Db, DbConn};
use plaza_users::login_log::{self, LoginMethod};
use plaza_users::password::{check_confirmation, hash_password, needs_rehash, verify_or_dummy};
use plaza_users::service::{check_new_account, collect, AccountFields};
use plaza_users::{profile, views, ClientInfo, Email, User, Username};

use crate::attempts::{self, Outcome};
use crate::lockout::{self, Locked};
use crate::sessions;
use crate::two_factor::{self, Factor, TwoFactorRow};
use crate::types::{LoginOutcome, LoginResponse, RegisterRequest, TwoFactorChallenge};

/// Checks a registration before its password is hashed: every field problem at once.
pub fn check_registration(body: &RegisterRequest) -> ApiResult<(Username, Email)> {
    let mut errors = FieldErrors::new();
    collect(
        &mut errors,
        check_confirmation(
            "password_confirm",
            &body.password,
            body.password_confirm.as_deref(),
        ),
    );
    check_new_account(
        &AccountFields {
            username: &body.username,
            email: &body.email,
            password: &body.password,
            first_name: &body.first_name,
            last_name: &body.last_name,
        },
        errors,
    )
}

/// Everything a successful login writes, in the caller's transaction: a re-hashed password
/// (Django hashes, other bcrypt costs), the login log and `last_login`, the attempt, and a
/// new session whose tokens are returned with the user.
pub fn complete_login(
    conn: &mut DbConn,
    codec: &TokenCodec,
    user: &User,
    client: &ClientInfo,
    method: LoginMethod,
    attempt: Option<&str>,
    rehash: Option<&str>,
) -> ApiResult<LoginResponse> {
    if let Some(hash) = rehash {
        plaza_users::service::set_password(conn, user.id, hash)?;
    }
    login_log::record(conn, user.id, client, method)?;
    if let Some(login) = attempt {
        attempts::record(conn, login, Some(user.id), client, Outcome::Success)?;
    }
    let pair = sessions::open(conn, codec, user, client)?;
    let user = User::find(conn, user.id)?;
    let profile = profile::load(conn, user.id)?;
    Ok(LoginResponse {
        access: pair.access,
        refresh: pair.refresh,
        user: views::detail(user, profile),
    })
}

/// The shared services a login needs.
#[derive(Clone)]
pub struct LoginContext {
    /// The database.
    pub db: web::Data<Db>,
    /// Lockout counters.
    pub cache: web::Data<Cache>,
    /// Token signing.
    pub codec: web::Data<TokenCodec>,
    /// `BCRYPT_COST`.
    pub bcrypt_cost: u32,
}

/// The 401 for a wrong second factor.
/// Who is trying to sign in, as the lockouts and the login log see them.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// What the client typed as its username or email.
    pub login: String,
    /// The lockout subject (the account, or the unknown login).
    pub subject: String,
    /// Where from.
    pub client: ClientInfo,
}

fn invalid_second_factor() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "Invalid two-factor authentication code.",
    )
}

impl LoginContext {
    /// Counts a failure toward the lockouts and records the attempt (and, when a lockout
    /// starts, a security event).
    async fn fail(
        &self,
        subject: &str,
        login: &str,
        user_id: Option<i64>,
        client: &ClientInfo,
        outcome: Outcome,
    ) -> ApiResult<()> {
        let locked = lockout::fail(&self.cache, subject, client.ip.as_deref()).await?;
        let (login, client) = (login.to_owned(), client.clone());
        self.db
            .run(move |conn| {
                attempts::record(conn, &login, user_id, &client, outcome)?;
                if let Some(scope) = locked {
                    let message = match scope {
                        Locked::Subject => {
                            format!("Too many failed logins for \"{login}\"; locked for 15 minutes")
                        }
                        Locked::Ip => format!(
                            "Too many failed logins from {}; locked for 15 minutes",
                            client.ip.as_deref().unwrap_or("an unknown address")
                        ),
                    };
                    let scope = match scope {
                        Locked::Subject => "account",
                        Locked::Ip => "ip",
                    };
                    let mut event =
                        Event::new(Level::Warning, "authentication", "login_locked", message)
                            .ip(client.ip.clone())
                            .data(serde_json::json!({ "scope": scope, "login": login }));
                    if let Some(id) = user_id {
                        event = event.user(id);
                    }
                    syslog::record(conn, &event)?;
                }
                Ok(())
            })
            .await
    }

    /// Records an attempt refused because of a lockout.
    async fn refused(
        &self,
        login: &str,
        user_id: Option<i64>,
        client: &ClientInfo,
    ) -> ApiResult<()> {
        let (login, client) = (login.to_owned(), client.clone());
        self.db
            .run(move |conn| {
                Ok(attempts::record(
                    conn,
                    &login,
                    user_id,
                    &client,
                    Outcome::Locked,
                )?)
            })
            .await
    }

    /// `login/`: username (or email) and password, and optionally the second factor.
    pub async fn password_login(
        &self,
        login: String,
        password: String,
        otp_code: Option<String>,
        client: ClientInfo,
    ) -> ApiResult<LoginOutcome> {
        let lookup = login.clone();
        let (user, second) = self
            .db
            .run(move |conn| {
                let user = User::find_by_login(conn, &lookup)?;
                let second = match &user {
                    Some(user) => two_factor::enabled(conn, user.id)?,
                    None => None,
                };
                Ok((user, second))
            })
            .await?;
        let subject = lockout::subject(user.as_ref(), &login);
        if let Err(err) = lockout::check(&self.cache, &subject, client.ip.as_deref()).await {
            self.refused(&login, user.as_ref().map(|u| u.id), &client)
                .await?;
            return Err(err);
        }

        let hash = user
            .as_ref()
            .filter(|u| u.has_usable_password())
            .map(|u| u.password.clone());
        let cost = self.bcrypt_cost;
        let (ok, rehash) = plaza_users::password::hashing(move || {
            let ok = verify_or_dummy(&password, hash.as_deref(), cost);
            let rehash = match &hash {
                Some(stored) if ok && needs_rehash(stored, cost) => {
                    hash_password(&password, cost).ok()
                }
                _ => None,
            };
            (ok, rehash)
        })
        .await?;

        let user = match user {
            Some(user) if ok && user.is_active => user,
            Some(user) if ok => {
                self.fail(&subject, &login, Some(user.id), &client, Outcome::Inactive)
                    .await?;
                return Err(ApiError::invalid_credentials());
            }
            other => {
                let id = other.map(|u| u.id);
                self.fail(&subject, &login, id, &client, Outcome::InvalidCredentials)
                    .await?;
                return Err(ApiError::invalid_credentials());
            }
        };

        match (second, otp_code.filter(|c| !c.trim().is_empty())) {
            (None, _) => {
                let codec = self.codec.clone();
                let response = self
                    .db
                    .transaction(move |conn| {
                        complete_login(
                            conn,
                            &codec,
                            &user,
                            &client,
                            LoginMethod::Password,
                            Some(&login),
                            rehash.as_deref(),
                        )
                    })
                    .await?;
                lockout::clear(&self.cache, &subject).await?;
                Ok(LoginOutcome::Tokens(Box::new(response)))
            }
            (Some(_), None) => {
                let challenge = self.codec.issue_challenge(&user.token_subject())?;
                let user_id = user.id;
                self.db
                    .transaction(move |conn| {
                        if let Some(hash) = &rehash {
                            plaza_users::service::set_password(conn, user_id, hash)?;
                        }
                        attempts::record(
                            conn,
                            &login,
                            Some(user_id),
                            &client,
                            Outcome::TwoFactorRequired,
                        )?;
                        Ok(())
                    })
                    .await?;
                Ok(LoginOutcome::Challenge(TwoFactorChallenge {
                    two_factor_required: true,
                    challenge_token: challenge.token,
                }))
            }
            (Some(row), Some(code)) => self
                .second_factor(
                    user,
                    row,
                    code,
                    Attempt {
                        login,
                        subject,
                        client,
                    },
                    rehash,
                )
                .await
                .map(|response| LoginOutcome::Tokens(Box::new(response))),
        }
    }

    /// Checks a second factor and completes the login, or counts the failure.
    pub async fn second_factor(
        &self,
        user: User,
        row: TwoFactorRow,
        code: String,
        attempt: Attempt,
        rehash: Option<String>,
    ) -> ApiResult<LoginResponse> {
        let Attempt {
            login,
            subject,
            client,
        } = attempt;
        let codec = self.codec.clone();
        let user_id = user.id;
        let (login_for_tx, client_for_tx) = (login.clone(), client.clone());
        let done = self
            .db
            .transaction(move |conn| {
                let method = match two_factor::verify(conn, &row, &user.username, &code)? {
                    Some(Factor::Totp) => LoginMethod::TwoFactor,
                    Some(Factor::RecoveryCode) => LoginMethod::RecoveryCode,
                    None => return Ok(None),
                };
                complete_login(
                    conn,
                    &codec,
                    &user,
                    &client_for_tx,
                    method,
                    Some(&login_for_tx),
                    rehash.as_deref(),
                )
                .map(Some)
            })
            .await?;
        match done {
            Some(response) => {
                lockout::clear(&self.cache, &subject).await?;
                Ok(response)
            }
            None => {
                self.fail(
                    &subject,
                    &login,
                    Some(user_id),
                    &client,
                    Outcome::InvalidSecondFactor,
                )
                .await?;
                Err(invalid_second_factor())
            }
        }
    }

    /// `2fa/verify/`: the second step of a login that answered with a challenge.
    pub async fn verify_challenge(
        &self,
        challenge_token: &str,
        code: String,
        client: ClientInfo,
    ) -> ApiResult<LoginResponse> {
        use plaza_kernel::auth::{TokenType, CHALLENGE_TTL};
        let claims = self
            .codec
            .decode(challenge_token, TokenType::TwoFactorChallenge)?;
        let used_key = format!("auth:challenge-used:{}", claims.jti);
        if self.cache.get(&used_key).await?.is_some() {
            return Err(ApiError::token_invalid(
                "This challenge has already been used.",
            ));
        }
        let user_id = claims.user_id;
        let (user, row) = self
            .db
            .run(move |conn| {
                let user = User::find(conn, user_id).optional()?;
                let row = two_factor::enabled(conn, user_id)?;
                Ok((user, row))
            })
            .await?;
        let (user, row) = match (user, row) {
            (Some(user), Some(row)) if user.is_active => (user, row),
            _ => return Err(ApiError::token_invalid("Token is invalid.")),
        };
        let subject = lockout::subject(Some(&user), &user.username);
        let login = user.username.clone();
        if let Err(err) = lockout::check(&self.cache, &subject, client.ip.as_deref()).await {
            self.refused(&login, Some(user.id), &client).await?;
            return Err(err);
        }
        let attempt = Attempt {
            login,
            subject,
            client,
        };
        let response = self.second_factor(user, row, code, attempt, None).await?;
        self.cache.set(&used_key, "1", Some(CHALLENGE_TTL)).await?;
        Ok(response)
    }
}
