//! Collector `frameworks`: the schema-history tables of migration tools.
//! (Being written: see the module's tests in tests/frameworks.rs.)

use super::{CollectFuture, Collector, Ctx, Lane, Output, Scope, Spec};

pub const NAME: &str = "frameworks";

pub const SPEC: Spec = Spec {
    name: NAME,
    lane: Lane::Slow,
    scope: Scope::Database,
    schedule: |s| s.collectors.frameworks.schedule,
    build: |s| {
        Box::new(Frameworks {
            custom: s.collectors.frameworks.custom.clone(),
        })
    },
};

struct Frameworks {
    #[allow(dead_code)]
    custom: Vec<crate::config::CustomFrameworkTable>,
}

impl Collector for Frameworks {
    fn name(&self) -> &'static str {
        NAME
    }

    fn collect<'a>(&'a mut self, _ctx: &'a Ctx<'a>) -> CollectFuture<'a> {
        Box::pin(async move { Ok(Output::default()) })
    }
}
