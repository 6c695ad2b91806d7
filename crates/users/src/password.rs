//! Passwords: Django's four validators, bcrypt hashing on the blocking pool, and verification
//! of the PBKDF2 hashes of accounts migrated from the Django projects (re-hashed with bcrypt
//! at their next login, see [`needs_rehash`]).
//!
//! A form that sets a new password (sign-up, the password change, the password reset) runs
//! the same pipeline: [`check_confirmation`] (before any query), its own checks (the old
//! password, the token), [`validate_password`] against the account's [`UserAttributes`]
//! ([`validate_new_password`] for an existing account), then [`hash_password_async`].

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use plaza_kernel::{ApiError, ApiResult};

use crate::model::User;

/// Django's common-password list (see `data/NOTICE.md`), lower case, one per line.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 8;

/// The longest password a form takes, in characters: `#[validate(length(max = …))]` on every
/// password field, so an oversized one is refused before anything hashes or compares it.
pub const MAX_INPUT_LENGTH: u64 = 4096;

/// What a password may not resemble (Django's `UserAttributeSimilarityValidator`): the
/// account's username, email and names. An empty attribute is not compared.
#[derive(Clone, Copy, Debug, Default)]
pub struct UserAttributes<'a> {
    /// The username.
    pub username: &'a str,
    /// The email address.
    pub email: &'a str,
    /// The given name.
    pub first_name: &'a str,
    /// The family name.
    pub last_name: &'a str,
}

impl<'a> UserAttributes<'a> {
    /// Each attribute under the name the similarity message gives it.
    fn named(&self) -> [(&'static str, &'a str); 4] {
        [
            ("username", self.username),
            ("email", self.email),
            ("first name", self.first_name),
            ("last name", self.last_name),
        ]
    }
}

impl<'a> From<&'a User> for UserAttributes<'a> {
    fn from(user: &'a User) -> Self {
        Self {
            username: &user.username,
            email: &user.email,
            first_name: &user.first_name,
            last_name: &user.last_name,
        }
    }
}

/// Checks `password` against Django's default validators: minimum length, not entirely
/// numeric, not too similar to the user's attributes, not common. All failures are reported
/// together under `field`.
pub fn validate_password(
    password: &str,
    field: &str,
    attributes: &UserAttributes<'_>,
) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    if password.chars().count() < MIN_LENGTH {
        problems.push(format!(
            "This password is too short. It must contain at least {MIN_LENGTH} characters."
        ));
    }
    if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
        problems.push("This password is entirely numeric.".to_owned());
    }
    if let Some(name) = too_similar(password, &attributes.named()) {
        problems.push(format!("The password is too similar to the {name}."));
    }
    if is_common(password) {
        problems.push("This password is too common.".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(
            [(field.to_owned(), problems)].into_iter().collect(),
        ))
    }
}

/// A new password for an existing account (the password change, the password reset):
/// [`validate_password`] on `new_password`, which may not resemble `user`'s attributes.
pub fn validate_new_password(new_password: &str, user: &User) -> ApiResult<()> {
    validate_password(new_password, "new_password", &UserAttributes::from(user))
}

/// A form's confirmation of its password: when one was sent (`confirm`), it must equal
/// `password`, or 400 `validation_error` on `field` with Django's message.
pub fn check_confirmation(field: &str, password: &str, confirm: Option<&str>) -> ApiResult<()> {
    if confirm.is_some_and(|confirm| confirm != password) {
        return Err(ApiError::invalid_field(
            field,
            "The two password fields didn't match.",
        ));
    }
    Ok(())
}

fn is_common(password: &str) -> bool {
    let lower = password.trim().to_lowercase();
    COMMON_PASSWORDS.lines().any(|line| line == lower)
}

