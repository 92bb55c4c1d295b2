//! MS-CHAPv2 (RFC 2759) and its MPPE keys (RFC 3079), as carried in RADIUS
//! (RFC 2548 vendor 311 attributes) and inside EAP-MSCHAPv2.
//!
//! Why the NT hash must be stored: the peer's NT-Response is DES under keys
//! cut from MD4(UTF-16LE(password)), and the Authenticator Response and the
//! MPPE keys are derived from that same hash. A one-way password hash such
//! as argon2id cannot produce it, so the server needs either the clear-text
//! password or the NT hash itself; the NT hash is the smallest secret that
//! verifies MS-CHAPv2. It is password-equivalent for MS-CHAPv2 (whoever holds
//! it can answer any challenge), so it is kept only for accounts that use
//! MS-CHAPv2 and protected like a password.

use des::cipher::{BlockEncrypt, KeyInit};
use des::Des;
use md4::Md4;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// RFC 2759 s8.7 Magic1.
const AUTH_MAGIC1: &[u8] = b"Magic server to client signing constant";
/// RFC 2759 s8.7 Magic2.
const AUTH_MAGIC2: &[u8] = b"Pad to make it do more than one iteration";
/// RFC 3079 s3.4 Magic1 of GetMasterKey.
const MASTER_KEY_MAGIC: &[u8] = b"This is the MPPE Master Key";
/// RFC 3079 s3.4 Magic2: the client's send key, the server's receive key.
const MAGIC_CLIENT_SEND_SERVER_RECV: &[u8] =
    b"On the client side, this is the send key; on the server side, it is the receive key.";
/// RFC 3079 s3.4 Magic3: the client's receive key, the server's send key.
const MAGIC_CLIENT_RECV_SERVER_SEND: &[u8] =
    b"On the client side, this is the receive key; on the server side, it is the send key.";
/// RFC 3079 s3.4 SHSpad1 and SHSpad2.
const SHS_PAD1: [u8; 40] = [0x00; 40];
const SHS_PAD2: [u8; 40] = [0xf2; 40];

/// Length of the MS-CHAP2-Response value (RFC 2548 s2.3.2).
pub const MSCHAP2_RESPONSE_LEN: usize = 50;

/// Errors from parsing MS-CHAP attributes.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum MsChapError {
    #[error("MS-CHAP2-Response must be {MSCHAP2_RESPONSE_LEN} bytes, got {0}")]
    BadResponseLength(usize),
}

/// RFC 2759 s8.3 NtPasswordHash: MD4 of the password in UTF-16LE.
pub fn nt_password_hash(password: &str) -> [u8; 16] {
    let mut h = Md4::new();
    for unit in password.encode_utf16() {
        h.update(unit.to_le_bytes());
    }
    h.finalize().into()
}

/// RFC 2759 s8.4 HashNtPasswordHash: MD4 of the NT hash.
pub fn hash_nt_password_hash(nt_hash: &[u8; 16]) -> [u8; 16] {
    Md4::digest(nt_hash).into()
}

