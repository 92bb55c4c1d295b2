//! "Why can't this user connect?": a plain sentence on what to do for each
//! failure reason Portico records (RADIUS rejects and drops, portal
//! refusals), in both languages.

use super::i18n::Lang;

/// (a fragment of the recorded reason, Chinese advice, English advice);
/// the first match wins, so specific fragments come first.
const ADVICE: &[(&str, &str, &str)] = &[
    ("wrong password", "密码错误。请用户确认密码（注意大小写和输入法），必要时重置密码。", "The password was wrong. Ask the user to retype it (case, keyboard layout) or reset it."),
    ("unknown user", "账户不存在。检查用户名拼写，或在“用户与分组”中创建该用户。", "No such account. Check the spelling, or create the user under Users."),
    ("account disabled", "账户已停用。如应恢复，在“用户与分组”中启用。", "The account is disabled. Enable it under Users if it should work."),
    ("account expired", "账户已过有效期。在“用户与分组”中延长有效期。", "The account's validity ended. Extend it under Users."),
    ("account locked", "密码错误次数过多，账户已临时锁定。等待锁定结束，或用 portico user unlock 解锁。", "Too many wrong passwords locked the account. Wait, or run portico user unlock."),
    ("locked", "账户已临时锁定。等待锁定结束，或用 portico user unlock 解锁。", "The account is locked for now. Wait, or run portico user unlock."),
    ("no nt hash", "该账户没有 NT 哈希，无法用 MSCHAPv2（PEAP）认证。请重新设置密码（开启 radius.store_nt_hash），或改用 EAP-TTLS/PAP。", "MSCHAPv2 needs an NT hash this account does not have. Set the password again with radius.store_nt_hash on, or use EAP-TTLS/PAP."),
    ("chap needs the clear password", "员工账户不保存明文密码，无法用 CHAP。请在 AP 上改用 PAP 或 PEAP。", "CHAP needs a clear password, which staff accounts do not keep. Use PAP or PEAP on the AP."),
    ("method not allowed", "用户所在分组不允许此认证方式。检查分组的允许方式，或 SSID 的认证设置。", "The user's groups do not allow this method. Check the group's allowed methods or the SSID's security."),
    ("mac address neither registered", "此 MAC 既未登记也未经门户授权。请在“设备”中登记，或让用户先在门户登录。", "This MAC is neither registered nor authorized. Register the device, or have the user sign in at the portal first."),
    ("message_authenticator", "请求缺少或带有错误的 Message-Authenticator（BlastRADIUS 防护）。升级 AP 固件，或确认共享密钥一致。", "The request lacked a valid Message-Authenticator (BlastRADIUS protection). Upgrade the AP firmware or check the shared secret."),
    ("message-authenticator", "请求缺少或带有错误的 Message-Authenticator（BlastRADIUS 防护）。升级 AP 固件，或确认共享密钥一致。", "The request lacked a valid Message-Authenticator (BlastRADIUS protection). Upgrade the AP firmware or check the shared secret."),
    ("unknown nas", "请求来自未登记的 NAS。在“NAS 客户端”中添加该 AP/控制器的地址和共享密钥。", "The request came from an unknown NAS. Add the AP or controller under NAS clients."),
    ("bad_authenticator", "共享密钥不一致。在 AP 与 Portico 上设置相同的密钥。", "The shared secrets differ. Set the same secret on the AP and in Portico."),
    ("tls handshake failed", "证书不被信任、已吊销或 TLS 协议错误。检查终端是否信任 Portico 的 CA 证书、客户端证书是否有效。", "Certificate not trusted or revoked, or a TLS error. Check the device trusts Portico's CA and its client certificate is valid."),
    ("certificate names no user", "客户端证书中没有对应的用户账户。签发证书时使用用户名，或先创建该用户。", "The client certificate names no user account. Issue it for an existing user name."),
    ("eap is not enabled", "服务器未启用 802.1X（EAP）。在配置中开启 eap.enabled。", "802.1X (EAP) is off on this server. Turn on eap.enabled."),
    ("no eap method", "终端与策略没有共同的 EAP 方式。检查终端的 802.1X 设置（PEAP/TTLS/TLS）。", "The device and the policy share no EAP method. Check the device's 802.1X settings."),
    ("eap conversation unknown", "EAP 会话已过期或中断，通常是终端或 AP 超时。让用户重新连接；如反复出现，检查 AP 的 EAP 超时。", "The EAP conversation expired or broke off, usually a timeout. Reconnect; if it repeats, check the AP's EAP timeout."),
    ("malformed eap", "EAP 报文格式错误。检查 AP 固件，或抓包确认。", "Malformed EAP message. Check the AP's firmware or capture the traffic."),
    ("unexpected eap", "EAP 报文顺序异常，可能是重传或两台 AP 之间漫游。让用户重新连接。", "EAP messages arrived out of order (retransmission or roaming). Reconnect."),
    ("one-time credentials issued for another client mac", "门户一次性凭据被另一台设备使用（可能是冒用），已拒绝。让该设备自己在门户登录。", "Portal one-time credentials were used by another device (possible misuse) and refused. Have that device sign in itself."),
    ("one-time credentials issued for another nas", "门户一次性凭据来自另一台 NAS，已拒绝。确认门户配置的 NAS 地址。", "Portal one-time credentials came through another NAS and were refused. Check the portal's NAS addresses."),
    ("no credentials", "请求中没有凭据。检查 AP 的认证方式设置。", "The request carried no credentials. Check the AP's authentication settings."),
    ("voucher", "访客券无效、已用完或已过期。换一张访客券。", "The voucher is unknown, used up or expired. Give the visitor another one."),
    ("code", "短信验证码错误或已过期。让访客重新获取验证码。", "The SMS code was wrong or expired. Have the visitor request a new one."),
    ("pt-3", "门户拒绝：浏览器不是该设备，或登录地址不可信（见原因代码）。让用户断开 Wi-Fi 后重连，在弹出的登录页中登录。", "The portal refused: the browser is not the device, or the login URL is untrusted (see the code). Reconnect and sign in in the page that opens."),
    ("internal error", "服务器内部错误。查看服务器日志。", "Internal error. Look at the server log."),
    ("timeout", "处理超时，通常是数据库过慢。检查服务器负载与数据库。", "The request timed out, usually a slow database. Check the server's load and the database."),
];

/// The advice for a recorded reason, if Portico has one.
pub fn advice(reason: &str, lang: Lang) -> Option<&'static str> {
    let r = reason.to_ascii_lowercase();
    ADVICE
        .iter()
        .find(|(frag, _, _)| r.contains(frag))
        .map(|(_, zh, en)| match lang {
            Lang::Zh => *zh,
            Lang::En => *en,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reject_reason_of_the_policy_has_advice() {
        use crate::radius::policy::RejectReason as R;
        for r in [
            R::UnknownUser,
            R::BadPassword,
            R::Disabled,
            R::Expired,
            R::MethodNotAllowed,
            R::NoNtHash,
            R::ChapNeedsClearSecret,
            R::UnknownMac,
            R::EapNotEnabled,
            R::EapMalformed,
            R::EapUnexpected,
            R::EapMethodRefused,
            R::EapUnknownState,
            R::CertificateNoUser,
            R::NoCredentials,
            R::OneTimeOtherNas,
            R::InternalError,
        ] {
            assert!(advice(r.as_str(), Lang::En).is_some(), "{}", r.as_str());
            assert!(advice(r.as_str(), Lang::Zh).is_some(), "{}", r.as_str());
        }
        assert_eq!(advice("something new", Lang::En), None);
    }
}
