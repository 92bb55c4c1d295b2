//! The app launcher's tiles: those the signed-in person's groups may see.

use super::i18n::Lang;
use super::pages::TileView;
use crate::config::portal::LauncherTile;

/// Tiles with no groups are for everyone; others need one shared group.
pub fn visible_tiles(tiles: &[LauncherTile], groups: &[String], lang: Lang) -> Vec<TileView> {
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
            url: t.url.clone(),
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
        }
    }

    #[test]
    fn filters_by_group() {
        let tiles = [
            tile("会议", &[]),
            tile("立法", &["drafting"]),
            tile("代表", &["deputies"]),
        ];
        let staff = visible_tiles(&tiles, &["drafting".into()], Lang::Zh);
        let names: Vec<_> = staff.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["会议", "立法"]);
        let guest = visible_tiles(&tiles, &[], Lang::En);
        assert_eq!(guest.len(), 1);
        assert_eq!(guest[0].name, "会议-en");
    }
}
