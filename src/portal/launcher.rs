//! The app launcher's tiles: those the signed-in person's groups may see.

use super::i18n::Lang;
use super::pages::TileView;
use crate::config::portal::LauncherTile;

/// Tiles with no groups are for everyone; others need one shared group.
/// A tile naming an OpenID Connect client links to its login initiation
/// with the issuer (when a provider runs).
pub fn visible_tiles(
    tiles: &[LauncherTile],
    groups: &[String],
    lang: Lang,
    issuer: Option<&str>,
) -> Vec<TileView> {
    tiles
        .iter()
        .filter(|t| t.groups.is_empty() || t.groups.iter().any(|g| groups.contains(g)))
        .map(|t| TileView {
            name: match lang {
                Lang::En if !t.name_en.is_empty() => t.name_en.clone(),
                _ => t.name.clone(),
            },
            icon: if t.icon.is_empty() {
                "▦".into()
            } else {
                t.icon.clone()
            },
            url: match (&t.client, issuer) {
                (Some(_), Some(iss)) => crate::sso::authorize::redirect_with(
                    &t.url,
                    &[("iss", Some(iss)), ("target_link_uri", Some(&t.url))],
                ),
                _ => t.url.clone(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(name: &str, groups: &[&str]) -> LauncherTile {
        LauncherTile {
            name: name.into(),
            name_en: format!("{name}-en"),
            icon: String::new(),
            url: "https://x/".into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            client: None,
        }
    }

    #[test]
    fn filters_by_group() {
        let tiles = [
            tile("会议", &[]),
            tile("立法", &["drafting"]),
            tile("代表", &["deputies"]),
        ];
        let staff = visible_tiles(&tiles, &["drafting".into()], Lang::Zh, None);
        let names: Vec<_> = staff.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["会议", "立法"]);
        let guest = visible_tiles(&tiles, &[], Lang::En, None);
        assert_eq!(guest.len(), 1);
        assert_eq!(guest[0].name, "会议-en");
        // A tile naming a client starts the app's login at Portico.
        let mut meeting = tile("会议", &[]);
        meeting.url = "https://meet.example.cn/login".into();
        meeting.client = Some("meeting".into());
        let v = visible_tiles(
            &[meeting],
            &[],
            Lang::Zh,
            Some("https://wifi.example.cn/oidc"),
        );
        assert_eq!(
            v[0].url,
            "https://meet.example.cn/login?iss=https%3A%2F%2Fwifi.example.cn%2Foidc&target_link_uri=https%3A%2F%2Fmeet.example.cn%2Flogin"
        );
    }
}
