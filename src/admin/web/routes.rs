//! The route table: every protected page and API route with the
//! permission it needs. The router below and the role matrix test are
//! both generated from it.

use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};
use axum::Router;

use super::{
    api, coverage_views, export, floors, guard, overview, pages, security_headers, signin,
    sso_pages, views,
};
use super::{AdminState, RouteGuard, Surface};
use crate::admin::roles::Permission;

/// One protected route.
#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    /// `get` or `post`.
    pub method: &'static str,
    /// The axum path, `{name}` for parameters.
    pub path: &'static str,
    pub permission: Permission,
    pub surface: Surface,
}

macro_rules! route_table {
    ($( $method:ident $path:literal $perm:ident $surface:ident => $handler:expr ;)*) => {
        /// Every protected route, in the order of the dashboard's menu.
        pub const ROUTES: &[RouteSpec] = &[$(
            RouteSpec {
                method: stringify!($method),
                path: $path,
                permission: Permission::$perm,
                surface: Surface::$surface,
            },
        )*];

        fn protected(state: &AdminState) -> Router<AdminState> {
            let mut r = Router::new();
            $(
                let g = RouteGuard { permission: Permission::$perm, surface: Surface::$surface };
                r = r.route(
                    $path,
                    $method($handler).layer(from_fn_with_state((state.clone(), g), guard)),
                );
            )*
            r
        }
    };
}

