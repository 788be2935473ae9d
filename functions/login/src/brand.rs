//! How the hosted pages look: the operator's name, logo and accent colour (template
//! parameters), on a plain stylesheet.

use shared::platform::config::{ConfigError, Source};

/// The pages' branding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// Shown in every page's header and title.
    pub name: String,
    /// An `https` image shown beside the name.
    pub logo_url: Option<String>,
    /// The accent colour, `#rrggbb`.
    pub accent: String,
}

impl Default for Brand {
    fn default() -> Self {
        Self {
            name: "lambda-auth".to_owned(),
            logo_url: None,
            accent: "#0969da".to_owned(),
        }
    }
}

impl Brand {
    /// Reads `LOGIN_PAGE_NAME` (1–60 characters), `LOGIN_PAGE_LOGO_URL` (an `https` URL, or
    /// empty for none) and `LOGIN_PAGE_COLOR` (`#rrggbb`).
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let default = Self::default();
        let name = source
            .get("LOGIN_PAGE_NAME")
            .filter(|name| !name.is_empty())
            .unwrap_or(default.name);
        if name.chars().count() > 60 || name.chars().any(char::is_control) {
            return Err(ConfigError::Invalid {
                var: "LOGIN_PAGE_NAME",
                reason: "at most 60 characters, none of them control characters".to_owned(),
            });
        }
        let logo_url = source
            .get("LOGIN_PAGE_LOGO_URL")
            .filter(|url| !url.is_empty());
        if let Some(url) = &logo_url {
            let parsed = url::Url::parse(url)
                .ok()
                .filter(|parsed| parsed.scheme() == "https");
            if parsed.is_none() {
                return Err(ConfigError::Invalid {
                    var: "LOGIN_PAGE_LOGO_URL",
                    reason: "an https URL".to_owned(),
                });
            }
        }
        let accent = source
            .get("LOGIN_PAGE_COLOR")
            .filter(|colour| !colour.is_empty())
            .unwrap_or(default.accent);
        let valid = accent.len() == 7
            && accent.starts_with('#')
            && accent[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(ConfigError::Invalid {
                var: "LOGIN_PAGE_COLOR",
                reason: "a colour written #rrggbb".to_owned(),
            });
        }
        Ok(Self {
            name,
            logo_url,
            accent,
        })
    }

    /// The pages' stylesheet in this brand's colour.
    pub fn stylesheet(&self) -> String {
        include_str!("../templates/style.css").replace("ACCENT", &self.accent)
    }
}
