//! Page texts in Simplified Chinese (the default) and English, chosen from
//! the browser's Accept-Language. Branding may override any text.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The `lang` attribute of the page.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The best of zh and en by the header's q-values; Chinese when
    /// nothing says otherwise.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(h) = header else {
            return Lang::Zh;
        };
        let (mut zh, mut en) = (-1.0f32, -1.0f32);
        for (i, part) in h.split(',').enumerate() {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // Earlier entries win ties, as browsers order by preference.
            let q = q - (i as f32) * 1e-4;
            let primary = tag.split('-').next().unwrap_or("");
            match primary {
                "zh" => zh = zh.max(q),
                "en" => en = en.max(q),
                _ => {}
            }
        }
        if en > zh && en > 0.0 {
            Lang::En
        } else {
            Lang::Zh
        }
    }
}

macro_rules! texts {
    ($($field:ident : $zh:expr, $en:expr;)*) => {
        /// Every text a page shows.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Texts {
            $(pub $field: String,)*
        }

        /// Branding overrides: any subset of the texts.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct TextOverrides {
            $(pub $field: Option<String>,)*
        }

        impl Texts {
            pub fn builtin(lang: Lang) -> Texts {
                match lang {
                    Lang::Zh => Texts { $($field: $zh.to_string(),)* },
                    Lang::En => Texts { $($field: $en.to_string(),)* },
                }
            }

            pub fn with(mut self, o: &TextOverrides) -> Texts {
                $(if let Some(v) = &o.$field { self.$field = v.clone(); })*
                self
            }

            /// Every text with its name (for checks over all of them).
            pub fn all(&self) -> Vec<(&'static str, &str)> {
                vec![$((stringify!($field), self.$field.as_str()),)*]
            }
        }
    };
}

