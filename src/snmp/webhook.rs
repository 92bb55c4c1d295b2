//! Alert webhook: a JSON POST to a plain `http://` URL (an internal
//! receiver such as a chat bridge). Best effort, bounded in time.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("only http://host[:port]/path URLs are supported: {0}")]
    Url(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("timed out")]
    Timeout,
    #[error("receiver answered {0}")]
    Status(String),
}

/// (host:port, path) of an `http://` URL.
pub fn split_url(url: &str) -> Result<(String, String), WebhookError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| WebhookError::Url(url.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') || authority.chars().any(char::is_whitespace)
    {
        return Err(WebhookError::Url(url.to_string()));
    }
    let hostport = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((hostport, path.to_string()))
}

pub async fn post(url: &str, json: &str, timeout: Duration) -> Result<(), WebhookError> {
    let (hostport, path) = split_url(url)?;
    let host = hostport
        .rsplit_once(':')
        .map_or(hostport.as_str(), |(h, _)| h)
        .to_string();
    let work = async {
        let mut s = TcpStream::connect(&hostport).await?;
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\nUser-Agent: portico\r\n\r\n{json}",
            json.len()
        );
        s.write_all(req.as_bytes()).await?;
        let mut head = vec![0u8; 512];
        let n = s.read(&mut head).await?;
        let line = String::from_utf8_lossy(head.get(..n).unwrap_or(&[]))
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        let code = line.split_whitespace().nth(1).unwrap_or("");
        if code.starts_with('2') {
            Ok(())
        } else {
            Err(WebhookError::Status(line))
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| WebhookError::Timeout)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            split_url("http://127.0.0.1:9/hook").unwrap(),
            ("127.0.0.1:9".into(), "/hook".into())
        );
        assert_eq!(
            split_url("http://alerts.local").unwrap(),
            ("alerts.local:80".into(), "/".into())
        );
        assert!(split_url("https://x/").is_err());
        assert!(split_url("http://u:p@x/").is_err());
    }

    #[tokio::test]
    async fn posts_json() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        post(
            &format!("http://{addr}/h"),
            "{\"a\":1}",
            Duration::from_secs(2),
        )
        .await
        .unwrap();
        let req = server.await.unwrap();
        assert!(req.starts_with("POST /h HTTP/1.1"), "{req}");
        assert!(req.ends_with("{\"a\":1}"), "{req}");
    }
}