/// Django's `UserAttributeSimilarityValidator`: the password against each attribute and each
/// of its parts split at non-word characters, with a similarity ratio of 0.7.
fn too_similar<'a>(password: &str, attributes: &[(&'a str, &str)]) -> Option<&'a str> {
    let password = password.to_lowercase();
    for (name, value) in attributes {
        let value = value.to_lowercase();
        if value.is_empty() {
            continue;
        }
        let parts = std::iter::once(value.as_str())
            .chain(value.split(|c: char| !(c.is_alphanumeric() || c == '_')))
            .filter(|p| !p.is_empty());
        for part in parts {
            if similarity(&password, part) >= 0.7 {
                return Some(name);
            }
        }
    }
    None
}

/// Ratcliff/Obershelp similarity, as Python's `SequenceMatcher.ratio()`: twice the number of
/// matching characters over the total length.
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    let matches = matching_chars(&a, &b);
    #[allow(clippy::cast_precision_loss)]
    let ratio = 2.0 * matches as f64 / total as f64;
    ratio
}

fn matching_chars(a: &[char], b: &[char]) -> usize {
    // Longest common substring, then recurse on both sides of it.
    let (mut best_len, mut best_a, mut best_b) = (0, 0, 0);
    let mut prev = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        let mut row = vec![0usize; b.len() + 1];
        for j in 1..=b.len() {
            if a[i - 1] == b[j - 1] {
                row[j] = prev[j - 1] + 1;
                if row[j] > best_len {
                    (best_len, best_a, best_b) = (row[j], i - row[j], j - row[j]);
                }
            }
        }
        prev = row;
    }
    if best_len == 0 {
        return 0;
    }
    best_len
        + matching_chars(&a[..best_a], &b[..best_b])
        + matching_chars(&a[best_a + best_len..], &b[best_b + best_len..])
}

/// Hashes a password with bcrypt. CPU-heavy: call it on the blocking pool
/// ([`hash_password_async`]).
pub fn hash_password(password: &str, cost: u32) -> Result<String, ApiError> {
    bcrypt::hash(password, cost).map_err(ApiError::internal)
}

/// Checks a password against a stored hash: bcrypt (Plaza's own), or Django's
/// `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` (accounts migrated from the Django
/// projects). `false` for an unusable or malformed hash. CPU-heavy: blocking pool only.
pub fn verify_password(password: &str, hash: &str) -> bool {
    if let Some(django) = hash.strip_prefix(DJANGO_PBKDF2_PREFIX) {
        return verify_django_pbkdf2(password, django);
    }
    bcrypt::verify(password, hash).unwrap_or(false)
}

/// Whether a stored hash should be replaced after a successful login: Django hashes become
/// bcrypt, and bcrypt hashes of another cost take the configured one.
pub fn needs_rehash(hash: &str, cost: u32) -> bool {
    if hash.starts_with(DJANGO_PBKDF2_PREFIX) {
        return true;
    }
    // `$2b$12$…`: the cost is the third field.
    match hash.split('$').nth(2).map(str::parse::<u32>) {
        Some(Ok(stored)) => stored != cost,
        _ => false,
    }
}

/// Verifies `password` against `hash`, or against a dummy bcrypt hash of the same cost when
/// there is no account, so an unknown user costs the same time as a wrong password.
/// CPU-heavy: blocking pool only.
pub fn verify_or_dummy(password: &str, hash: Option<&str>, cost: u32) -> bool {
    match hash {
        Some(hash) => verify_password(password, hash),
        None => {
            let _ = verify_password(password, &dummy_hash(cost));
            false
        }
    }
}

/// A bcrypt hash of a random string at `cost`, made once per cost and process.
fn dummy_hash(cost: u32) -> String {
    static DUMMIES: OnceLock<Mutex<HashMap<u32, String>>> = OnceLock::new();
    let dummies = DUMMIES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = dummies
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.entry(cost)
        .or_insert_with(|| {
            let secret = plaza_kernel::crypto::random_token(18);
            // A failure leaves an unusable hash; verification of it fails just as slowly.
            bcrypt::hash(secret, cost).unwrap_or_else(|_| UNUSABLE_PASSWORD.to_owned())
        })
        .clone()
}

