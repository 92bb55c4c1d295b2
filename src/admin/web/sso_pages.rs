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
use crate::store::oidc::OidcClient;

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
                Cell::link(&cl.name, format!("/sso/clients/{}", cl.name)),
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
            if !cl.public {
                row.actions.push(RowAction::danger(
                    t.sso_rotate_secret,
                    format!("/sso/clients/{}/rotate-secret", cl.name),
                    t.sso_rotate_secret_confirm,
                ));
            }
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
        client_fields(t, None),
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

/// The fields of a client's form: empty for a new one (with its name and
/// type), else the client's settings.
fn client_fields(t: &'static super::i18n::Texts, cl: Option<&OidcClient>) -> Vec<Field> {
    let lines = |v: Option<&Vec<String>>| v.map(|v| v.join("\n")).unwrap_or_default();
    let flag = |on: Option<bool>| if on == Some(true) { "1" } else { "" };
    let mut fields = Vec::new();
    if cl.is_none() {
        fields.push(Field::new("text", "name", t.name, "").required());
    }
    fields.push(
        Field::new(
            "textarea",
            "redirect_uris",
            t.sso_redirect_uris,
            &lines(cl.map(|c| &c.redirect_uris)),
        )
        .required()
        .hint(t.sso_redirect_hint),
    );
    fields.push(Field::new(
        "text",
        "scopes",
        t.sso_scopes,
        &cl.map(|c| c.scopes.join(" "))
            .unwrap_or_else(|| "openid profile".into()),
    ));
    if cl.is_none() {
        fields.push(Field::new("checkbox", "public", t.sso_public, ""));
    }
    fields.extend([
        Field::new(
            "checkbox",
            "require_2fa",
            t.sso_require_2fa,
            flag(cl.map(|c| c.require_2fa)),
        ),
        Field::new(
            "checkbox",
            "allow_portal_session",
            t.sso_portal_session,
            flag(cl.map(|c| c.allow_portal_session)),
        ),
        Field::new(
            "textarea",
            "post_logout_redirect_uris",
            t.sso_post_logout,
            &lines(cl.map(|c| &c.post_logout_redirect_uris)),
        )
        .hint(t.sso_redirect_hint),
        Field::new(
            "text",
            "backchannel_logout_uri",
            t.sso_backchannel_logout,
            cl.and_then(|c| c.backchannel_logout_uri.as_deref())
                .unwrap_or(""),
        )
        .hint(t.sso_backchannel_hint),
        Field::select(
            "id_token_alg",
            t.sso_id_token_alg,
            cl.map(|c| c.id_token_alg.as_str()).unwrap_or("ES256"),
            sso::ALGORITHMS
                .iter()
                .map(|a| (a.to_string(), a.to_string()))
                .collect(),
        ),
    ]);
    fields
}

/// A client's form as posted (name and type only when adding).
#[derive(Deserialize)]
pub struct ClientForm {
    #[serde(default)]
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
    let notice = match sso::add_client(&state.store, &f.spec()).await {
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

/// The client's settings as a form (`GET /sso/clients/{name}`).
pub async fn client_edit(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> PageResult {
    client_edit_page(&state, &c, &name, Vec::new()).await
}

async fn client_edit_page(
    state: &AdminState,
    c: &Caller,
    name: &str,
    mut sections: Vec<Section>,
) -> PageResult {
    let t = c.lang.texts();
    let Some(cl) = state
        .store
        .oidc()
        .client(name)
        .await
        .map_err(|e| PageError(e.into(), c.lang))?
    else {
        return Err(PageError(
            WebError::NotFound(format!("client {name}")),
            c.lang,
        ));
    };
    sections.push(Section::Form(FormView::post(
        "sso-edit",
        &format!("{}: {}", t.sso_edit_client, cl.name),
        &format!("/sso/clients/{}", cl.name),
        client_fields(t, Some(&cl)),
        t.save,
    )));
    Ok(page(c, sections))
}

impl ClientForm {
    fn spec(&self) -> ClientSpec {
        let words = |v: &str| v.split_whitespace().map(str::to_string).collect();
        let bcl = self.backchannel_logout_uri.trim();
        ClientSpec {
            name: self.name.trim().to_string(),
            redirect_uris: words(&self.redirect_uris),
            public: self.public.is_some(),
            scopes: words(&self.scopes),
            require_2fa: self.require_2fa.is_some(),
            allow_portal_session: self.allow_portal_session.is_some(),
            post_logout_redirect_uris: words(&self.post_logout_redirect_uris),
            id_token_alg: self.id_token_alg.clone(),
            backchannel_logout_uri: (!bcl.is_empty()).then(|| bcl.to_string()),
            secret: None,
        }
    }
}

/// Saves the form (`POST /sso/clients/{name}`): every setting as shown.
pub async fn client_save(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
    Form(f): Form<ClientForm>,
) -> PageResult {
    let t = c.lang.texts();
    let spec = f.spec();
    let change = sso::ClientChange {
        redirect_uris: Some(spec.redirect_uris),
        post_logout_redirect_uris: Some(spec.post_logout_redirect_uris),
        scopes: Some(spec.scopes),
        require_2fa: Some(spec.require_2fa),
        allow_portal_session: Some(spec.allow_portal_session),
        id_token_alg: Some(spec.id_token_alg),
        backchannel_logout_uri: Some(spec.backchannel_logout_uri),
    };
    let before = state
        .store
        .oidc()
        .client(&name)
        .await
        .map_err(|e| PageError(e.into(), c.lang))?;
    let notice = match sso::change_client(&state.store, &name, &change).await {
        Ok((client, revoked)) => {
            audit(
                &state,
                &c,
                "oidc.client.set",
                &client.name,
                json!({"before": before, "after": client, "tokens_revoked": revoked}),
            )
            .await
            .map_err(|e| PageError(e, c.lang))?;
            Section::notice(t.saved)
        }
        Err(e) => {
            let e = WebError::from(e);
            let shown = [
                axum::http::StatusCode::BAD_REQUEST,
                axum::http::StatusCode::CONFLICT,
            ];
            if !shown.contains(&e.status()) {
                return Err(PageError(e, c.lang));
            }
            Section::error(format!("{}{e}", t.err_input))
        }
    };
    client_edit_page(&state, &c, &name, vec![notice]).await
}

/// A confidential client's new secret, shown once.
pub async fn client_rotate_secret(
    State(state): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(name): Path<String>,
) -> PageResult {
    let t = c.lang.texts();
    let (secret, revoked) = sso::rotate_secret(&state.store, &name)
        .await
        .map_err(|e| PageError(e.into(), c.lang))?;
    audit(
        &state,
        &c,
        "oidc.client.rotate-secret",
        &name,
        json!({"tokens_revoked": revoked}),
    )
    .await
    .map_err(|e| PageError(e, c.lang))?;
    sso_page(
        &state,
        &c,
        vec![Section::Secret {
            label: format!("{} ({name})", t.new_secret_once),
            value: secret,
        }],
    )
    .await
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