route_table! {
    get  "/"                                  Overview       Page => pages::overview;
    get  "/events/overview"                   Overview       Page => overview::events;
    get  "/overview/clients.json"             Overview       Page => overview::clients_chart;
    get  "/aps"                               ReadInventory  Page => pages::aps;
    post "/aps"                               ManageNetwork  Page => pages::ap_add;
    post "/aps/adopt"                         ManageNetwork  Page => pages::ap_adopt;
    get  "/aps/{name}"                        ReadInventory  Page => pages::ap_detail;
    get  "/aps/{name}/chart.json"             ReadInventory  Page => pages::ap_chart;
    post "/aps/{name}/remove"                 ManageNetwork  Page => pages::ap_remove;
    post "/aps/{name}/edit"                   ManageNetwork  Page => pages::ap_edit;
    get  "/sessions"                          ReadSessions   Page => pages::sessions;
    get  "/sessions/{id}"                     ReadSessions   Page => pages::session_detail;
    post "/sessions/{id}/disconnect"          Disconnect     Page => pages::session_disconnect;
    post "/sessions/{id}/coa"                 Disconnect     Page => pages::session_coa;
    get  "/troubleshoot"                      ReadSessions   Page => pages::troubleshoot;
    get  "/users"                             ReadInventory  Page => pages::users;
    post "/users"                             ManageNetwork  Page => pages::user_add;
    post "/users/import"                      ManageNetwork  Page => pages::users_import;
    post "/users/{name}/enable"               ManageNetwork  Page => pages::user_enable;
    post "/users/{name}/disable"              ManageNetwork  Page => pages::user_disable;
    post "/users/edit"                        ManageNetwork  Page => pages::user_edit;
    post "/groups"                            ManageNetwork  Page => pages::group_save;
    post "/groups/{name}/remove"              ManageNetwork  Page => pages::group_remove;
    post "/devices"                           ManageNetwork  Page => pages::device_add;
    post "/devices/{mac}/remove"              ManageNetwork  Page => pages::device_remove;
    get  "/coverage"                          ReadInventory  Page => coverage_views::coverage_home;
    post "/coverage"                          ManageNetwork  Page => coverage_views::floor_add;
    get  "/coverage/{id}"                     ReadInventory  Page => coverage_views::floor_page;
    get  "/coverage/{id}/plan"                ReadInventory  Page => coverage_views::plan_image;
    post "/coverage/{id}/plan"                ManageNetwork  Page => coverage_views::upload_plan;
    get  "/coverage/{id}/heatmap.png"         ReadInventory  Page => coverage_views::heatmap;
    get  "/coverage/{id}/report"              ReadInventory  Page => coverage_views::report;
    get  "/coverage/{id}/channel-plan.csv"    ReadInventory  Page => coverage_views::channel_plan_csv;
    post "/coverage/{id}/place"               ManageNetwork  Page => coverage_views::place;
    post "/coverage/{id}/wall"                ManageNetwork  Page => coverage_views::add_wall;
    post "/coverage/{id}/wall/undo"           ManageNetwork  Page => coverage_views::undo_wall;
    post "/coverage/{id}/area"                ManageNetwork  Page => coverage_views::add_area;
    post "/coverage/{id}/area/undo"           ManageNetwork  Page => coverage_views::undo_area;
    post "/coverage/{id}/points"              ManageNetwork  Page => coverage_views::add_point;
    post "/coverage/{id}/calibrate"           ManageNetwork  Page => coverage_views::calibrate;
    get  "/sso"                               ManageNetwork  Page => sso_pages::sso_home;
    post "/sso/clients"                       ManageNetwork  Page => sso_pages::client_add;
    get  "/sso/clients/{name}"                ManageNetwork  Page => sso_pages::client_edit;
    post "/sso/clients/{name}"                ManageNetwork  Page => sso_pages::client_save;
    post "/sso/clients/{name}/rotate-secret"  ManageNetwork  Page => sso_pages::client_rotate_secret;
    post "/sso/clients/{name}/remove"         ManageNetwork  Page => sso_pages::client_remove;
    post "/sso/rotate-keys"                   ManageNetwork  Page => sso_pages::rotate;
    post "/sso/bindings/{kind}/{id}/remove"   ManageNetwork  Page => sso_pages::binding_remove;
    get  "/nas"                               ReadInventory  Page => pages::nas;
    post "/nas"                               ManageNetwork  Page => pages::nas_add;
    post "/nas/{name}/rotate"                 ManageNetwork  Page => pages::nas_rotate;
    post "/nas/edit"                          ManageNetwork  Page => pages::nas_edit;
    get  "/alerts"                            ReadAlerts     Page => pages::alerts;
    post "/alerts/{id}/ack"                   ManageAlerts   Page => pages::alert_ack;
    post "/maintenance"                       ManageAlerts   Page => pages::maintenance_add;
    post "/maintenance/{id}/remove"           ManageAlerts   Page => pages::maintenance_remove;
    get  "/logs"                              ReadLogs       Page => pages::logs;
    get  "/logs/auth-log.csv"                 ReadLogs       Page => export::auth_log_csv;
    get  "/logs/real-name.csv"                ExportRealName Page => export::real_name_csv;
    get  "/sessions.csv"                      ReadLogs       Page => export::sessions_csv;
    get  "/vouchers"                          CreateVouchers Page => pages::vouchers;
    post "/vouchers"                          CreateVouchers Page => pages::voucher_create;
    get  "/vouchers/{id}/print"               CreateVouchers Page => pages::voucher_print;
    get  "/admins"                            ManageAdmins   Page => pages::admins;
    post "/admins"                            ManageAdmins   Page => pages::admin_add;
    post "/admins/{name}/reset-password"      ManageAdmins   Page => pages::admin_reset_password;
    post "/admins/{name}/reset-totp"          ManageAdmins   Page => pages::admin_reset_totp;
    post "/admins/{name}/role"                ManageAdmins   Page => pages::admin_set_role;
    post "/admins/{name}/enable"              ManageAdmins   Page => pages::admin_enable;
    post "/admins/{name}/disable"             ManageAdmins   Page => pages::admin_disable;
    post "/admins/{name}/tokens/{token}/revoke" ManageAdmins Page => pages::admin_token_revoke;
    get  "/audit"                             ReadAudit      Page => pages::audit;
    get  "/audit.csv"                         ReadAudit      Page => export::audit_csv;
    get  "/settings"                          ReadSettings   Page => pages::settings;
    get  "/account"                           Overview       Page => pages::account;
    post "/account/tokens"                    Overview       Page => pages::account_token_create;
    post "/account/tokens/{token}/revoke"     Overview       Page => pages::account_token_revoke;

    get  "/api/v1/overview"                   Overview       Api => api::overview;
    get  "/api/v1/aps"                        ReadInventory  Api => api::aps;
    get  "/api/v1/aps/{name}"                 ReadInventory  Api => api::ap;
    get  "/api/v1/sessions"                   ReadSessions   Api => api::sessions;
    post "/api/v1/sessions/{id}/disconnect"   Disconnect     Api => api::disconnect;
    get  "/api/v1/users"                      ReadInventory  Api => api::users;
    post "/api/v1/users"                      ManageNetwork  Api => api::user_add;
    get  "/api/v1/nas"                        ReadInventory  Api => api::nas;
    post "/api/v1/nas"                        ManageNetwork  Api => api::nas_add;
    get  "/api/v1/auth-log"                   ReadLogs       Api => api::auth_log;
    get  "/api/v1/alerts"                     ReadAlerts     Api => api::alerts;
    post "/api/v1/alerts/{id}/ack"            ManageAlerts   Api => api::alert_ack;
    get  "/api/v1/audit"                      ReadAudit      Api => api::audit;
    get  "/api/v1/troubleshoot"               ReadSessions   Api => api::troubleshoot;
    get  "/api/v1/floors"                     ReadInventory  Api => floors::floors;
    post "/api/v1/floors"                     ManageNetwork  Api => floors::floor_add;
    get  "/api/v1/floors/{id}"                ReadInventory  Api => floors::floor;
    put  "/api/v1/floors/{id}/walls"          ManageNetwork  Api => floors::floor_walls;
    put  "/api/v1/floors/{id}/areas"          ManageNetwork  Api => floors::floor_areas;
    get  "/api/v1/floors/{id}/plan"           ReadInventory  Api => floors::floor_plan;
    put  "/api/v1/floors/{id}/plan"           ManageNetwork  Api => floors::floor_plan_put;
    put  "/api/v1/aps/{name}/placement"       ManageNetwork  Api => floors::ap_placement;
    put  "/api/v1/buildings/{name}/materials" ManageNetwork  Api => floors::building_materials;
    get  "/api/v1/floors/{id}/coverage"       ReadInventory  Api => floors::floor_coverage;
    get  "/api/v1/floors/{id}/coverage.png"   ReadInventory  Api => floors::floor_coverage_png;
    get  "/api/v1/floors/{id}/kpi"            ReadInventory  Api => floors::floor_kpi;
    get  "/api/v1/floors/{id}/channel-plan"   ReadInventory  Api => floors::floor_channel_plan;
    post "/api/v1/floors/{id}/points"         ManageNetwork  Api => floors::floor_point;
    post "/api/v1/floors/{id}/calibrate"      ManageNetwork  Api => floors::floor_calibrate;
}

/// The dashboard and API router for the management listener.
pub fn router(state: AdminState) -> Router {
    let public = Router::new()
        .route("/login", get(signin::login_page).post(signin::login))
        .route("/login/totp", get(signin::totp_page).post(signin::totp))
        .route("/login/setup", get(signin::setup_page).post(signin::setup))
        .route("/logout", post(signin::logout))
        .route("/lang/{code}", get(signin::switch_language))
        .route("/static/{*file}", get(views::asset))
        .route("/api/v1/openapi.json", get(api::openapi_json))
        .route("/api/docs", get(views::swagger_page))
        // Sign-in forms are small: no megabytes before anyone signed in.
        .layer(axum::extract::DefaultBodyLimit::max(16 * 1024));
    protected(&state)
        .merge(public)
        .fallback(pages::not_found)
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(super::MAX_BODY))
        .layer(axum::middleware::from_fn(security_headers))
}