/// RFC 2759 s8.2 ChallengeHash: first 8 bytes of
/// SHA1(PeerChallenge + AuthenticatorChallenge + UserName). The user name is
/// the bare account name: stripping any "DOMAIN\" prefix is the caller's job.
pub fn challenge_hash(
    peer_challenge: &[u8; 16],
    authenticator_challenge: &[u8; 16],
    username: &[u8],
) -> [u8; 8] {
    let digest = Sha1::new()
        .chain_update(peer_challenge)
        .chain_update(authenticator_challenge)
        .chain_update(username)
        .finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// RFC 2759 s8.1 GenerateNTResponse.
pub fn generate_nt_response(
    authenticator_challenge: &[u8; 16],
    peer_challenge: &[u8; 16],
    username: &[u8],
    nt_hash: &[u8; 16],
) -> [u8; 24] {
    let challenge = challenge_hash(peer_challenge, authenticator_challenge, username);
    challenge_response(&challenge, nt_hash)
}

/// Check a peer's NT-Response against the stored NT hash, in constant time.
pub fn verify_nt_response(
    authenticator_challenge: &[u8; 16],
    peer_challenge: &[u8; 16],
    username: &[u8],
    nt_hash: &[u8; 16],
    response: &[u8; 24],
) -> bool {
    let expected = generate_nt_response(authenticator_challenge, peer_challenge, username, nt_hash);
    expected.ct_eq(response).into()
}

/// RFC 2759 s8.7 GenerateAuthenticatorResponse: "S=" and 40 upper-case hex
/// digits, sent back in MS-CHAP2-Success so the peer can authenticate us.
pub fn authenticator_response(
    nt_hash: &[u8; 16],
    nt_response: &[u8; 24],
    peer_challenge: &[u8; 16],
    authenticator_challenge: &[u8; 16],
    username: &[u8],
) -> String {
    let hash_hash = hash_nt_password_hash(nt_hash);
    let digest = Sha1::new()
        .chain_update(hash_hash)
        .chain_update(nt_response)
        .chain_update(AUTH_MAGIC1)
        .finalize();
    let challenge = challenge_hash(peer_challenge, authenticator_challenge, username);
    let digest = Sha1::new()
        .chain_update(digest)
        .chain_update(challenge)
        .chain_update(AUTH_MAGIC2)
        .finalize();
    format!("S={}", hex::encode_upper(digest))
}

/// RFC 3079 s3.4 GetMasterKey: 16 bytes of
/// SHA1(PasswordHashHash + NT-Response + Magic1).
pub fn master_key(nt_hash: &[u8; 16], nt_response: &[u8; 24]) -> [u8; 16] {
    let digest = Sha1::new()
        .chain_update(hash_nt_password_hash(nt_hash))
        .chain_update(nt_response)
        .chain_update(MASTER_KEY_MAGIC)
        .finalize();
    first16(&digest)
}

/// RFC 3079 s3.4 GetAsymmetricStartKey for 128-bit keys, from the server's
/// point of view: `is_send` picks Magic3 (server send = client receive),
/// otherwise Magic2 (server receive = client send).
fn server_start_key(master_key: &[u8; 16], is_send: bool) -> [u8; 16] {
    let magic = if is_send {
        MAGIC_CLIENT_RECV_SERVER_SEND
    } else {
        MAGIC_CLIENT_SEND_SERVER_RECV
    };
    let digest = Sha1::new()
        .chain_update(master_key)
        .chain_update(SHS_PAD1)
        .chain_update(magic)
        .chain_update(SHS_PAD2)
        .finalize();
    first16(&digest)
}

/// RFC 3079 s3.3-3.4 128-bit start keys as the authenticator (server) side
/// sends them: `(send_key, recv_key)` for MS-MPPE-Send-Key and
/// MS-MPPE-Recv-Key. The send key encrypts NAS-to-peer traffic (the peer's
/// receive key); the receive key is the peer's send key. For EAP-MSCHAPv2 the
/// MSK is `recv_key + send_key + 32 zero bytes` (peer send key first).
pub fn mppe_keys(nt_hash: &[u8; 16], nt_response: &[u8; 24]) -> ([u8; 16], [u8; 16]) {
    let master = master_key(nt_hash, nt_response);
    (
        server_start_key(&master, true),
        server_start_key(&master, false),
    )
}

/// Parsed MS-CHAP2-Response (vendor 311 type 25, 50 bytes: Ident, Flags,
/// Peer-Challenge 16, Reserved 8, NT-Response 24).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsChap2Response {
    pub ident: u8,
    pub peer_challenge: [u8; 16],
    pub nt_response: [u8; 24],
}

impl MsChap2Response {
    /// Parse the attribute value. Flags and Reserved are ignored, as peers
    /// are not consistent about zeroing them.
    pub fn parse(value: &[u8]) -> Result<Self, MsChapError> {
        let bad = || MsChapError::BadResponseLength(value.len());
        if value.len() != MSCHAP2_RESPONSE_LEN {
            return Err(bad());
        }
        let ident = *value.first().ok_or_else(bad)?;
        let peer_challenge = value
            .get(2..18)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(bad)?;
        let nt_response = value
            .get(26..50)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(bad)?;
        Ok(Self {
            ident,
            peer_challenge,
            nt_response,
        })
    }
}

