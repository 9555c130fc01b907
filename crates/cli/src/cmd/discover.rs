//! `rookery discover`: this host's block devices, and for each whether it
//! would become an OSD or why not; `--watch` follows changes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rookery_api::human_bytes as human_size;
use rookery_api::Quantity;
use rookery_discover::rules::parse_regex;
use rookery_discover::{scan, Debouncer, Device, Event, Roots, Selection, Verdict};

use crate::Output;

#[derive(clap::Args, Debug)]
pub struct DiscoverArgs {
    /// Take the selection from spec.storage of this cluster spec; the flags below
    /// override it.
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Use every device that is empty (Rook's useAllDevices).
    #[arg(long)]
    all: bool,
    /// A regex over device names, e.g. ^sd[b-d]$ (Rook's deviceFilter).
    #[arg(long, value_name = "REGEX")]
    filter: Option<String>,
    /// A regex over device paths and /dev/disk/by-* links (Rook's devicePathFilter).
    #[arg(long, value_name = "REGEX")]
    path_filter: Option<String>,
    /// A device to use, by name (sdb) or path; repeat for more (Rook's devices).
    #[arg(long = "device", value_name = "NAME")]
    devices: Vec<String>,
    /// Devices smaller than this are not used.
    #[arg(long, value_name = "SIZE", default_value = "5Gi")]
    min_size: Quantity,
    /// Keep running and print devices as they appear, change or go (Ctrl-C stops).
    #[arg(long)]
    watch: bool,
    /// With --watch: how often to look, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    interval_ms: u64,
    /// With --watch: a change is printed once the device has looked the same
    /// this long, in milliseconds (partitioning or formatting is several changes).
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    settle_ms: u64,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

pub fn run(args: DiscoverArgs) -> anyhow::Result<ExitCode> {
    let selection = selection(&args)?;
    let roots = Roots::default();
    let devices = scan(&roots)?;
    if args.watch {
        return watch(&args, &selection, &roots, devices);
    }
    if args.output == Output::Json {
        let all: Vec<_> = devices.iter().map(|d| judged(d, &selection)).collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else if devices.is_empty() {
        println!("No block devices found under /sys/block.");
    } else {
        for d in &devices {
            print!("{}", render(d, &selection.judge(d)));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn selection(args: &DiscoverArgs) -> anyhow::Result<Selection> {
    let mut sel = match &args.file {
        Some(f) => {
            let yaml = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the cluster spec {}", f.display()))?;
            let manifest = rookery_api::load_manifest(&yaml)
                .with_context(|| format!("cannot load the cluster spec {}", f.display()))?;
            Selection::from_spec(&manifest.cluster.spec.storage)
                .with_context(|| format!("in spec.storage of {}", f.display()))?
        }
        None => Selection::default(),
    };
    sel.use_all_devices |= args.all;
    if let Some(re) = &args.filter {
        sel.device_filter = parse_regex("--filter", re)?;
    }
    if let Some(re) = &args.path_filter {
        sel.device_path_filter = parse_regex("--path-filter", re)?;
    }
    sel.devices.extend(args.devices.iter().cloned());
    sel.min_size = args.min_size.bytes();
    Ok(sel)
}

/// The device's fields plus `verdict` ("use" or "skip") and `reasons`.
fn judged(d: &Device, sel: &Selection) -> serde_json::Value {
    let mut v = serde_json::to_value(d).unwrap_or_default();
    let (verdict, reasons) = match sel.judge(d) {
        Verdict::Use => ("use", Vec::new()),
        Verdict::Skip(r) => ("skip", r),
    };
    if let Some(o) = v.as_object_mut() {
        o.insert("verdict".into(), verdict.into());
        o.insert("reasons".into(), reasons.into());
    }
    v
}

fn render(d: &Device, verdict: &Verdict) -> String {
    let mut about = vec![
        format!("{:?}", d.kind).to_lowercase(),
        human_size(d.size_bytes),
    ];
    about.extend(d.model.clone());
    about.extend(d.serial.as_ref().map(|s| format!("serial {s}")));
    let head = format!("{:<14} {}", d.path, about.join(", "));
    match verdict {
        Verdict::Use => format!("{head}\n    will be used\n"),
        Verdict::Skip(reasons) => {
            let lines: Vec<String> = reasons.iter().map(|r| format!("    - {r}\n")).collect();
            format!("{head}\n    will not be used:\n{}", lines.concat())
        }
    }
}

fn watch(
    args: &DiscoverArgs,
    sel: &Selection,
    roots: &Roots,
    first: Vec<Device>,
) -> anyhow::Result<ExitCode> {
    let mut debouncer = Debouncer::new(Duration::from_millis(args.settle_ms));
    let interval = Duration::from_millis(args.interval_ms.max(50));
    tracing::info!(
        ?interval,
        settle_ms = args.settle_ms,
        "watching block devices"
    );
    let mut events = debouncer.prime(first);
    loop {
        for e in &events {
            print_event(args.output, e, sel);
        }
        std::thread::sleep(interval);
        events = match scan(roots) {
            Ok(devices) => debouncer.observe(Instant::now(), devices),
            Err(e) => {
                // A transient failure (a device going away mid-read) must not end the watch.
                tracing::warn!(error = %e, "cannot list block devices; trying again");
                Vec::new()
            }
        };
    }
}

fn print_event(output: Output, e: &Event, sel: &Selection) {
    let d = e.device();
    let (kind, extra) = match e {
        Event::Added { .. } => ("added", String::new()),
        Event::Removed { .. } => ("removed", String::new()),
        Event::Changed { fields, .. } => ("changed", format!(" ({})", fields.join(", "))),
    };
    if output == Output::Json {
        let mut v = serde_json::json!({"event": kind, "device": judged(d, sel)});
        if let Event::Changed { fields, .. } = e {
            v["fields"] = fields.clone().into();
        }
        println!("{v}");
    } else if matches!(e, Event::Removed { .. }) {
        println!("{kind} {}", d.path);
    } else {
        print!("{kind}{extra} {}", render(d, &sel.judge(d)));
    }
}