/// Runs password hashing work `f` on the hashing threads and waits for it without holding an
/// async worker. By default there is one thread per CPU, so logins per second scale with the
/// cores, at nice 9: the HTTP workers preempt them and get most of a contended core, so reads
/// keep their latency during a burst of logins, while an otherwise idle machine hashes at
/// full speed on every core (`PASSWORD_HASH_THREADS`, `PASSWORD_HASH_PRIORITY`; see
/// [`HashingPool::configure`]).
/// At most [`QUEUED_PER_THREAD`] jobs per thread wait; past that the answer is 503 with
/// `Retry-After` instead of a queue that grows for as long as the burst lasts.
pub async fn hashing<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    HashingPool::global().run(f).await
}

/// Jobs that may wait per hashing thread (at the production cost, about 8 s of work for all
/// of them on a machine that hashes 4 a second per core).
pub const QUEUED_PER_THREAD: usize = 32;

/// How the hashing threads are scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashPriority {
    /// Linux `SCHED_IDLE` (elsewhere the lowest priority): only CPU time nothing else wants.
    /// Reads keep all of a saturated machine, and logins wait until it has a moment.
    Idle,
    /// `SCHED_OTHER` at this nice value (0–19): a share of a contended core.
    Nice(u8),
}

impl Default for HashPriority {
    /// Nice 9: the HTTP workers get ~90 % of a contended core and logins still progress
    /// (under `SCHED_IDLE`, a read load that saturates the machine stopped them outright).
    fn default() -> Self {
        Self::Nice(9)
    }
}

/// One hashing thread per CPU.
pub fn default_hash_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

type HashJob = Box<dyn FnOnce() + Send>;

/// Threads that run hashing jobs at a lower priority, fed from a bounded queue.
#[derive(Debug, Clone)]
pub struct HashingPool {
    queue: std::sync::mpsc::SyncSender<HashJob>,
}

static GLOBAL_POOL: OnceLock<HashingPool> = OnceLock::new();

impl HashingPool {
    /// The process's pool: [`HashingPool::configure`]d at start, else one thread per CPU at
    /// the default priority (nice 9); [`QUEUED_PER_THREAD`] waiting jobs per thread.
    pub fn global() -> &'static Self {
        GLOBAL_POOL.get_or_init(|| Self::start(default_hash_threads(), HashPriority::default()))
    }

    /// Starts the process's pool with `threads` threads at `priority` (the users domain does
    /// it at start from its settings); does nothing if it is already running.
    pub fn configure(threads: usize, priority: HashPriority) {
        let _ = GLOBAL_POOL.get_or_init(|| Self::start(threads, priority));
    }

    /// Starts `threads` threads (at least one) at `priority`, with room for
    /// [`QUEUED_PER_THREAD`] waiting jobs each.
    pub fn start(threads: usize, priority: HashPriority) -> Self {
        let threads = threads.max(1);
        Self::with_capacity(threads, priority, threads * QUEUED_PER_THREAD)
    }

    /// Starts `threads` threads (at least one) at `priority` with room for `capacity`
    /// waiting jobs.
    pub fn with_capacity(threads: usize, priority: HashPriority, capacity: usize) -> Self {
        let (queue, jobs) = std::sync::mpsc::sync_channel::<HashJob>(capacity);
        let jobs = std::sync::Arc::new(Mutex::new(jobs));
        for n in 0..threads.max(1) {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("plaza-hash-{n}"))
                .spawn(move || run_hashing_thread(&jobs, priority));
            if let Err(err) = spawned {
                tracing::error!(error = %err, "could not start a password hashing thread");
            }
        }
        Self { queue }
    }

    /// Runs `f` on one of the pool's threads; 503 when the queue is full.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(f)?
            .await
            .map_err(|_| ApiError::internal("a password hashing job was lost"))
    }

    /// Queues `f` at once (503 when the queue is full); the receiver gets its result.
    fn submit<T, F>(&self, f: F) -> Result<tokio::sync::oneshot::Receiver<T>, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: HashJob = Box::new(move || {
            // The caller may have gone (client disconnected): nothing to tell.
            let _ = done.send(f());
        });
        self.queue.try_send(job).map_err(|err| match err {
            std::sync::mpsc::TrySendError::Full(_) => ApiError::unavailable(
                "Too many sign-ins at once; retry shortly.",
                "the password hashing queue is full",
            )
            .with_retry_after(1),
            std::sync::mpsc::TrySendError::Disconnected(_) => {
                ApiError::internal("the password hashing threads stopped")
            }
        })?;
        Ok(result)
    }
}

