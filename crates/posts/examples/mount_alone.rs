//! The forum mounted alone in an actix app of its own: no plaza-server, only the kernel's
//! services, the posts domain's per-process state and its routes.
//!
//! `cargo run -p plaza-posts --example mount_alone` serves `/api/v1/posts/` on
//! `127.0.0.1:8001` over a SQLite file in a temporary directory (Ctrl-C stops).
#![allow(clippy::print_stdout)] // an example talks to its user

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{App, HttpServer};
use plaza_kernel::db::{run_migrations, Db, PoolOptions};
use plaza_kernel::domain::Running;
use plaza_kernel::{Bus, Cache, Config, Services};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("plaza-posts-example");
    let url = format!("sqlite://{}", dir.join("forum.db").display());
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
        // The read cache and buffered view counts; started once, shared by every worker.
        let forum: Option<Arc<dyn Running>> = (plaza_posts::DOMAIN.start)(&services).map(Arc::from);
        let app_forum = forum.clone();
        let app_services = services.clone();
        println!("the forum alone on http://127.0.0.1:8001/api/v1/posts/");
        HttpServer::new(move || {
            let (services, forum) = (app_services.clone(), app_forum.clone());
            App::new()
                .configure(|cfg| services.register(cfg))
                .configure(|cfg| {
                    if let Some(forum) = &forum {
                        forum.register(cfg);
                    }
                })
                .configure(plaza_posts::configure)
        })
        .bind(("127.0.0.1", 8001))?
        .run()
        .await?;
        if let Some(forum) = forum {
            forum.stop(&services).await; // write the buffered views
        }
        Ok(())
    })
}
