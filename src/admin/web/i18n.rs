//! The dashboard's words in Chinese (the default) and English. One macro
//! line per text, so a text cannot exist in one language only.

use axum::http::HeaderMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// The `portico_lang` cookie (the switch), else Accept-Language
    /// (English only when it comes before any Chinese), else Chinese.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        let cookies = headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim);
        for c in cookies {
            match c {
                "portico_lang=en" => return Lang::En,
                "portico_lang=zh" => return Lang::Zh,
                _ => {}
            }
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for part in accept.split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Lang::Zh;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Zh
    }
}

macro_rules! texts {
    ($($key:ident: $zh:literal, $en:literal;)*) => {
        /// Every text of the dashboard.
        pub struct Texts {
            $(pub $key: &'static str,)*
        }
        pub static ZH: Texts = Texts { $($key: $zh,)* };
        pub static EN: Texts = Texts { $($key: $en,)* };
    };
}

texts! {
    product: "Portico 无线网络管理", "Portico network controller";
    lang_switch: "English", "中文";
    lang_switch_to: "en", "zh";
    skip_to_content: "跳到正文", "Skip to content";
    sign_in: "登录", "Sign in";
    sign_in_title: "管理员登录", "Administrator sign-in";
    sign_out: "退出", "Sign out";
    username: "用户名", "Username";
    password: "密码", "Password";
    new_password: "新密码", "New password";
    repeat_password: "再次输入新密码", "Repeat the new password";
    password_rules: "至少 12 个字符，含大写字母、小写字母、数字、其他字符中的至少三类，且不含用户名。", "At least 12 characters from at least three of: upper case, lower case, digits, other characters; not containing the user name.";
    totp_code: "动态验证码", "Authenticator code";
    totp_title: "两步验证", "Two-step verification";
    totp_hint: "输入身份验证器应用中显示的 6 位数字。", "Enter the 6 digits your authenticator app shows.";
    setup_title: "首次登录设置", "First sign-in";
    setup_intro: "请设置新密码，并用身份验证器应用（如 Microsoft Authenticator、Google 身份验证器、FreeOTP）扫描二维码。", "Set a new password, and scan the QR code with an authenticator app (such as Microsoft Authenticator, Google Authenticator, FreeOTP).";
    setup_password_only: "请设置新密码。", "Set a new password.";
    setup_manual: "无法扫描时，手动输入此密钥：", "If you cannot scan, type this key:";
    continue_label: "继续", "Continue";
    err_sign_in: "用户名或密码错误，或账户已停用。", "Wrong user name or password, or the account is disabled.";
    err_locked: "登录失败次数过多，账户已临时锁定。请稍后再试，或联系安全管理员。", "Too many failed sign-ins: the account is locked for now. Try again later or ask the security administrator.";
    err_totp: "验证码不正确或已使用。", "The code is wrong or was already used.";
    err_password_mismatch: "两次输入的新密码不一致。", "The two new passwords differ.";
    err_password_same: "新密码不能与当前密码相同。", "The new password must differ from the current one.";
    err_expired: "会话已过期，请重新登录。", "Your session ended; please sign in again.";
    err_forbidden: "您的角色无权访问此页面。", "Your role may not open this page.";
    err_not_found: "未找到。", "Not found.";
    err_bad_request: "请求无效：", "Invalid request: ";
    err_internal: "服务器内部错误，详情见日志。", "Internal error; the log has the details.";
    role_system: "系统管理员", "System administrator";
    role_security: "安全管理员", "Security administrator";
    role_audit: "审计管理员", "Audit administrator";
    role_operator: "运维值班员", "Operator";
    role_admin: "管理员（全部权限）", "Administrator (all rights)";
    nav_overview: "概览", "Overview";
    nav_aps: "接入点", "Access points";
    nav_sessions: "终端与会话", "Clients and sessions";
    nav_troubleshoot: "连接诊断", "Why can't they connect?";
    nav_users: "用户与分组", "Users and groups";
    nav_nas: "NAS 客户端", "NAS clients";
    nav_alerts: "告警与事件", "Alerts and events";
    nav_logs: "日志与实名导出", "Logs and real-name export";
    nav_vouchers: "访客券", "Vouchers";
    nav_admins: "管理员", "Administrators";
    nav_audit: "审计", "Audit";
    nav_settings: "设置", "Settings";
    nav_coverage: "覆盖地图", "Coverage";
    nav_sso: "统一登录", "Single sign-on";
    sso_provider: "OpenID Connect 身份提供方", "OpenID Connect provider";
    sso_issuer: "签发者", "Issuer";
    sso_no_issuer: "未设置（请配置 sso.issuer 或 portal.public_url）", "not set (set sso.issuer or portal.public_url)";
    sso_discovery: "发现文档", "Discovery document";
    sso_keys: "签名密钥", "Signing keys";
    sso_retired: "已轮换，宽限期内仍发布", "rotated out, published during the grace period";
    sso_clients: "接入应用", "Apps (clients)";
    sso_type: "类型", "Type";
    sso_public: "公开客户端（无密钥，需 PKCE）", "Public client (no secret, PKCE)";
    sso_confidential: "机密客户端", "Confidential";
    sso_scopes: "授权范围", "Scopes";
    sso_require_2fa: "要求双因素", "Require 2FA";
    sso_portal_session: "沿用上网登录", "Portal session signs in";
    sso_post_logout: "退出后返回地址", "Post-logout redirect URIs";
    sso_backchannel_logout: "后台注销通知地址", "Back-channel logout URI";
    sso_edit_client: "修改应用", "Edit app";
    sso_rotate_secret: "更换密钥", "New secret";
    sso_rotate_secret_confirm: "旧密钥立即失效，应用须改用新密钥。继续？", "The old secret stops working at once; the app must use the new one. Go on?";
    sso_logout_pending: "待发送的注销通知", "Logout notices waiting";
    sso_backchannel_hint: "用户退出、账号停用或删除时，服务器向此地址发送注销令牌（可留空）", "Told server to server when a person signs out or their account is disabled or removed (optional)";
    sso_id_token_alg: "身份令牌签名算法", "ID token algorithm";
    sso_bindings: "微信和企业微信绑定", "WeChat and WeCom bindings";
    sso_binding_kind: "类型", "Kind";
    sso_binding_id: "外部标识", "External id";
    sso_binding_at: "绑定时间", "Linked at";
    sso_redirect_uris: "回调地址", "Redirect URIs";
    sso_redirect_hint: "每行一个，须为 https（本机回环地址可用 http），精确匹配", "One per line; https (http only on loopback), matched exactly";
    sso_add_client: "添加应用", "Add an app";
    sso_rotate: "轮换签名密钥", "Rotate the signing key";
    cov_floors: "楼层", "Floors";
    cov_building: "楼宇", "Building";
    cov_floor: "楼层", "Floor";
    cov_level: "层号", "Level";
    cov_size: "尺寸 (米)", "Size (m)";
    cov_aps_placed: "已放置 AP", "APs placed";
    cov_add_floor: "添加楼层", "Add a floor";
    cov_width: "宽 (米)", "Width (m)";
    cov_height: "长 (米)", "Height (m)";
    cov_band: "频段", "Band";
    cov_metric: "指标", "Metric";
    cov_show: "显示", "Show";
    cov_signal: "信号强度", "Signal";
    cov_second: "第二强信号", "Second signal";
    cov_snr: "信噪比", "SNR";
    cov_contention: "同频干扰", "Co-channel contention";
    cov_serving: "服务 AP", "Serving AP";
    cov_map: "覆盖热图", "Coverage map";
    cov_kpi: "覆盖指标", "Coverage KPIs";
    cov_area: "面积 (平方米)", "Area (m²)";
    cov_primary: "≥ −67 dBm 占比", "At −67 dBm or better";
    cov_roaming: "双 AP 覆盖占比", "Second AP at −67 dBm";
    cov_snr_share: "信噪比 ≥ 25 dB 占比", "SNR 25 dB or more";
    cov_worst_contention: "最多同频 AP", "Worst co-channel count";
    cov_holes: "覆盖盲区", "Coverage holes";
    cov_centre: "位置 (米)", "Place (m)";
    cov_worst: "最弱信号", "Weakest signal";
    cov_rooms: "房间", "Rooms";
    cov_seats: "座位", "Seats";
    cov_hint: "建议", "Advice";
    cov_place_ap: "放置 AP", "Place an AP";
    cov_place_hint: "在地图上点击即可填入坐标", "Click the map to fill in the place";
    cov_mount_height: "安装高度 (米)", "Mounting height (m)";
    cov_add_wall: "添加墙体", "Add a wall";
    cov_wall_hint: "在地图上依次点击墙的两端", "Click the wall's two ends on the map";
    cov_material: "材质", "Material";
    cov_remove_last_wall: "删除最后一面墙", "Remove the last wall";
    cov_plan_image: "平面图", "Floor plan";
    cov_upload_plan: "上传平面图 (PNG/JPEG/SVG)", "Upload the plan (PNG, JPEG or SVG)";
    cov_scale: "比例 (像素/米)", "Scale (pixels per metre)";
    cov_report: "打印报告", "Printable report";
    cov_channel_plan: "信道规划建议", "Suggested channel plan";
    cov_current: "当前", "Current";
    cov_channel: "信道", "channel";
    cov_predicted: "模型预测", "Predicted";
    cov_add_area: "添加区域", "Add an area";
    cov_area_kind: "类型", "Kind";
    cov_kind_room: "房间", "Room";
    cov_kind_excluded: "免覆盖区", "No-coverage zone";
    cov_kind_outline: "楼层轮廓", "Floor outline";
    cov_corners: "角点 (米): x,y x,y …", "Corners (m): x,y x,y …";
    cov_corners_hint: "在地图上依次点击各个角", "Click the corners on the map in turn";
    cov_remove_last_area: "删除最后一个区域", "Remove the last area";
    cov_suggested: "建议", "Suggested";
    cov_power: "发射功率 (dBm)", "Transmit power (dBm)";
    cov_before_after: "调整前 / 调整后", "Before / after";
    cov_survey: "现场测量", "Survey";
    cov_points: "测量点", "Measured points";
    cov_calibrate: "按测量校准模型", "Calibrate the model from measurements";
    cov_no_floors: "还没有楼层：先添加一个楼层。", "No floors yet: add one first.";
    cov_model: "预测模型：ITU-R P.1238 室内传播，墙体与楼板损耗按材质表。", "Model: ITU-R P.1238 indoor path loss, wall and slab losses from the material table.";
    nav_account: "我的账户", "My account";
    token_expiry_hint: "最长 365 天，如 90d", "At most 365 days, e.g. 90d";
    err_input: "输入无效：", "Invalid input: ";
    ov_aps_up: "在线接入点", "APs up";
    ov_aps_down: "离线接入点", "APs down";
    ov_clients: "当前终端", "Clients now";
    ov_auth_rate: "每分钟认证", "Authentications per minute";
    ov_success: "成功率", "Success rate";
    ov_radius_rate: "RADIUS 请求/秒", "RADIUS requests/s";
    ov_alerts: "未处理告警", "Open alerts";
    ov_top_clients: "终端最多的接入点", "Top APs by clients";
    ov_top_util: "信道利用率最高的接入点", "Top APs by channel utilization";
    ov_chart_clients: "24 小时终端数", "Clients, last 24 hours";
    ov_updated: "更新于", "Updated";
    none: "无", "None";
    search: "搜索", "Search";
    filter: "筛选", "Filter";
    sort: "排序", "Sort by";
    all: "全部", "All";
    name: "名称", "Name";
    status: "状态", "Status";
    address: "地址", "Address";
    building: "楼宇", "Building";
    floor: "楼层", "Floor";
    room: "房间", "Room";
    profile: "厂商配置", "Profile";
    model: "型号", "Model";
    clients: "终端", "Clients";
    last_poll: "最近轮询", "Last poll";
    up: "在线", "Up";
    down: "离线", "Down";
    unknown: "未知", "Unknown";
    previous: "上一页", "Previous";
    next: "下一页", "Next";
    rows_total: "条，共", "rows of";
    page_of: "第", "Page";
    add: "添加", "Add";
    edit: "编辑", "Edit";
    remove: "删除", "Remove";
    save: "保存", "Save";
    cancel: "取消", "Cancel";
    confirm_remove: "确定删除？", "Remove it?";
    radios: "射频", "Radios";
    channel: "信道", "Channel";
    width: "频宽", "Width";
    tx_power: "发射功率", "Tx power";
    noise: "底噪", "Noise";
    utilization: "利用率", "Utilization";
    events: "事件", "Events";
    chart_24h: "24 小时", "24 h";
    chart_7d: "7 天", "7 d";
    chart_30d: "30 天", "30 d";
    detected_profile: "SNMP 识别的厂商配置", "Profile detected by SNMP";
    adopt: "纳管", "Adopt";
    adopt_hint: "留空则用设备自报的名称", "Empty: the name the device reports";
    keep_if_empty: "留空则不变", "Empty: unchanged";
    discovered: "已发现的设备", "Discovered devices";
    community: "SNMP 团体名", "SNMP community";
    user: "用户", "User";
    mac: "MAC 地址", "MAC address";
    ip: "IP 地址", "IP address";
    nas: "NAS", "NAS";
    ap: "接入点", "AP";
    ssid: "SSID", "SSID";
    started: "开始", "Started";
    stopped: "结束", "Stopped";
    duration: "时长", "Duration";
    traffic: "流量", "Traffic";
    open_only: "仅当前在线", "Open only";
    disconnect: "断开", "Disconnect";
    reauthorize: "重新授权 (CoA)", "Re-authorize (CoA)";
    nas_answer: "NAS 应答", "NAS answer";
    session_detail: "会话详情", "Session detail";
    ts_prompt: "输入用户名或 MAC 地址，查看 Portico 掌握的全部相关记录。", "Enter a user name or MAC address to see everything Portico knows around it.";
    ts_user_or_mac: "用户名或 MAC", "User name or MAC";
    ts_hours: "时间范围（小时）", "Hours back";
    ts_what_to_do: "处理建议", "What to do";
    ts_nothing: "此时间范围内没有记录。请确认用户名/MAC，或检查 AP 是否把认证请求发到了本服务器。", "Nothing in this period. Check the name or MAC, or whether the AP sends its requests to this server.";
    time: "时间", "Time";
    kind: "类型", "Kind";
    outcome: "结果", "Outcome";
    reason: "原因", "Reason";
    detail: "详情", "Detail";
    users: "用户", "Users";
    groups: "分组", "Groups";
    devices: "设备", "Devices";
    display_name: "显示名", "Display name";
    enabled: "启用", "Enabled";
    disabled: "停用", "Disabled";
    enable: "启用", "Enable";
    disable: "停用", "Disable";
    valid_until: "有效期至", "Valid until";
    import_csv: "批量导入 CSV", "Import CSV";
    import_hint: "表头 username,password,groups,display_name,valid_until；一行出错则整批不导入，并列出出错的行。", "Header username,password,groups,display_name,valid_until; one bad line imports nothing and the bad lines are named.";
    imported: "已导入", "Imported";
    vlan: "VLAN", "VLAN";
    session_timeout: "会话超时", "Session timeout";
    reply_attributes: "附加应答属性", "Extra reply attributes";
    owner: "所有者", "Owner";
    description: "说明", "Description";
    secret: "共享密钥", "Shared secret";
    rotate_secret: "更换密钥", "Rotate secret";
    new_secret_once: "新密钥（仅显示一次，请立即配置到设备）：", "New secret (shown once; configure it on the device now):";
    blast_title: "BlastRADIUS 防护", "BlastRADIUS protection";
    blast_share: "24 小时内带有效 Message-Authenticator 的请求比例", "Share of Access-Requests with a valid Message-Authenticator, 24 h";
    blast_legacy: "旧设备模式", "Legacy mode";
    blast_last: "最近请求", "Last request";
    blast_banner: "有 NAS 处于旧设备模式（允许无 Message-Authenticator 的请求），易受 BlastRADIUS 攻击。请升级其固件后关闭旧设备模式。", "A NAS is in legacy mode (accepts requests without Message-Authenticator) and open to BlastRADIUS. Upgrade its firmware, then turn legacy mode off.";
    require_ma: "要求 Message-Authenticator", "Require Message-Authenticator";
    coa_port: "CoA 端口", "CoA port";
    alerts: "告警", "Alerts";
    severity: "级别", "Severity";
    message: "信息", "Message";
    raised: "发生", "Raised";
    cleared: "恢复", "Cleared";
    acknowledge: "确认", "Acknowledge";
    acknowledged: "已确认", "Acknowledged";
    maintenance: "维护窗口", "Maintenance windows";
    maintenance_hint: "维护窗口内，所选接入点（留空为全部）的告警不会发出。", "During a window, alerts of the chosen APs (empty: all) are held back.";
    starts: "开始时间", "Starts";
    ends: "结束时间", "Ends";
    aps_list: "接入点（逗号分隔）", "APs (comma-separated)";
    auth_log: "认证日志", "Authentication log";
    accounting: "计费记录", "Accounting";
    export_csv: "导出 CSV", "Export CSV";
    real_name: "实名导出", "Real-name export";
    real_name_hint: "按《网络安全法》留存的网络日志：身份（账号、手机号、访客券、微信 openid）与 MAC、IP、AP、SSID 和时间。导出本身会记入审计。", "The network log the Cybersecurity Law asks for: identity (account, phone, voucher, WeChat openid) with MAC, IP, AP, SSID and times. The export itself is audited.";
    since: "开始日期", "From";
    until: "结束日期", "Until";
    method: "方式", "Method";
    vouchers: "访客券", "Vouchers";
    batch: "批次", "Batch";
    count: "数量", "Count";
    created: "创建", "Created";
    expires: "到期", "Expires";
    print: "打印", "Print";
    create_batch: "生成访客券", "Create vouchers";
    session_length: "上网时长（如 4h）", "Session length (e.g. 4h)";
    valid_for: "有效期（如 7d）", "Valid for (e.g. 7d)";
    group: "分组", "Group";
    admins: "管理员", "Administrators";
    role: "角色", "Role";
    totp: "动态口令", "TOTP";
    last_sign_in: "最近登录", "Last sign-in";
    reset_password: "重置密码", "Reset password";
    reset_totp: "重置动态口令", "Reset TOTP";
    temporary_password: "临时密码（仅显示一次）：", "Temporary password (shown once):";
    tokens: "API 令牌", "API tokens";
    token_once: "令牌（仅显示一次）：", "Token (shown once):";
    revoke: "吊销", "Revoke";
    sessions_live: "当前登录会话", "Signed-in sessions";
    audit: "审计记录", "Audit trail";
    actor: "操作人", "Actor";
    origin: "来源", "Origin";
    action: "操作", "Action";
    target: "对象", "Target";
    summary: "摘要", "Summary";
    verify_chain: "校验完整性", "Verify the chain";
    chain_ok: "审计链完整。", "The audit chain is intact.";
    chain_broken: "审计链被破坏，首个异常记录：", "The audit chain is broken at row:";
    settings: "当前生效配置（密钥已隐藏，只读）", "Effective configuration (secrets masked, read-only)";
    yes: "是", "Yes";
    no: "否", "No";
    saved: "已保存。", "Saved.";
    done: "完成。", "Done.";
    loading: "加载中…", "Loading…";
    api_docs: "API 文档", "API documentation";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn chinese_unless_asked_otherwise() {
        assert_eq!(Lang::from_headers(&headers(&[])), Lang::Zh);
        assert_eq!(
            Lang::from_headers(&headers(&[("accept-language", "en-US,en;q=0.9")])),
            Lang::En
        );
        assert_eq!(
            Lang::from_headers(&headers(&[("accept-language", "zh-CN,en;q=0.5")])),
            Lang::Zh
        );
        assert_eq!(
            Lang::from_headers(&headers(&[("accept-language", "fr, en;q=0.5")])),
            Lang::En
        );
        assert_eq!(
            Lang::from_headers(&headers(&[
                ("accept-language", "en"),
                ("cookie", "a=b; portico_lang=zh")
            ])),
            Lang::Zh
        );
    }

    #[test]
    fn chinese_texts_hold_no_english_sentences() {
        // A Chinese text may name a protocol (RADIUS, SNMP, MAC) but is
        // never an English sentence left untranslated.
        for (zh, en) in [
            (ZH.err_sign_in, EN.err_sign_in),
            (ZH.ts_nothing, EN.ts_nothing),
            (ZH.blast_banner, EN.blast_banner),
        ] {
            assert_ne!(zh, en);
            assert!(
                zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{zh}"
            );
        }
    }
}
