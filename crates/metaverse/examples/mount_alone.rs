//! The metaverse mounted alone in an actix app of its own: no plaza-server, only the kernel's
//! services and the domain's routes and presence socket.
//!
//! `cargo run -p plaza-metaverse --example mount_alone` serves `/api/v1/metaverse/` and
//! `/ws/metaverse/worlds/{id}/` on `127.0.0.1:8002` over a SQLite file in a temporary
//! directory (Ctrl-C stops). The settings are the defaults; register a `MetaverseSettings` as
//! app data to change them.
#![allow(clippy::print_stdout)] // an example talks to its user

use std::collections::HashMap;

use actix_web::{web, App, HttpServer};
use plaza_kernel::db::{run_migrations, Db, PoolOptions};
use plaza_kernel::{Bus, Cache, Config, Services};
use plaza_metaverse::MetaverseSettings;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("plaza-metaverse-example");
    let url = format!("sqlite://{}", dir.join("worlds.db").display());
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
        let services = Services::from_parts(config, db, Cache::in_memory(), Bus::in_memory());
        let settings = web::Data::new(MetaverseSettings::defaults());
        println!("the metaverse alone on http://127.0.0.1:8002/api/v1/metaverse/worlds/");
        HttpServer::new(move || {
            let (services, settings) = (services.clone(), settings.clone());
            App::new()
                .configure(|cfg| services.register(cfg))
                .app_data(settings)
                .configure(plaza_metaverse::configure)
        })
        .bind(("127.0.0.1", 8002))?
        .run()
        .await?;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
