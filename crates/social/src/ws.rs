//! WS `/ws/notifications/`: pushes `{"type":"notification","notification":{…}}` and
//! `{"type":"message","message":{…}}` to every open connection of the signed-in user, on
//! whichever instance it is connected (see [`crate::live`]).
//!
//! The kernel's pattern: `check_upgrade`, then `authenticate_ws` (`?ticket=`, `?token=` or
//! headers; 401 without credentials), then `Realtime::accept` with this endpoint's
//! [`SocketSettings`] (bounded outbound queue, heartbeat, client timeout). The user's Bus
//! topic is subscribed before the upgrade is answered, so nothing committed after the
//! handshake can be missed; the first frame is `{"type":"connected","user_id":…}`. The client
//! sends nothing but pings; a text `ping` is answered `{"type":"pong"}`.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use plaza_kernel::auth::authenticate_ws;
use plaza_kernel::bus::RecvError;
use plaza_kernel::realtime::{self, Delivery, Incoming, OutMessage, SocketSettings};
use plaza_kernel::{ApiError, Bus, Realtime};

use crate::live::topic;

/// The endpoint's name (metrics label, hub name).
pub const ENDPOINT: &str = "notifications";

/// Limits of a notifications socket: clients send only pings (4 KiB frames at most); 256
/// messages queued per connection (a client behind by more for 30 s is closed); a ping every
/// 20 s; 60 s of client silence closes the connection.
pub fn socket_settings() -> SocketSettings {
    SocketSettings::new(
        4096,
        256,
        Duration::from_secs(30),
        Duration::from_secs(20),
        Duration::from_secs(60),
    )
}

/// Opens the caller's notifications socket.
#[utoipa::path(
    get, operation_id = "social_notifications_socket",
    path = "/ws/notifications/",
    tag = "social",
    params(
        ("ticket" = Option<String>, Query, description = "One-time ticket from POST /api/v1/auth/ws-ticket/"),
        ("token" = Option<String>, Query, description = "An access token (prefer a ticket in browsers)"),
    ),
    responses(
        (status = 101, description = "Switching to WebSocket: notification and message frames"),
        (status = 400, description = "Not a WebSocket upgrade", body = plaza_kernel::error::ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = plaza_kernel::error::ErrorBody),
        (status = 503, description = "The bus is unavailable", body = plaza_kernel::error::ErrorBody),
    )
)]
pub async fn notifications_socket(
    req: HttpRequest,
    body: web::Payload,
    realtime: web::Data<Realtime>,
    bus: web::Data<Bus>,
) -> Result<HttpResponse, ApiError> {
    realtime::check_upgrade(&req)?;
    let caller = authenticate_ws(&req)
        .await?
        .ok_or_else(ApiError::not_authenticated)?;
    let mut subscription = bus.subscribe(&topic(caller.id)).await?;
    let (response, mut socket) = realtime.accept(&req, body, ENDPOINT, socket_settings())?;
    let user_id = caller.id;
    actix_web::rt::spawn(async move {
        let outbound = socket.outbound().clone();
        outbound.push(
            OutMessage::text(format!(r#"{{"type":"connected","user_id":{user_id}}}"#)),
            Delivery::Reliable,
        );
        loop {
            tokio::select! {
                incoming = socket.recv() => match incoming {
                    None => break,
                    Some(Incoming::Text(text)) if text.trim() == "ping" => {
                        socket.reply(r#"{"type":"pong"}"#);
                    }
                    Some(_) => {}
                },
                pushed = subscription.recv() => match pushed {
                    Ok(payload) => {
                        if let Ok(text) = String::from_utf8(payload.to_vec()) {
                            outbound.push(OutMessage::text(text), Delivery::Reliable);
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(user_id, lost = n, "notifications socket fell behind the bus");
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
    });
    Ok(response)
}
