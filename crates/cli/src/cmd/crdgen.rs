//! `rookery crdgen`: the CustomResourceDefinitions of CephCluster,
//! CephBlockPool and CephFilesystem, generated from the api types, for
//! `kubectl apply -f -`. deploy/crds.yaml is this output.

use std::io::Write as _;
use std::process::ExitCode;

use crate::Output;

#[derive(clap::Args, Debug)]
pub struct CrdgenArgs {
    /// text: multi-document YAML; json: one JSON list of the CRDs.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

pub fn run(args: CrdgenArgs) -> anyhow::Result<ExitCode> {
    let text = match args.output {
        Output::Text => rookery_runtime_k8s::crds_yaml()?,
        Output::Json => {
            let list = serde_json::json!({
                "apiVersion": "v1",
                "kind": "List",
                "items": rookery_runtime_k8s::crds()?,
            });
            serde_json::to_string_pretty(&list)? + "\n"
        }
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
