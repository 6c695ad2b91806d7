//! Every domain's models, charts and figures, as the console finds them.

use plaza_kernel::admin::{AdminModel, Chart, Gauge};
use plaza_kernel::domain::Domain;

/// The console's view of the server's domains.
#[derive(Debug)]
pub struct Registry {
    domains: &'static [Domain],
}

impl Registry {
    /// The registry of `domains`.
    pub fn new(domains: &'static [Domain]) -> Self {
        Self { domains }
    }

    /// Each domain with models, and its models, in the server's order.
    pub fn groups(&self) -> impl Iterator<Item = (&'static str, &'static [AdminModel])> {
        self.domains
            .iter()
            .filter(|d| !d.admin.models.is_empty())
            .map(|d| (d.name, d.admin.models))
    }

    /// The model named `name`.
    pub fn model(&self, name: &str) -> Option<&'static AdminModel> {
        self.domains
            .iter()
            .flat_map(|d| d.admin.models.iter())
            .find(|m| m.name == name)
    }

    /// Every domain's charts.
    pub fn charts(&self) -> impl Iterator<Item = &'static Chart> {
        self.domains.iter().flat_map(|d| d.admin.charts.iter())
    }

    /// Every domain's figures "now".
    pub fn gauges(&self) -> impl Iterator<Item = &'static Gauge> {
        self.domains.iter().flat_map(|d| d.admin.gauges.iter())
    }
}