fn run_hashing_thread(jobs: &Mutex<std::sync::mpsc::Receiver<HashJob>>, priority: HashPriority) {
    // Lowering one's own priority needs no privilege.
    if let Err(err) = lower_priority(priority) {
        tracing::debug!(error = ?err, "password hashing keeps the normal priority");
    }
    loop {
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        // A panicking job drops its sender (the caller gets an error); the thread goes on.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn lower_priority(priority: HashPriority) -> Result<(), thread_priority::Error> {
    use thread_priority::unix::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadSchedulePolicy,
    };
    use thread_priority::ThreadPriority;
    let (policy, priority) = match priority {
        HashPriority::Idle => (NormalThreadSchedulePolicy::Idle, ThreadPriority::Min),
        HashPriority::Nice(nice) => (NormalThreadSchedulePolicy::Other, crossplatform(nice)?),
    };
    set_thread_priority_and_policy(
        thread_native_id(),
        priority,
        ThreadSchedulePolicy::Normal(policy),
    )
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn lower_priority(priority: HashPriority) -> Result<(), thread_priority::Error> {
    use thread_priority::{set_current_thread_priority, ThreadPriority};
    let priority = match priority {
        HashPriority::Idle => ThreadPriority::Min,
        HashPriority::Nice(nice) => crossplatform(nice)?,
    };
    set_current_thread_priority(priority)
}

/// The crate's 0–99 priority that maps to nice `nice` (0–19) on Linux: 25 is nice 9, 1 is 19.
fn crossplatform(nice: u8) -> Result<thread_priority::ThreadPriority, thread_priority::Error> {
    let value = ((19 - u32::from(nice.min(19))) * 99 + 40) / 40;
    let value = u8::try_from(value).unwrap_or(99);
    let value = thread_priority::ThreadPriorityValue::try_from(value)
        .map_err(|_| thread_priority::Error::Priority("not a priority from 0 to 99"))?;
    Ok(thread_priority::ThreadPriority::Crossplatform(value))
}

/// [`hash_password`] on the hashing threads ([`hashing`]).
pub async fn hash_password_async(password: String, cost: u32) -> Result<String, ApiError> {
    hashing(move || hash_password(&password, cost)).await?
}

/// [`verify_password`] on the hashing threads ([`hashing`]).
pub async fn verify_password_async(password: String, hash: String) -> Result<bool, ApiError> {
    hashing(move || verify_password(&password, &hash)).await
}

/// The stored value of an account that cannot log in with a password (Django's `!`).
pub const UNUSABLE_PASSWORD: &str = "!";

const DJANGO_PBKDF2_PREFIX: &str = "pbkdf2_sha256$";

/// More rounds than any Django release uses; a stored value above it is refused rather than
/// let one login burn seconds of CPU.
const MAX_PBKDF2_ITERATIONS: u32 = 5_000_000;

/// `<iterations>$<salt>$<base64 hash>`, the part after `pbkdf2_sha256$`.
fn verify_django_pbkdf2(password: &str, encoded: &str) -> bool {
    let mut parts = encoded.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(iterations) = iterations.parse::<u32>() else {
        return false;
    };
    if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS {
        return false;
    }
    let Ok(expected) = STANDARD.decode(expected) else {
        return false;
    };
    if expected.is_empty() || expected.len() > 64 {
        return false;
    }
    let mut derived = vec![0u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
        password.as_bytes(),
        salt.as_bytes(),
        iterations,
        &mut derived,
    );
    plaza_kernel::crypto::constant_time_eq(&derived, &expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nice value of the calling thread (field 19 of /proc/thread-self/stat).
    #[cfg(target_os = "linux")]
    fn own_nice() -> i64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // The command name may hold spaces; fields are counted after its closing parenthesis.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(16).unwrap().parse().unwrap()
    }

    /// The scheduling policy of the calling thread (field 41 of /proc/thread-self/stat; 5 is
    /// `SCHED_IDLE`).
    #[cfg(target_os = "linux")]
    fn own_policy() -> i64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(38).unwrap().parse().unwrap()
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_runs_on_lower_priority_threads() {
        let (nice, name) = hashing(|| {
            let name = std::thread::current().name().map(str::to_owned);
            (own_nice(), name)
        })
        .await
        .unwrap();
        // Nice 9 by default, unless the whole test process already runs nicer than that.
        assert_eq!(nice, own_nice().max(9));
        assert!(name.unwrap().starts_with("plaza-hash-"));
        let hash = hash_password_async("Tr1cky-Horse-77".into(), 4)
            .await
            .unwrap();
        assert!(verify_password_async("Tr1cky-Horse-77".into(), hash)
            .await
            .unwrap());

        // Another nice value, and SCHED_IDLE.
        let pool = HashingPool::start(1, HashPriority::Nice(15));
        let (nice, policy) = pool.run(|| (own_nice(), own_policy())).await.unwrap();
        assert_eq!(nice, own_nice().max(15));
        assert_eq!(policy, 0, "SCHED_OTHER");
        let pool = HashingPool::start(1, HashPriority::Idle);
        assert_eq!(pool.run(own_policy).await.unwrap(), 5, "SCHED_IDLE");
    }

    #[tokio::test]
    async fn a_full_hashing_queue_answers_503_instead_of_waiting() {
        let pool = HashingPool::with_capacity(1, HashPriority::Nice(9), 1);
        let (started, running) = std::sync::mpsc::channel();
        let (release, hold) = std::sync::mpsc::channel::<()>();
        // One job holds the only thread, one waits in the queue; the next one is refused.
        let busy = pool
            .submit(move || {
                started.send(()).unwrap();
                hold.recv().unwrap();
            })
            .unwrap();
        running.recv().unwrap();
        let waiting = pool.submit(|| 2).unwrap();
        let err = pool.submit(|| 3).unwrap_err();
        assert_eq!(
            err.status(),
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE
        );
        release.send(()).unwrap();
        busy.await.unwrap();
        assert_eq!(waiting.await.unwrap(), 2);
    }

    fn messages(password: &str, attrs: &UserAttributes<'_>) -> Vec<String> {
        match validate_password(password, "password", attrs) {
            Ok(()) => vec![],
            Err(e) => e.errors().unwrap()["password"].clone(),
        }
    }

    fn username(username: &str) -> UserAttributes<'_> {
        UserAttributes {
            username,
            ..UserAttributes::default()
        }
    }

    #[test]
    fn each_rule_of_django() {
        assert!(messages("Tr1cky-Horse-77", &username("alice")).is_empty());
        assert!(messages("short", &UserAttributes::default())[0].contains("too short"));
        assert!(messages("1234567890123", &UserAttributes::default())
            .iter()
            .any(|m| m.contains("entirely numeric")));
        assert!(messages("password", &UserAttributes::default())
            .iter()
            .any(|m| m.contains("too common")));
        assert!(
            messages("Password", &UserAttributes::default())
                .iter()
                .any(|m| m.contains("too common")),
            "case-insensitive"
        );
        let similar = messages("alice2026", &username("alice2026"));
        assert!(
            similar
                .iter()
                .any(|m| m.contains("similar to the username")),
            "{similar:?}"
        );
        // Django splits the email at non-word characters: "smith1" alone is 0.75 similar.
        let by_part = messages(
            "johnsmith1",
            &UserAttributes {
                email: "john.smith1@example.com",
                ..UserAttributes::default()
            },
        );
        assert!(
            by_part.iter().any(|m| m.contains("similar to the email")),
            "{by_part:?}"
        );
        assert!(messages("zebra-crossing-42", &username("bob")).is_empty());
    }

    #[test]
    fn every_attribute_is_compared_under_its_name() {
        let attrs = UserAttributes {
            username: "zed",
            email: "zed@example.com",
            first_name: "Marguerite",
            last_name: "Oyelaran",
        };
        let first = messages("marguerite1", &attrs);
        assert!(
            first
                .iter()
                .any(|m| m.contains("similar to the first name")),
            "{first:?}"
        );
        let last = messages("oyelaran77", &attrs);
        assert!(
            last.iter().any(|m| m.contains("similar to the last name")),
            "{last:?}"
        );
    }

    #[test]
    fn a_confirmation_must_match_when_sent() {
        assert!(check_confirmation("password_confirm", "a", None).is_ok());
        assert!(check_confirmation("password_confirm", "a", Some("a")).is_ok());
        let err = check_confirmation("new_password_confirm", "a", Some("b")).unwrap_err();
        assert_eq!(
            err.errors().unwrap()["new_password_confirm"],
            vec!["The two password fields didn't match.".to_owned()]
        );
    }

    #[test]
    fn similarity_matches_python() {
        // difflib.SequenceMatcher(None, "abcd", "bcde").ratio() == 0.75
        assert!((similarity("abcd", "bcde") - 0.75).abs() < 1e-9);
        assert!((similarity("", "") - 1.0).abs() < 1e-9);
        assert!(similarity("alice", "zzzzz") < 0.1);
    }

    #[test]
    fn hashes_verify() {
        let hash = hash_password("Tr1cky-Horse-77", 4).unwrap();
        assert!(verify_password("Tr1cky-Horse-77", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("anything", UNUSABLE_PASSWORD));
        assert!(!needs_rehash(&hash, 4));
        assert!(needs_rehash(&hash, 12));
        assert!(!verify_or_dummy("Tr1cky-Horse-77", None, 4));
        assert!(verify_or_dummy("Tr1cky-Horse-77", Some(&hash), 4));
    }

    #[test]
    fn django_pbkdf2_hashes_verify() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", 1 round, 64 bytes), Django-encoded.
        let rfc = "pbkdf2_sha256$1$salt$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLxJypzM8Xm2RZkWZLOdd+8xfHG4RbHjC9UJESBB06GXgw==";
        assert!(verify_password("passwd", rfc));
        assert!(!verify_password("passwd2", rfc));
        assert!(needs_rehash(rfc, 12));

        // What Django's make_password("Tr1cky-Horse-77", "plazasalt") stores with 1000
        // iterations (hashlib.pbkdf2_hmac, 32 bytes, standard base64).
        let django = "pbkdf2_sha256$1000$plazasalt$N4JvSyK8EVFqS/5J3kT3slo46DzX2/p+gIolDmgjHyA=";
        assert!(verify_password("Tr1cky-Horse-77", django));
        assert!(!verify_password("tr1cky-horse-77", django));

        for broken in [
            "pbkdf2_sha256$",
            "pbkdf2_sha256$x$salt$AAAA",
            "pbkdf2_sha256$0$salt$AAAA",
            "pbkdf2_sha256$99999999$salt$AAAA",
            "pbkdf2_sha256$1$salt$not base64!",
        ] {
            assert!(!verify_password("passwd", broken), "{broken}");
        }
    }
}
