//! Alert webhook: a JSON POST to an `http://` or `https://` URL (an
//! internal receiver such as a chat bridge). Best effort, bounded in time.

use std::time::Duration;

use crate::http_client::{self, HttpError};

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{0}")]
    Http(#[from] HttpError),
    #[error("receiver answered {0}")]
    Status(u16),
}

pub async fn post(url: &str, json: &str, timeout: Duration) -> Result<(), WebhookError> {
    let r = http_client::request(
        "POST",
        url,
        Some(("application/json", json.as_bytes())),
        timeout,
    )
    .await?;
    if (200..300).contains(&r.status) {
        Ok(())
    } else {
        Err(WebhookError::Status(r.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn posts_json_and_reports_refusals() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            for reply in [
                &b"HTTP/1.1 204 No Content\r\n\r\n"[..],
                b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n",
            ] {
                let (mut s, _) = l.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap();
                s.write_all(reply).await.unwrap();
                seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
            seen
        });
        let url = format!("http://{addr}/h");
        post(&url, "{\"a\":1}", Duration::from_secs(2))
            .await
            .unwrap();
        assert!(matches!(
            post(&url, "{}", Duration::from_secs(2)).await,
            Err(WebhookError::Status(500))
        ));
        let seen = server.await.unwrap();
        assert!(seen[0].starts_with("POST /h HTTP/1.1"), "{}", seen[0]);
        assert!(seen[0].ends_with("{\"a\":1}"), "{}", seen[0]);
    }
}