texts! {
    site_name: "无线网络", "Wi-Fi";
    welcome: "欢迎使用无线网络，请登录后上网。", "Welcome. Please sign in to use the Wi-Fi.";
    staff_title: "工作人员登录", "Staff sign-in";
    username: "用户名", "Username";
    password: "密码", "Password";
    sign_in: "登录", "Sign in";
    voucher_title: "访客上网券", "Visitor voucher";
    voucher_code: "上网券号码", "Voucher code";
    use_voucher: "使用上网券", "Use voucher";
    sms_title: "手机号登录", "Sign in with your phone";
    phone: "手机号码", "Mobile number";
    send_code: "获取验证码", "Send code";
    code: "短信验证码", "Code from the SMS";
    verify_code: "验证并上网", "Verify and connect";
    code_sent: "验证码已发送，请查看短信。", "We sent you a code by SMS.";
    wechat_title: "微信登录", "WeChat";
    wechat_button: "微信登录", "Sign in with WeChat";
    wecom_button: "企业微信登录", "Sign in with WeCom";
    qr_text: "请用手机微信扫描二维码，在手机上完成登录后，本设备将自动连接。", "Scan this code with WeChat on your phone. When you finish there, this device connects by itself.";
    qr_link: "或在手机上打开此链接：", "Or open this link on your phone:";
    qr_done: "登录完成，请回到需要上网的设备。", "Done. Go back to the device you are connecting.";
    terms_title: "访客上网", "Visitor access";
    terms_text: "使用本网络即表示您同意遵守相关法律法规和本单位的网络使用规定。", "By using this network you agree to follow the law and this building's network rules.";
    accept: "同意并上网", "Accept and connect";
    error_title: "无法登录", "Cannot sign in";
    back: "返回", "Back";
    signed_in_title: "已连接", "Connected";
    time_left: "剩余时间", "Time left";
    sign_out: "退出登录", "Sign out";
    signed_out: "您已退出登录。", "You have signed out.";
    launcher_title: "应用", "Apps";
    survey_title: "信号测量", "Signal survey";
    survey_intro: "帮助改进本楼的无线覆盖：选择您所在的楼层，然后在平面图上点击您站立的位置。系统会读取本设备当前的信号强度。", "Help improve this building's Wi-Fi: choose your floor, then tap where you stand on the plan. Portico reads this device's signal as the access point reports it.";
    survey_tap: "在平面图上点击您所在的位置", "Tap where you stand on the plan";
    survey_no_floors: "还没有楼层平面图。", "No floor plans yet.";
    survey_saved: "已记录", "Recorded";
    survey_predicted: "模型预测", "the model predicted";
    survey_not_seen: "接入点尚未报告本设备的信号，请等待一分钟后再点一次。", "No access point has reported this device's signal yet. Wait a minute and tap again.";
    survey_staff_only: "信号测量仅限工作人员使用。", "The signal survey is for staff only.";
    no_tiles: "暂无可用应用。", "No apps available.";
    connecting_title: "正在连接", "Connecting";
    connecting_text: "正在为您开通网络，请稍候……", "Letting your device in, one moment…";
    timeout_title: "暂未连上网络", "Not connected yet";
    timeout_text: "接入点还没有确认您的设备已接入网络。请点击“重试”；如仍不行，请断开并重新连接无线网络后再登录。", "The access point has not yet confirmed that your device is on the network. Press Try again; if that does not help, disconnect from the Wi-Fi, connect again and sign in once more.";
    continue_label: "继续", "Continue";
    original_url_label: "您要访问的页面：", "The page you asked for:";
    handoff_text: "正在连接接入点……如果页面没有自动跳转，请点击“继续”。", "Handing you to the access point… If nothing happens, press Continue.";
    err_bad_request: "接入点发送的登录请求无效或不完整。请断开并重新连接无线网络。", "The access point's sign-in request is invalid or incomplete. Please reconnect to the Wi-Fi.";
    err_csrf: "表单已过期或无效，请返回重试。", "The form has expired or is invalid. Please go back and try again.";
    err_bad_password: "用户名或密码错误。", "Wrong username or password.";
    err_rate_limited: "尝试次数过多，请稍后再试。", "Too many attempts. Please wait a minute and try again.";
    err_voucher: "上网券无效或已过期。", "The voucher is invalid or has expired.";
    err_voucher_used_up: "该上网券已达到可用设备数上限。", "This voucher is already in use on as many devices as it allows.";
    err_sms_code: "验证码错误或已过期。", "The code is wrong or has expired.";
    err_sms_limit: "发送验证码过于频繁，请稍后再试。", "Too many codes requested. Please try again later.";
    err_phone: "请输入有效的手机号码。", "Please enter a valid mobile number.";
    err_method_off: "此登录方式未启用。", "This sign-in method is not enabled.";
    err_oauth: "微信授权失败或已使用，请重试。", "WeChat authorisation failed or was already used. Please try again.";
    err_not_linked: "该微信账号未绑定工作人员账号。", "This WeChat account is not linked to a staff account.";
    err_session: "您尚未登录或登录已过期。", "You are not signed in, or your session has ended.";
    err_internal: "系统暂时无法处理，请稍后再试。", "Something went wrong on our side. Please try again shortly.";
    err_unknown_profile: "未知的接入点类型。", "Unknown access point type.";
    err_account_locked: "该账号因多次密码错误已被暂时锁定，请稍后再试，或联系网络管理员。", "This account is locked for a while after too many wrong passwords. Please try again later, or contact the network administrator.";
    err_login_host: "接入点提供的登录地址不属于本单位网络，为保护您的账号已停止登录。请断开并重新连接无线网络；如仍出现此提示，请联系网络管理员。", "The access point's sign-in address does not belong to this network, so sign-in was stopped to protect your account. Please reconnect to the Wi-Fi; if you see this again, contact the network administrator.";
    err_client_mismatch: "此登录页面必须在要上网的设备上打开。请在该设备的浏览器中打开任意网页，重新登录。", "Sign in on the device that needs the Wi-Fi: open any web page in that device's browser and sign in there.";
    err_client_unverifiable: "无法确认正在登录的就是要上网的设备，已停止登录。请联系网络管理员。", "We could not confirm that this is the device being connected, so sign-in was stopped. Please contact the network administrator.";
    error_code: "错误代码", "Error code";
    retry: "重试", "Try again";
    start_title: "请打开任意网页", "Open any web page";
    start_text: "暂时无法识别您的设备。请在浏览器中打开任意一个网页，系统会自动带您到登录页面。", "We could not recognise your device yet. Open any web page in your browser and you will be taken to the sign-in page.";
    already_signed_in: "本设备已登录。", "This device is signed in.";
    open_launcher: "打开应用列表", "Open the apps";
    open_original: "继续访问原网页", "Continue to the page you asked for";
    visitor: "访客", "Visitor";
    wechat_visitor: "微信用户", "WeChat user";
    wechat_phone_text: "请在微信中完成登录：复制下面的链接，在微信里发给自己（例如发到“文件传输助手”）后点开。完成后回到本页面，将自动连接。", "Finish signing in inside WeChat: copy the link below, send it to yourself in WeChat (for example to File Transfer) and open it there. Then come back to this page; it connects by itself.";
    wechat_open_app: "打开微信", "Open WeChat";
    wechat_use_sms: "改用手机号登录", "Sign in with your phone number instead";
    voucher_how_to: "使用方法：连接无线网络，在自动弹出的登录页面（或打开任意网页后出现的页面）中输入上网券号码。", "How to use: connect to the Wi-Fi, then type the code on the sign-in page that opens (or that appears when you open any web page).";
    voucher_ssid_label: "无线网络名称", "Wi-Fi network";
    voucher_valid_until: "有效期至", "Valid until";
    voucher_duration: "可用时长", "Time";
    sso_title: "统一身份登录", "Sign in to the building's apps";
    sso_for_app: "登录后将进入", "After signing in you go to";
    sso_otp: "动态验证码（身份验证器中的六位数字）", "Authenticator code (six digits)";
    sso_submit: "登录", "Sign in";
    sso_need_otp: "该应用要求两步验证：请输入身份验证器中的动态验证码。", "This app asks for two-step verification: enter the code from your authenticator.";
    sso_no_otp: "该应用要求两步验证，但您的账号尚未绑定身份验证器。请联系网络管理员。", "This app asks for two-step verification, but your account has no authenticator yet. Please contact the network administrator.";
    sso_bad_request: "应用发来的登录请求无效。请回到应用重新打开。", "The app's sign-in request is not valid. Go back to the app and open it again.";
    sso_consent_title: "授权确认", "Allow access";
    sso_consent_asks: "请求获取您的以下信息：", "asks for the following:";
    sso_consent_revocable: "您可随时在应用列表页面撤销授权。", "You can withdraw this at any time on the apps page.";
    sso_allow: "同意", "Allow";
    sso_deny: "拒绝", "Deny";
    sso_scope_groups: "您所属的部门和工作组", "Your departments and groups";
    sso_scope_phone: "您的手机号码", "Your mobile number";
    sso_signed_out: "您已退出统一身份登录。无线网络连接不受影响。", "You have signed out of the building's apps. Your Wi-Fi connection is not affected.";
    sso_apps_title: "已授权的应用", "Apps you allowed";
    sso_withdraw: "撤销授权", "Withdraw";
    sso_apps_none: "您还没有授权任何应用读取您的信息。", "You have not allowed any app to read your details.";
    presence_title: "会议签到（按无线网络位置）", "Meeting check-in by Wi-Fi location";
    presence_on_text: "已开启：会议系统可看到您在哪个会议室（仅姓名和到达时间，不含设备信息）。", "On: the meeting system can see which meeting room you are in (your name and arrival time only, no device details).";
    presence_off_text: "未开启：会议系统看不到您的位置。", "Off: the meeting system cannot see where you are.";
    presence_turn_on: "开启", "Turn on";
    presence_turn_off: "关闭", "Turn off";
    binding_title: "微信和企业微信绑定", "WeChat and WeCom";
    binding_none: "尚未绑定。", "Not linked yet.";
    binding_wechat_label: "微信", "WeChat";
    binding_wecom_label: "企业微信", "WeCom";
    binding_wechat: "绑定微信", "Link WeChat";
    binding_wecom: "绑定企业微信", "Link WeCom";
    binding_remove: "解除绑定", "Unlink";
    binding_done: "绑定成功。以后可以用微信直接登录。", "Linked. You can now sign in with it.";
    match_number: "核对数字：", "Check the number:";
    confirm_sso_title: "确认登录", "Confirm the sign-in";
    confirm_sso_text: "您正在用微信为另一台设备上的应用登录。只有那台设备就在您面前、并显示与下面相同的数字时，才点“确认”。", "You are signing in to an app on another device with WeChat. Confirm only if that device is in front of you and shows the same number as below.";
    confirm_app: "应用：", "App:";
    confirm_bind_title: "确认绑定", "Confirm the link";
    confirm_bind_text: "您正在把这个微信绑定到下面的账号，之后可用它直接登录。只有绑定页面是您本人打开、并显示与下面相同的数字时，才点“确认”。", "You are linking this WeChat to the account below, to sign in with it from now on. Confirm only if you opened the linking page yourself and it shows the same number as below.";
    confirm_account: "账号：", "Account:";
    confirm_yes: "确认", "Confirm";
    confirm_no: "取消", "Cancel";
    confirm_cancelled_title: "已取消", "Cancelled";
    confirm_cancelled: "没有登录，也没有绑定任何账号。", "Nothing was signed in or linked.";
    binding_staff_only: "只有用密码登录的工作人员可以绑定。", "Only staff signed in with their password can link an account.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_language() {
        assert_eq!(Lang::from_accept_language(None), Lang::Zh);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("zh-CN,zh;q=0.9,en;q=0.8")),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language(Some("fr-FR,en;q=0.5")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("fr-FR")), Lang::Zh);
        assert_eq!(
            Lang::from_accept_language(Some("en;q=0.5,zh;q=0.9")),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language(Some("garbage;;;q=x")), Lang::Zh);
    }

    #[test]
    fn chinese_texts_hold_no_english() {
        // Brand names that have no Chinese form on these pages.
        const ALLOWED: &[&str] = &[];
        for (name, text) in Texts::builtin(Lang::Zh).all() {
            let words: Vec<&str> = text
                .split(|c: char| !c.is_ascii_alphabetic())
                .filter(|w| w.len() >= 2 && !ALLOWED.contains(w))
                .collect();
            assert!(words.is_empty(), "zh {name}: {words:?} in {text:?}");
        }
        assert!(Texts::builtin(Lang::En).all().len() > 60);
    }

    #[test]
    fn overrides_apply() {
        let o = TextOverrides {
            site_name: Some("人大无线".into()),
            ..TextOverrides::default()
        };
        let t = Texts::builtin(Lang::Zh).with(&o);
        assert_eq!(t.site_name, "人大无线");
        assert_eq!(t.sign_in, "登录");
    }
}
