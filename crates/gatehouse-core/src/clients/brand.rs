//! What an app's sign-in, sign-up, consent and device pages show about it (SPEC §5.4): its name,
//! the project it belongs to, its logo, and links to its privacy policy and terms.

use super::ClientSettings;
use super::uri::logo_origin;

/// An app as its pages present it. Every value is the client's own text: pages escape it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppBrand {
    pub name: String,
    /// The name of the project the client belongs to.
    pub project: String,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
}

impl AppBrand {
    /// The brand of a client with `settings` in the project named `project`.
    pub fn new(settings: &ClientSettings, project: String) -> Self {
        Self {
            name: settings.name.clone(),
            project,
            logo_uri: settings.logo_uri.clone(),
            policy_uri: settings.policy_uri.clone(),
            tos_uri: settings.tos_uri.clone(),
        }
    }

    /// The origin a page showing the logo adds to its CSP `img-src`: exactly the logo's, and
    /// only when there is a logo.
    pub fn logo_origin(&self) -> Option<String> {
        self.logo_uri.as_deref().and_then(|u| logo_origin("logo_uri", u).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_logo_brings_an_image_origin() {
        let mut settings = ClientSettings::defaults("App".into(), true);
        assert_eq!(AppBrand::new(&settings, "P".into()).logo_origin(), None);
        settings.logo_uri = Some("https://cdn.example.com:8443/img/logo.png".into());
        let brand = AppBrand::new(&settings, "P".into());
        assert_eq!(brand.logo_origin().as_deref(), Some("https://cdn.example.com:8443"));
        assert_eq!((brand.name.as_str(), brand.project.as_str()), ("App", "P"));
    }
}
