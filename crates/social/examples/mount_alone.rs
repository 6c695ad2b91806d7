//! The social domain mounted alone in an actix app of its own: no plaza-server, only the
//! kernel's services and the social routes, beside the users domain's (its `me/settings/`
//! holds who may message a user). Any access token the app's `SECRET_KEY` signed is accepted.
//!
//! `cargo run -p plaza-social --example mount_alone` serves `/api/v1/social/` and
//! `/ws/notifications/` on `127.0.0.1:8002` over a SQLite file in a temporary directory
//! (Ctrl-C stops). Notices other domains send stay queued here: no worker runs them (a
//! `plaza worker` with this domain in its registry would).
#![allow(clippy::print_stdout)] // an example talks to its user

use std::collections::HashMap;

use actix_web::{App, HttpServer};
use plaza_kernel::db::{run_migrations, Db, PoolOptions};
use plaza_kernel::{Bus, Cache, Config, Services};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("plaza-social-example");
    let url = format!("sqlite://{}", dir.join("social.db").display());
    let vars = HashMap::from([
        ("DATABASE_URL".to_owned(), url.clone()),
        ("DATA_DIR".to_owned(), dir.display().to_string()),
        (
            "SECRET_KEY".to_owned(),
            "an-example-secret-of-at-least-32-chars".to_owned(),
        ),
    ]);
    let config = Config::from_vars(&vars)?;
    let db = Db::connect(&url, PoolOptions::default())?;
    run_migrations(&mut *db.get()?)?;

    actix_web::rt::System::new().block_on(async move {
        // The Bus carries pushes to sockets; with Redis (Bus::redis) several processes share it.
        let services = Services::from_parts(config, db, Cache::in_memory(), Bus::in_memory());
        // The social domain has no per-process state: its DOMAIN.start is `|_| None`.
        assert!((plaza_social::DOMAIN.start)(&services).is_none());
        println!("the social domain alone on http://127.0.0.1:8002/api/v1/social/");
        HttpServer::new(move || {
            let services = services.clone();
            App::new()
                .configure(|cfg| services.register(cfg))
                .configure(plaza_users::configure)
                .configure(plaza_social::configure)
        })
        .bind(("127.0.0.1", 8002))?
        .run()
        .await?;
        Ok(())
    })
}