/// MS-CHAP2-Success value (RFC 2548 s2.3.3): Ident then the
/// Authenticator Response string.
pub fn mschap2_success_value(ident: u8, authenticator_response: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + authenticator_response.len());
    v.push(ident);
    v.extend_from_slice(authenticator_response.as_bytes());
    v
}

/// RFC 2759 s8.5 ChallengeResponse: the NT hash padded to 21 bytes gives
/// three DES keys, each encrypting the 8-byte challenge.
fn challenge_response(challenge: &[u8; 8], nt_hash: &[u8; 16]) -> [u8; 24] {
    let mut z = [0u8; 21];
    z[..16].copy_from_slice(nt_hash);
    let mut out = [0u8; 24];
    for (key7, block) in z.chunks_exact(7).zip(out.chunks_exact_mut(8)) {
        let mut k = [0u8; 7];
        k.copy_from_slice(key7);
        block.copy_from_slice(&des_encrypt(&k, challenge));
    }
    out
}

/// RFC 2759 s8.6 DesEncrypt: spread 56 key bits over 8 bytes (7 bits each,
/// low bit as odd parity, which DES ignores) and encrypt one block.
fn des_encrypt(key7: &[u8; 7], block: &[u8; 8]) -> [u8; 8] {
    let mut bits = [0u8; 8];
    bits[1..].copy_from_slice(key7);
    let bits = u64::from_be_bytes(bits);
    let mut key = [0u8; 8];
    for (i, k) in key.iter_mut().enumerate() {
        let seven = ((bits >> (49 - 7 * i)) & 0x7f) as u8;
        let b = seven << 1;
        *k = b | u8::from(b.count_ones().is_multiple_of(2));
    }
    let cipher = Des::new(&key.into());
    let mut b = (*block).into();
    cipher.encrypt_block(&mut b);
    b.into()
}

