//! The OpenID Connect provider in the dashboard (issue 15): the issuer,
//! its published keys, the apps registered as clients (added and removed
//! here as with `portico oidc client`), and the staff's WeChat and WeCom
//! bindings (removed here as with `portico wechat unlink`); every change
//! audited.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use serde_json::json;

use super::floors::audit;
use super::views::{
    Cell, Field, Form as FormView, Frame, PageView, Row, RowAction, Section, Table,
};
use super::{AdminState, Caller, PageError, WebError};
use crate::sso::{self, ClientSpec, SsoError};

type PageResult = Result<Response, PageError>;

impl From<SsoError> for WebError {
    fn from(e: SsoError) -> Self {
        match e {
            SsoError::Store(s) => s.into(),
            SsoError::Invalid(m) => WebError::BadRequest(m),
            SsoError::Jwt(j) => WebError::Internal(j.to_string()),
        }
    }
}

fn page(c: &Caller, sections: Vec<Section>) -> Response {
    let t = c.lang.texts();
    PageView::new(Frame::signed_in(c, t.nav_sso, "/sso"), sections).into_response()
}

async fn sso_page(state: &AdminState, c: &Caller, mut sections: Vec<Section>) -> PageResult {
    let t = c.lang.texts();
    let err = |e: WebError| PageError(e, c.lang);
    let issuer = state
        .config
        .sso
        .issuer_of(state.config.portal.public_url.as_deref());
    let keys = state
        .store
        .oidc()
        .keys(0)
        .await
        .map_err(|e| err(e.into()))?;
    let pending = state
        .store
        .oidc()
        .pending_logout_notices()
        .await
        .map_err(|e| err(e.into()))?;
    sections.push(Section::Pairs {
        title: t.sso_provider.into(),
        rows: vec![
            (
                t.sso_issuer.into(),
                issuer.clone().unwrap_or_else(|| t.sso_no_issuer.into()),
            ),
            (
                t.sso_discovery.into(),
                issuer
                    .map(|i| format!("{i}/.well-known/openid-configuration"))
                    .unwrap_or_else(|| "-".into()),
            ),
            (
                t.sso_keys.into(),
                keys.iter()
                    .map(|k| {
                        if k.retired_at.is_some() {
                            format!("{} ({})", k.kid, t.sso_retired)
                        } else {
                            k.kid.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            (t.sso_logout_pending.into(), pending.to_string()),
        ],
    });
    let rows: Vec<Row> = state
        .store
        .oidc()
        .clients()
        .await
        .map_err(|e| err(e.into()))?
        .into_iter()
        .map(|cl| {
            let mut row = Row::new(vec![
                Cell::text(&cl.name),
                Cell::text(if cl.public {
                    t.sso_public
                } else {
                    t.sso_confidential
                }),
                Cell::text(cl.scopes.join(" ")),
                Cell::text(if cl.require_2fa { t.yes } else { t.no }),
                Cell::text(if cl.allow_portal_session { t.yes } else { t.no }),
                Cell::text(&cl.id_token_alg),
                Cell::text(cl.redirect_uris.join(" ")),
                Cell::text(cl.backchannel_logout_uri.as_deref().unwrap_or("-")),
            ]);
            row.actions.push(RowAction::danger(
                t.remove,
                format!("/sso/clients/{}/remove", cl.name),
                t.remove,
            ));
            row
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "sso-clients",
        t.sso_clients,
        &[
            t.name,
            t.sso_type,
            t.sso_scopes,
            t.sso_require_2fa,
            t.sso_portal_session,
            t.sso_id_token_alg,
            t.sso_redirect_uris,
            t.sso_backchannel_logout,
        ],
        rows,
        t.none,
    )));
    let bindings: Vec<Row> = state
        .store
        .wechat_links()
        .all()
        .await
        .map_err(|e| err(e.into()))?
        .into_iter()
        .map(|(kind, id, username, at)| {
            let mut row = Row::new(vec![
                Cell::text(&username),
                Cell::text(&kind),
                Cell::text(&id),
                Cell::text(
                    chrono::DateTime::from_timestamp_millis(at)
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default(),
                ),
            ]);
            row.actions.push(RowAction::danger(
                t.remove,
                format!(
                    "/sso/bindings/{kind}/{}/remove",
                    form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
                ),
                t.remove,
            ));
            row
        })
        .collect();
    sections.push(Section::Table(Table::new(
        "sso-bindings",
        t.sso_bindings,
        &[
            t.username,
            t.sso_binding_kind,
            t.sso_binding_id,
            t.sso_binding_at,
        ],
        bindings,
        t.none,
    )));
    sections.push(Section::Form(FormView::post(
        "sso-add",
        t.sso_add_client,
        "/sso/clients",
        vec![
            Field::new("text", "name", t.name, "").required(),
            Field::new("textarea", "redirect_uris", t.sso_redirect_uris, "")
                .required()
                .hint(t.sso_redirect_hint),
            Field::new("text", "scopes", t.sso_scopes, "openid profile"),
            Field::new("checkbox", "public", t.sso_public, ""),
            Field::new("checkbox", "require_2fa", t.sso_require_2fa, ""),
            Field::new("checkbox", "allow_portal_session", t.sso_portal_session, ""),
            Field::new(
                "textarea",
                "post_logout_redirect_uris",
                t.sso_post_logout,
                "",
            )
            .hint(t.sso_redirect_hint),
            Field::new(
                "text",
                "backchannel_logout_uri",
                t.sso_backchannel_logout,
                "",
            )
            .hint(t.sso_backchannel_hint),
            Field::select(
                "id_token_alg",
                t.sso_id_token_alg,
                "ES256",
                sso::ALGORITHMS
                    .iter()
                    .map(|a| (a.to_string(), a.to_string()))
                    .collect(),
            ),
        ],
        t.sso_add_client,
    )));
    sections.push(Section::Form(FormView::post(
        "sso-rotate",
        "",
        "/sso/rotate-keys",
        Vec::new(),
        t.sso_rotate,
    )));
    Ok(page(c, sections))
}

pub async fn sso_home(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
) -> PageResult {
    sso_page(&state, &c, Vec::new()).await
}

#[derive(Deserialize)]
pub struct ClientForm {
    name: String,
    redirect_uris: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    public: Option<String>,
    #[serde(default)]
    require_2fa: Option<String>,
    #[serde(default)]
    allow_portal_session: Option<String>,
    #[serde(default)]
    post_logout_redirect_uris: String,
    #[serde(default)]
    id_token_alg: String,
    #[serde(default)]
    backchannel_logout_uri: String,
}

pub async fn client_add(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Form(f): Form<ClientForm>,
) -> PageResult {
    let t = c.lang.texts();
    let spec = ClientSpec {
        name: f.name.trim().to_string(),
        redirect_uris: f
            .redirect_uris
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        public: f.public.is_some(),
        scopes: f.scopes.split_whitespace().map(str::to_string).collect(),
        require_2fa: f.require_2fa.is_some(),
        allow_portal_session: f.allow_portal_session.is_some(),
        post_logout_redirect_uris: f
            .post_logout_redirect_uris
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        id_token_alg: f.id_token_alg.clone(),
        backchannel_logout_uri: Some(f.backchannel_logout_uri.clone()),
        secret: None,
    };
    let notice = match sso::add_client(&state.store, &spec).await {
        Ok((client, secret)) => {
            audit(
                &state,
                &c,
                "oidc.client.add",
                &client.name,
                json!({"redirect_uris": client.redirect_uris, "scopes": client.scopes, "public": client.public,
                    "backchannel_logout_uri": client.backchannel_logout_uri}),
            )
            .await
            .map_err(|e| PageError(e, c.lang))?;
            match secret {
                Some(secret) => Section::Secret {
                    label: t.new_secret_once.into(),
                    value: secret,
                },
                None => Section::notice(format!("{}: {}", t.sso_add_client, client.name)),
            }
        }
        Err(e) => {
            let e = WebError::from(e);
            if e.status() == axum::http::StatusCode::INTERNAL_SERVER_ERROR {
                return Err(PageError(e, c.lang));
            }
            Section::error(format!("{}{e}", t.err_input))
        }
    };
    sso_page(&state, &c, vec![notice]).await
}

pub async fn client_remove(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> PageResult {
    let t = c.lang.texts();
    let removed = state
        .store
        .oidc()
        .remove_client(&name)
        .await
        .map_err(|e| PageError(e.into(), c.lang))?;
    let notice = if removed {
        audit(&state, &c, "oidc.client.remove", &name, json!({}))
            .await
            .map_err(|e| PageError(e, c.lang))?;
        Section::notice(format!("{}: {name}", t.remove))
    } else {
        Section::error(format!("{}{name}", t.err_input))
    };
    sso_page(&state, &c, vec![notice]).await
}

pub async fn rotate(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
) -> PageResult {
    let t = c.lang.texts();
    let kid = sso::rotate_keys(&state.store, crate::clock::now_ms())
        .await
        .map_err(|e| PageError(e.into(), c.lang))?
        .join(" ");
    audit(&state, &c, "oidc.rotate-keys", &kid, json!({}))
        .await
        .map_err(|e| PageError(e, c.lang))?;
    sso_page(
        &state,
        &c,
        vec![Section::notice(format!("{}: {kid}", t.sso_rotate))],
    )
    .await
}

pub async fn binding_remove(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path((kind, id)): Path<(String, String)>,
) -> PageResult {
    let t = c.lang.texts();
    let removed = state
        .store
        .wechat_links()
        .unlink(&kind, &id)
        .await
        .map_err(|e| PageError(e.into(), c.lang))?;
    let notice = if removed {
        audit(&state, &c, &format!("{kind}.unlink"), &id, json!({}))
            .await
            .map_err(|e| PageError(e, c.lang))?;
        Section::notice(format!("{}: {kind} {id}", t.remove))
    } else {
        Section::error(format!("{}{id}", t.err_input))
    };
    sso_page(&state, &c, vec![notice]).await
}
