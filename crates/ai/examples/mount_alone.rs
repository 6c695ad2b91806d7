//! The AI domain mounted alone in an actix app of its own: no plaza-server, only the kernel's
//! services, the domain's per-process state (providers, models cache, accounting flusher) and
//! its routes (`/api/v1/ai/`, `/v1/chat/completions`, `/v1/models`).
//!
//! `AI_OPENAI_BASE_URL=http://127.0.0.1:11434/v1 AI_OPENAI_MODELS=llama3.2 cargo run -p plaza-ai
//! --example mount_alone` serves them on `127.0.0.1:8002` over a SQLite file in a temporary
//! directory, with the provider taken from the environment (Ctrl-C stops).
#![allow(clippy::print_stdout)] // an example talks to its user

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{App, HttpServer};
use plaza_kernel::db::{run_migrations, Db, PoolOptions};
use plaza_kernel::domain::{parse_settings, Running};
use plaza_kernel::{Bus, Cache, Config, Services};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("plaza-ai-example");
    let url = format!("sqlite://{}", dir.join("ai.db").display());
    let mut vars: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("AI_"))
        .collect();
    vars.extend([
        ("DATABASE_URL".to_owned(), url.clone()),
        ("DATA_DIR".to_owned(), dir.display().to_string()),
        (
            "SECRET_KEY".to_owned(),
            "an-example-secret-of-at-least-32-chars".to_owned(),
        ),
    ]);
    let config = Config::from_vars(&vars)?;
    let sections = parse_settings(&[plaza_ai::DOMAIN], &vars).map_err(|e| e.0.join("; "))?;
    let db = Db::connect(&url, PoolOptions::default())?;
    run_migrations(&mut *db.get()?)?;

    actix_web::rt::System::new().block_on(async move {
        let services = Services::from_parts(config, db, Cache::in_memory(), Bus::in_memory())
            .with_sections(sections);
        // Started once, shared by every worker; flushed at the end.
        let ai: Option<Arc<dyn Running>> = (plaza_ai::DOMAIN.start)(&services).map(Arc::from);
        let app_ai = ai.clone();
        let app_services = services.clone();
        println!("the AI domain alone on http://127.0.0.1:8002/v1/ and /api/v1/ai/");
        HttpServer::new(move || {
            let (services, ai) = (app_services.clone(), app_ai.clone());
            App::new()
                .configure(|cfg| services.register(cfg))
                .configure(|cfg| {
                    if let Some(ai) = &ai {
                        ai.register(cfg);
                    }
                })
                .configure(plaza_ai::configure)
        })
        .bind(("127.0.0.1", 8002))?
        .run()
        .await?;
        if let Some(ai) = ai {
            ai.stop(&services).await; // write the request rows still queued
        }
        Ok(())
    })
}
