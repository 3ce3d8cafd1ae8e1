//! A readiness reason: the part `/readyz` shows to anyone and the part only the log gets.

/// Why a component is not ready. `public` is what `/readyz` answers; `detail` (an error's
/// text) is logged when it changes and otherwise kept out of every answer and `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Reason {
    public: String,
    detail: Option<String>,
}

impl Reason {
    /// A reason the node composed itself, fit to be shown as is.
    pub(crate) fn public(public: String) -> Self {
        Self { public, detail: None }
    }

    pub(crate) fn with_detail(public: String, detail: String) -> Self {
        Self {
            public,
            detail: Some(detail),
        }
    }

    pub(crate) fn public_text(&self) -> &str {
        &self.public
    }

    /// The operator's view: the public reason with its detail.
    pub(crate) fn log(&self, component: &str) {
        match &self.detail {
            Some(detail) => tracing::warn!(component, reason = %self.public, detail = %detail, "not ready"),
            None => tracing::warn!(component, reason = %self.public, "not ready"),
        }
    }
}

impl std::fmt::Debug for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The detail may hold a URL with credentials: Debug shows only that there is one.
        f.debug_struct("Reason")
            .field("public", &self.public)
            .field("detail", &self.detail.as_ref().map(|_| "<in the log>"))
            .finish()
    }
}
