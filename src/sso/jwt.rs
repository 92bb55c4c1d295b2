//! Signing keys and compact JWS (RFC 7515/7518) on `ring`: ES256 (the
//! default) and RS256 (for apps that only know RSA; keys made with the
//! `rsa` crate, which ring cannot do), the public JWKs, signing, and
//! verification (`id_token_hint`, the tests). A token's `alg` must be its
//! key's; `alg: none` does not exist here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("key: {0}")]
    Key(String),
    #[error("not a compact JWS")]
    Malformed,
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(String),
    #[error("unknown key {0:?}")]
    UnknownKey(String),
    #[error("bad signature")]
    Signature,
}

/// A new ES256 key: `(kid, pkcs8, public JWK)`.
pub fn generate_es256() -> Result<(String, Vec<u8>, Value), JwtError> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| JwtError::Key("cannot generate a P-256 key".into()))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| JwtError::Key("generated key does not parse".into()))?;
    let (kid, jwk) = public_jwk(pair.public_key().as_ref())?;
    Ok((kid, pkcs8.as_ref().to_vec(), jwk))
}

/// The JWK of an uncompressed P-256 point (0x04 ‖ X ‖ Y), and its kid:
/// the first 16 bytes of the point's SHA-256, base64url.
pub fn public_jwk(point: &[u8]) -> Result<(String, Value), JwtError> {
    if point.len() != 65 || point.first() != Some(&4) {
        return Err(JwtError::Key("not an uncompressed P-256 point".into()));
    }
    let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(point)[..16]);
    let jwk = json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        "use": "sig",
        "alg": "ES256",
        "kid": kid,
    });
    Ok((kid, jwk))
}

/// A new RS256 key (2048-bit RSA): `(kid, pkcs8, public JWK)`.
pub fn generate_rs256() -> Result<(String, Vec<u8>, Value), JwtError> {
    use rsa::pkcs8::EncodePrivateKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
        .map_err(|e| JwtError::Key(format!("cannot generate an RSA key: {e}")))?;
    let pkcs8 = key
        .to_pkcs8_der()
        .map_err(|e| JwtError::Key(format!("RSA key to PKCS#8: {e}")))?
        .as_bytes()
        .to_vec();
    let (n, e) = (key.n().to_bytes_be(), key.e().to_bytes_be());
    let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest([n.as_slice(), &e].concat())[..16]);
    let jwk = json!({
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(&n),
        "e": URL_SAFE_NO_PAD.encode(&e),
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
    });
    Ok((kid, pkcs8, jwk))
}

/// Signs `claims` with a key of algorithm `alg` (ES256 or RS256), header
/// `typ` JWT.
pub fn sign(alg: &str, kid: &str, pkcs8: &[u8], claims: &Value) -> Result<String, JwtError> {
    sign_typed(alg, "JWT", kid, pkcs8, claims)
}

/// The same with another `typ` (`logout+jwt` for logout tokens, so that
/// one can never be taken for another kind of token).
pub fn sign_typed(
    alg: &str,
    typ: &str,
    kid: &str,
    pkcs8: &[u8],
    claims: &Value,
) -> Result<String, JwtError> {
    let input = signing_input(alg, typ, kid, claims);
    match alg {
        "ES256" => sign_es256(&input, pkcs8),
        "RS256" => sign_rs256(&input, pkcs8),
        other => Err(JwtError::Algorithm(other.to_string())),
    }
}