fn first16(digest: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h16(s: &str) -> [u8; 16] {
        hex::decode(s).unwrap().try_into().unwrap()
    }
    fn h24(s: &str) -> [u8; 24] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    // RFC 2759 s9.2 (the same values are reused by RFC 3079 s3.5).
    const USER: &[u8] = b"User";
    const PASSWORD: &str = "clientPass";
    const AUTH_CHALLENGE: &str = "5B5D7C7D7B3F2F3E3C2C602132262628";
    const PEER_CHALLENGE: &str = "21402324255E262A28295F2B3A337C7E";
    const CHALLENGE: &str = "D02E4386BCE91226";
    const PASSWORD_HASH: &str = "44EBBA8D5312B8D611474411F56989AE";
    const NT_RESPONSE: &str = "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF";
    const PASSWORD_HASH_HASH: &str = "41C00C584BD2D91C4017A2A12FA59F3F";
    const AUTH_RESPONSE: &str = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

    // RFC 3079 s3.5.3 (128-bit keys).
    const MASTER_KEY: &str = "FDECE3717A8C838CB388E527AE3CDD31";
    /// SendStartKey128 of RFC 3079 s3.5.3: GetAsymmetricStartKey with
    /// IsSend=TRUE, IsServer=TRUE, i.e. Magic3: the server's send key.
    const SEND_START_KEY_128: &str = "8B7CDC149B993A1BA118CB153F56DCCB";
    /// The server's receive key (Magic2), which the RFC does not print;
    /// computed independently with Python's hashlib from the MasterKey above:
    /// sha1(master + 40*b"\0" + magic2 + 40*b"\xf2")[:16].
    const SERVER_RECV_KEY_128: &str = "D5F0E9521E3EA9589645E86051C82226";

    #[test]
    fn rfc2759_password_hashes() {
        let nt = nt_password_hash(PASSWORD);
        assert_eq!(nt, h16(PASSWORD_HASH));
        assert_eq!(hash_nt_password_hash(&nt), h16(PASSWORD_HASH_HASH));
    }

    #[test]
    fn rfc2759_challenge_hash() {
        let c = challenge_hash(&h16(PEER_CHALLENGE), &h16(AUTH_CHALLENGE), USER);
        assert_eq!(hex::encode_upper(c), CHALLENGE);
    }

    #[test]
    fn rfc2759_nt_response() {
        let nt = generate_nt_response(
            &h16(AUTH_CHALLENGE),
            &h16(PEER_CHALLENGE),
            USER,
            &h16(PASSWORD_HASH),
        );
        assert_eq!(nt, h24(NT_RESPONSE));
    }

    #[test]
    fn rfc2759_verify_nt_response() {
        let (a, p, nt) = (h16(AUTH_CHALLENGE), h16(PEER_CHALLENGE), h16(PASSWORD_HASH));
        let resp = h24(NT_RESPONSE);
        assert!(verify_nt_response(&a, &p, USER, &nt, &resp));
        assert!(!verify_nt_response(&a, &p, b"user", &nt, &resp));
        assert!(!verify_nt_response(&p, &a, USER, &nt, &resp));
        let wrong = nt_password_hash("clientpass");
        assert!(!verify_nt_response(&a, &p, USER, &wrong, &resp));
        let mut flipped = resp;
        flipped[23] ^= 1;
        assert!(!verify_nt_response(&a, &p, USER, &nt, &flipped));
    }

    #[test]
    fn rfc2759_authenticator_response() {
        let s = authenticator_response(
            &h16(PASSWORD_HASH),
            &h24(NT_RESPONSE),
            &h16(PEER_CHALLENGE),
            &h16(AUTH_CHALLENGE),
            USER,
        );
        assert_eq!(s, AUTH_RESPONSE);
    }

    #[test]
    fn rfc3079_master_key_and_128_bit_keys() {
        let nt = h16(PASSWORD_HASH);
        let resp = h24(NT_RESPONSE);
        let master = master_key(&nt, &resp);
        assert_eq!(master, h16(MASTER_KEY));
        let (send, recv) = mppe_keys(&nt, &resp);
        // The server's send key is the RFC's SendStartKey128 (Magic3); the
        // client's send key is the server's receive key (Magic2).
        assert_eq!(send, h16(SEND_START_KEY_128));
        assert_eq!(recv, h16(SERVER_RECV_KEY_128));
        assert_ne!(send, recv);
    }

    #[test]
    fn nt_hash_of_non_ascii_and_empty_passwords() {
        // Well-known NT hash of the empty password.
        assert_eq!(
            hex::encode(nt_password_hash("")),
            "31d6cfe0d16ae931b73c59d7e0c089c0"
        );
        // Non-BMP characters are two UTF-16 units; hashing must not panic and
        // must differ from a similar ASCII password.
        assert_ne!(nt_password_hash("pässwörd😀"), nt_password_hash("password"));
    }

    #[test]
    fn des_key_expansion_uses_all_56_bits() {
        // Changing any single key bit must change the ciphertext.
        let base = des_encrypt(&[0u8; 7], &[0u8; 8]);
        for byte in 0..7 {
            for bit in 0..8 {
                let mut k = [0u8; 7];
                k[byte] = 1 << bit;
                assert_ne!(des_encrypt(&k, &[0u8; 8]), base, "byte {byte} bit {bit}");
            }
        }
    }

    #[test]
    fn parse_mschap2_response() {
        let mut v = vec![0x42, 0x00];
        v.extend(h16(PEER_CHALLENGE));
        v.extend([0u8; 8]);
        v.extend(h24(NT_RESPONSE));
        let r = MsChap2Response::parse(&v).unwrap();
        assert_eq!(r.ident, 0x42);
        assert_eq!(r.peer_challenge, h16(PEER_CHALLENGE));
        assert_eq!(r.nt_response, h24(NT_RESPONSE));

        assert_eq!(
            MsChap2Response::parse(&v[..49]),
            Err(MsChapError::BadResponseLength(49))
        );
        v.push(0);
        assert_eq!(
            MsChap2Response::parse(&v),
            Err(MsChapError::BadResponseLength(51))
        );
        assert!(MsChap2Response::parse(&[]).is_err());
    }

    #[test]
    fn success_value_layout() {
        let v = mschap2_success_value(7, AUTH_RESPONSE);
        assert_eq!(v[0], 7);
        assert_eq!(&v[1..], AUTH_RESPONSE.as_bytes());
    }
}
