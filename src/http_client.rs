//! Outbound HTTP for the services (the SMS gateway, WeChat and WeCom APIs,
//! the alert webhook): `reqwest` on rustls with the ring provider and the
//! system's CA store, one shared connection pool, every call bounded in
//! time and in response size.

use std::sync::OnceLock;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Largest response body accepted.
pub const MAX_RESPONSE: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("bad URL {0:?}")]
    Url(String),
    #[error("HTTP client: {0}")]
    Client(String),
    #[error("{0}")]
    Request(#[from] reqwest::Error),
    #[error("timed out")]
    Timeout,
    #[error("response larger than {MAX_RESPONSE} bytes")]
    TooLarge,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

fn client() -> Result<&'static reqwest::Client, HttpError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .user_agent("portico")
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| HttpError::Client(e.clone()))
}

/// Sends one request (`body` with its content type); the whole exchange,
/// body included, within `timeout`.
pub async fn request(
    method: &str,
    url: &str,
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> Result<Response, HttpError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(HttpError::Url(url.to_string()));
    }
    let method =
        reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| HttpError::Url(url.into()))?;
    let mut req = client()?
        .request(method, url)
        .header(reqwest::header::ACCEPT, "application/json");
    if let Some((content_type, bytes)) = body {
        req = req
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes.to_vec());
    }
    let work = async {
        let mut resp = req.send().await?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if body.len() + chunk.len() > MAX_RESPONSE {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, body })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| HttpError::Timeout)?
}

/// RFC 3986 unreserved characters stay; everything else is %XX (what
/// signed query strings such as Alibaba Cloud's expect).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one query or form component.
pub fn pct(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot HTTP server on loopback that answers `reply`.
    async fn serve_once(reply: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(&reply).await;
            }
        });
        format!("http://{addr}/x?y=1")
    }

    #[tokio::test]
    async fn status_body_and_the_size_bound() {
        let url = serve_once(
            b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{\"a\":1}".to_vec(),
        )
        .await;
        let r = request(
            "POST",
            &url,
            Some(("application/json", b"{}")),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{\"a\":1}"[..]));

        let mut big = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'x', MAX_RESPONSE + 10));
        let url = serve_once(big).await;
        assert!(matches!(
            request("GET", &url, None, Duration::from_secs(5)).await,
            Err(HttpError::TooLarge)
        ));
        assert!(matches!(
            request("GET", "ftp://x/", None, Duration::from_secs(1)).await,
            Err(HttpError::Url(_))
        ));
    }

    #[test]
    fn percent_encoding_is_rfc3986() {
        assert_eq!(pct("a b/c~d*é"), "a%20b%2Fc~d%2A%C3%A9");
    }
}