fn signing_input(alg: &str, typ: &str, kid: &str, claims: &Value) -> String {
    let header = json!({"alg": alg, "typ": typ, "kid": kid});
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// Signs a JWS signing input, RS256 (RSASSA-PKCS1-v1_5, SHA-256).
fn sign_rs256(input: &str, pkcs8: &[u8]) -> Result<String, JwtError> {
    let pair = ring::signature::RsaKeyPair::from_pkcs8(pkcs8)
        .map_err(|_| JwtError::Key("stored RSA key does not parse".into()))?;
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| JwtError::Key("signing failed".into()))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// Signs a JWS signing input, ES256.
fn sign_es256(input: &str, pkcs8: &[u8]) -> Result<String, JwtError> {
    let rng = SystemRandom::new();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
        .map_err(|_| JwtError::Key("stored key does not parse".into()))?;
    let sig = pair
        .sign(&rng, input.as_bytes())
        .map_err(|_| JwtError::Key("signing failed".into()))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
}

/// Verifies a compact JWS against published JWKs; the claims on success.
/// ES256 or RS256, and only with a key published for that algorithm.
pub fn verify(token: &str, jwks: &[Value]) -> Result<Value, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let decode = |x: &str| URL_SAFE_NO_PAD.decode(x).map_err(|_| JwtError::Malformed);
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|_| JwtError::Malformed)?;
    let alg = header["alg"].as_str().unwrap_or("");
    if alg != "ES256" && alg != "RS256" {
        return Err(JwtError::Algorithm(alg.to_string()));
    }
    let kid = header["kid"].as_str().unwrap_or("");
    let jwk = jwks
        .iter()
        .find(|k| k["kid"] == kid)
        .ok_or_else(|| JwtError::UnknownKey(kid.to_string()))?;
    // The key's own algorithm decides: an RSA key named in an ES256
    // header (or the reverse) is a forgery attempt.
    if jwk["alg"] != alg {
        return Err(JwtError::Algorithm(alg.to_string()));
    }
    let sig = decode(s)?;
    if alg == "RS256" {
        let part = |c: &str| {
            jwk[c]
                .as_str()
                .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
                .ok_or(JwtError::Key(format!("JWK {kid}: bad {c}")))
        };
        let key = ring::signature::RsaPublicKeyComponents {
            n: part("n")?,
            e: part("e")?,
        };
        key.verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            format!("{h}.{p}").as_bytes(),
            &sig,
        )
        .map_err(|_| JwtError::Signature)?;
        return serde_json::from_slice(&decode(p)?).map_err(|_| JwtError::Malformed);
    }
    let coord = |c: &str| {
        jwk[c]
            .as_str()
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .filter(|v| v.len() == 32)
            .ok_or(JwtError::Key(format!("JWK {kid}: bad {c}")))
    };
    let mut point = vec![4u8];
    point.extend(coord("x")?);
    point.extend(coord("y")?);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
        .verify(format!("{h}.{p}").as_bytes(), &sig)
        .map_err(|_| JwtError::Signature)?;
    serde_json::from_slice(&decode(p)?).map_err(|_| JwtError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_and_every_tampering_refused() {
        let (kid, pkcs8, jwk) = generate_es256().unwrap();
        assert_eq!(jwk["kid"], kid.as_str());
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str()),
            (Some("EC"), Some("P-256"))
        );
        let claims = json!({"sub": "alice", "aud": "meetings", "nonce": "n-1"});
        let token = sign("ES256", &kid, &pkcs8, &claims).unwrap();
        assert_eq!(verify(&token, std::slice::from_ref(&jwk)).unwrap(), claims);

        // Tampered payload, signature, header alg; unknown key; garbage.
        let parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(json!({"sub": "mallory"}).to_string());
        let t1 = format!("{}.{}.{}", parts[0], forged, parts[2]);
        assert_eq!(
            verify(&t1, std::slice::from_ref(&jwk)),
            Err(JwtError::Signature)
        );
        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        sig[10] ^= 1;
        let t2 = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
        assert_eq!(
            verify(&t2, std::slice::from_ref(&jwk)),
            Err(JwtError::Signature)
        );
        let none = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": kid}).to_string());
        let t3 = format!("{none}.{}.", parts[1]);
        assert_eq!(
            verify(&t3, std::slice::from_ref(&jwk)),
            Err(JwtError::Algorithm("none".into()))
        );
        let (_, _, other) = generate_es256().unwrap();
        assert!(matches!(
            verify(&token, &[other]),
            Err(JwtError::UnknownKey(_))
        ));
        for junk in ["", "a.b", "a.b.c.d", "!!.??.##", "e30.e30.e30"] {
            assert!(verify(junk, std::slice::from_ref(&jwk)).is_err(), "{junk}");
        }
        assert!(public_jwk(&[4u8; 64]).is_err());

        // RS256: signs and verifies; an ES256 header on the RSA key (or a
        // token re-labelled) is refused.
        let (rkid, rpkcs8, rjwk) = generate_rs256().unwrap();
        assert_eq!(
            (rjwk["kty"].as_str(), rjwk["alg"].as_str()),
            (Some("RSA"), Some("RS256"))
        );
        let rt = sign("RS256", &rkid, &rpkcs8, &claims).unwrap();
        let keys = [jwk.clone(), rjwk.clone()];
        assert_eq!(verify(&rt, &keys).unwrap(), claims);
        let rparts: Vec<&str> = rt.split('.').collect();
        let relabel = URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": rkid}).to_string());
        assert!(verify(&format!("{relabel}.{}.{}", rparts[1], rparts[2]), &keys).is_err());
        let forged_r = format!("{}.{}.{}", rparts[0], forged, rparts[2]);
        assert_eq!(verify(&forged_r, &keys), Err(JwtError::Signature));
        assert!(sign("HS256", &rkid, &rpkcs8, &claims).is_err());
        assert!(sign("ES256", &kid, b"not a key", &claims).is_err());
        let typed = sign_typed("ES256", "logout+jwt", &kid, &pkcs8, &claims).unwrap();
        let header = URL_SAFE_NO_PAD
            .decode(typed.split('.').next().unwrap())
            .unwrap();
        assert!(String::from_utf8_lossy(&header).contains("\"typ\":\"logout+jwt\""));
        assert_eq!(verify(&typed, &keys).unwrap(), claims);
    }
}
