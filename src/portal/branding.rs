//! Branding the admin replaces without recompiling: `branding.toml` (colours,
//! logo file, texts per language) in the configured directory, re-read
//! within seconds of a change. A missing or broken file falls back to the
//! built-in look (a broken one is logged).
//!
//! ```toml
//! primary_color = "#b71c1c"
//! background_color = "#f7f7f7"
//! text_color = "#1a1a1a"
//! logo = "logo.svg"            # png, jpg or svg next to this file
//! [texts.zh]
//! site_name = "市人大无线网络"
//! [texts.en]
//! site_name = "People's Congress Wi-Fi"
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

use super::i18n::{Lang, TextOverrides, Texts};

pub const BRANDING_FILE: &str = "branding.toml";
/// Largest logo served (pages must stay small for sign-in windows).
pub const MAX_LOGO_BYTES: u64 = 256 * 1024;
const RECHECK: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct Branding {
    pub primary_color: String,
    pub background_color: String,
    pub text_color: String,
    pub logo: Option<Logo>,
    pub zh: Texts,
    pub en: Texts,
}

#[derive(Debug, Clone)]
pub struct Logo {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

impl Branding {
    pub fn builtin() -> Branding {
        Branding {
            primary_color: "#b71c1c".into(),
            background_color: "#f7f7f7".into(),
            text_color: "#1a1a1a".into(),
            logo: None,
            zh: Texts::builtin(Lang::Zh),
            en: Texts::builtin(Lang::En),
        }
    }

    pub fn texts(&self, lang: Lang) -> &Texts {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }

    /// Loads `dir/branding.toml`; Ok(None) when it does not exist.
    pub fn load(dir: &Path) -> Result<Option<Branding>, String> {
        let path = dir.join(BRANDING_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let raw: RawBranding =
            toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
        let mut b = Branding::builtin();
        for (slot, value, key) in [
            (&mut b.primary_color, raw.primary_color, "primary_color"),
            (
                &mut b.background_color,
                raw.background_color,
                "background_color",
            ),
            (&mut b.text_color, raw.text_color, "text_color"),
        ] {
            if let Some(v) = value {
                if !is_colour(&v) {
                    return Err(format!(
                        "{}: {key} {v:?} is not a colour like #1a2b3c",
                        path.display()
                    ));
                }
                *slot = v;
            }
        }
        if let Some(logo) = raw.logo {
            b.logo = Some(load_logo(dir, &logo)?);
        }
        b.zh = b.zh.with(&raw.texts.zh);
        b.en = b.en.with(&raw.texts.en);
        Ok(Some(b))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBranding {
    primary_color: Option<String>,
    background_color: Option<String>,
    text_color: Option<String>,
    logo: Option<String>,
    #[serde(default)]
    texts: RawTexts,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTexts {
    #[serde(default)]
    zh: TextOverrides,
    #[serde(default)]
    en: TextOverrides,
}

fn is_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn load_logo(dir: &Path, name: &str) -> Result<Logo, String> {
    // The logo lives in the branding directory: no path traversal.
    if name.contains('/') || name.contains('\\') || name.starts_with('.') {
        return Err(format!(
            "logo {name:?} must be a file name in {}",
            dir.display()
        ));
    }
    let content_type = match Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        _ => return Err(format!("logo {name:?}: use a .png, .jpg or .svg file")),
    };
    let path = dir.join(name);
    let meta = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_LOGO_BYTES {
        return Err(format!(
            "{}: larger than {} KiB (sign-in windows load slowly)",
            path.display(),
            MAX_LOGO_BYTES / 1024
        ));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Logo {
        bytes,
        content_type,
    })
}

struct Cached {
    checked: Instant,
    stamp: Option<SystemTime>,
    branding: Arc<Branding>,
}

/// The branding directory, re-read when its file changes.
pub struct BrandingSource {
    dir: PathBuf,
    cached: RwLock<Cached>,
}

fn stamp(dir: &Path) -> Option<SystemTime> {
    std::fs::metadata(dir.join(BRANDING_FILE))
        .and_then(|m| m.modified())
        .ok()
}

fn load_or_builtin(dir: &Path) -> Arc<Branding> {
    match Branding::load(dir) {
        Ok(Some(b)) => Arc::new(b),
        Ok(None) => Arc::new(Branding::builtin()),
        Err(e) => {
            tracing::warn!(error = %e, "branding not loaded; using the built-in look");
            Arc::new(Branding::builtin())
        }
    }
}

impl BrandingSource {
    pub fn new(dir: PathBuf) -> Self {
        let branding = load_or_builtin(&dir);
        BrandingSource {
            cached: RwLock::new(Cached {
                checked: Instant::now(),
                stamp: stamp(&dir),
                branding,
            }),
            dir,
        }
    }

    pub fn get(&self) -> Arc<Branding> {
        if let Ok(c) = self.cached.read() {
            if c.checked.elapsed() < RECHECK {
                return c.branding.clone();
            }
        }
        let Ok(mut c) = self.cached.write() else {
            return Arc::new(Branding::builtin());
        };
        if c.checked.elapsed() >= RECHECK {
            c.checked = Instant::now();
            let now = stamp(&self.dir);
            if now != c.stamp {
                c.stamp = now;
                c.branding = load_or_builtin(&self.dir);
                tracing::info!(dir = %self.dir.display(), "branding reloaded");
            }
        }
        c.branding.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_colours_logo_and_texts() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Branding::load(dir.path()).unwrap().is_none());
        std::fs::write(dir.path().join("logo.svg"), "<svg/>").unwrap();
        std::fs::write(
            dir.path().join(BRANDING_FILE),
            "primary_color = \"#003366\"\nlogo = \"logo.svg\"\n[texts.zh]\nsite_name = \"人大无线\"\n[texts.en]\nsite_name = \"Congress Wi-Fi\"\n",
        )
        .unwrap();
        let b = Branding::load(dir.path()).unwrap().unwrap();
        assert_eq!(b.primary_color, "#003366");
        assert_eq!(b.zh.site_name, "人大无线");
        assert_eq!(b.en.site_name, "Congress Wi-Fi");
        assert_eq!(b.logo.unwrap().content_type, "image/svg+xml");
    }

    #[test]
    fn refuses_bad_values() {
        let dir = tempfile::tempdir().unwrap();
        for text in [
            "primary_color = \"red; x\"\n",
            "logo = \"../etc/passwd.png\"\n",
            "logo = \"logo.gif\"\n",
            "colour = 1\n",
        ] {
            std::fs::write(dir.path().join(BRANDING_FILE), text).unwrap();
            assert!(Branding::load(dir.path()).is_err(), "{text}");
        }
    }
}
