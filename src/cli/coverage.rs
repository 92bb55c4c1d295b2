//! `portico floor ...` and `portico coverage report`: floors, their walls
//! (by hand or from an architect's DXF), AP placements, and the printable
//! report.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use crate::admin::web::coverage_views;
use crate::admin::web::i18n::Lang;
use crate::config::Config;
use crate::coverage::dxf;
use crate::coverage::service;
use crate::store::floors::{FloorWall, NewFloor, Placement};
use crate::store::Store;

#[derive(Subcommand, Debug)]
pub enum FloorCmd {
    /// Add a floor (and its building if new).
    Add {
        /// The floor's name, e.g. F3.
        name: String,
        #[arg(long)]
        building: String,
        #[arg(long)]
        level: i64,
        /// Plan width (m), x from left to right.
        #[arg(long)]
        width: f64,
        /// Plan height (m), y from top to bottom.
        #[arg(long)]
        height: f64,
        /// Storey height (m), for APs on other floors.
        #[arg(long, default_value_t = 3.5)]
        storey_height: f64,
    },
    /// Every floor.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Walls from an architect's DXF drawing. Without --layer, lists the
    /// drawing's layers.
    ImportDxf {
        /// The floor: id, BUILDING/NAME, or a name one building has.
        floor: String,
        file: PathBuf,
        /// Layers holding walls (repeatable).
        #[arg(long = "layer")]
        layers: Vec<String>,
        /// Material of the imported walls.
        #[arg(long, default_value = "drywall")]
        material: String,
        /// Metres per drawing unit, overriding the drawing's $INSUNITS.
        #[arg(long)]
        units_m: Option<f64>,
        /// Add to the floor's walls instead of replacing them.
        #[arg(long)]
        append: bool,
    },
    /// A floor's areas (outline, no-coverage zones, rooms): printed as
    /// JSON, or replaced from a JSON file like
    /// `[{"kind": "room", "name": "301", "seats": 40, "points": [[0,0],[8,0],[8,5]]}]`.
    Areas {
        floor: String,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Place an AP on a floor.
    Place {
        floor: String,
        ap: String,
        #[arg(long)]
        x: f64,
        #[arg(long)]
        y: f64,
        /// Mounting height (m).
        #[arg(long, default_value_t = 2.8)]
        z: f64,
        #[arg(long, default_value_t = 0.0)]
        antenna_gain: f64,
    },
    /// Remove a floor with its walls, placements and measurements.
    Remove { floor: String },
    /// A building's own wall materials (losses in dB at 2.4, 5 and 6 GHz),
    /// overriding or adding to the default table; without --set, shows
    /// the table the building's floors use.
    Materials {
        building: String,
        /// NAME=L24,L5,L6 (repeatable), e.g. concrete=14,17,19.
        #[arg(long = "set")]
        set: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum CoverageCmd {
    /// Write the printable report (HTML, one page per floor).
    Report(ReportArgs),
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The floor (repeatable): id, BUILDING/NAME, or a name; none: every floor.
    #[arg(long = "floor")]
    floors: Vec<String>,
    #[arg(long)]
    output: PathBuf,
    /// zh (default) or en.
    #[arg(long, default_value = "zh")]
    lang: String,
}

async fn find(store: &Store, key: &str) -> Result<crate::store::floors::Floor> {
    store
        .floors()
        .find(key)
        .await?
        .with_context(|| format!("no floor {key:?} (portico floor list)"))
}

pub async fn floor_cmd(store: &Store, cmd: FloorCmd) -> Result<()> {
    match cmd {
        FloorCmd::Add {
            name,
            building,
            level,
            width,
            height,
            storey_height,
        } => {
            let f = store
                .floors()
                .add(&NewFloor {
                    building,
                    name,
                    level,
                    width_m: width,
                    height_m: height,
                    storey_height_m: storey_height,
                })
                .await?;
            println!(
                "floor {} added: {}/{} (id {})",
                f.name, f.building, f.name, f.id
            );
        }
        FloorCmd::List { json } => {
            let all = store.floors().list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                println!(
                    "{:<5} {:<16} {:<12} {:>5} {:>14} {:>6} {:>6} {:<5}",
                    "ID", "BUILDING", "FLOOR", "LEVEL", "SIZE (M)", "WALLS", "AREAS", "PLAN"
                );
                for f in all {
                    println!(
                        "{:<5} {:<16} {:<12} {:>5} {:>14} {:>6} {:>6} {:<5}",
                        f.id,
                        f.building,
                        f.name,
                        f.level,
                        format!("{:.1} x {:.1}", f.width_m, f.height_m),
                        f.walls.len(),
                        f.areas.len(),
                        if f.plan_type.is_some() { "yes" } else { "no" }
                    );
                }
            }
        }
        FloorCmd::ImportDxf {
            floor,
            file,
            layers,
            material,
            units_m,
            append,
        } => {
            let f = find(store, &floor).await?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let drawing = dxf::parse(&bytes, units_m)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            if layers.is_empty() {
                println!(
                    "layers in {} (pick the walls with --layer NAME):",
                    file.display()
                );
                for (name, count) in &drawing.layers {
                    println!("  {name:<24} {count} segments");
                }
                return Ok(());
            }
            let names: Vec<&str> = layers.iter().map(String::as_str).collect();
            let chosen = drawing.on_layers(&names);
            if chosen.is_empty() {
                bail!("no line segments on layer(s) {}", layers.join(", "));
            }
            let b = drawing
                .bounds(&names)
                .context("the chosen layers have no extent")?;
            if drawing.assumed_units {
                println!(
                    "the drawing gives no units; millimetres assumed (override with --units-m)"
                );
            }
            // DXF y grows upwards; the plan's y grows downwards from the
            // top-left corner of the drawing's extent.
            let mut walls: Vec<FloorWall> = if append { f.walls.clone() } else { Vec::new() };
            walls.extend(chosen.iter().map(|s| FloorWall {
                x1: s.x1 - b.min_x,
                y1: b.max_y - s.y1,
                x2: s.x2 - b.min_x,
                y2: b.max_y - s.y2,
                material: material.clone(),
                loss_db: None,
            }));
            service::check_materials(&walls, &f.materials).map_err(|e| anyhow::anyhow!("{e}"))?;
            if b.width() > f.width_m + 1.0 || b.height() > f.height_m + 1.0 {
                bail!(
                    "the drawing is {:.1} x {:.1} m but floor {} is {:.1} x {:.1} m: check --units-m, \
                     or add the floor with the drawing's size",
                    b.width(),
                    b.height(),
                    f.name,
                    f.width_m,
                    f.height_m
                );
            }
            let saved = store.floors().set_walls(f.id, &walls).await?;
            println!(
                "imported {} walls from {} ({} entities skipped, {} zero-length dropped); floor {} has {} walls",
                chosen.len(),
                layers.join(", "),
                drawing.skipped_entities,
                drawing.dropped_zero_length,
                saved.name,
                saved.walls.len()
            );
        }
        FloorCmd::Areas { floor, file } => {
            let f = find(store, &floor).await?;
            let areas = match file {
                None => f.areas,
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let areas: Vec<crate::store::floors::Area> = serde_json::from_str(&text)
                        .with_context(|| format!("{}: not a list of areas", path.display()))?;
                    store.floors().set_areas(f.id, &areas).await?.areas
                }
            };
            println!("{}", serde_json::to_string_pretty(&areas)?);
        }
        FloorCmd::Place {
            floor,
            ap,
            x,
            y,
            z,
            antenna_gain,
        } => {
            let f = find(store, &floor).await?;
            store
                .floors()
                .place(
                    &ap,
                    &Placement {
                        floor: f.id,
                        x,
                        y,
                        z,
                        antenna_gain_dbi: antenna_gain,
                        tx_power_dbm: Default::default(),
                    },
                )
                .await?;
            println!(
                "{ap} placed on {}/{} at ({x}, {y}), {z} m up",
                f.building, f.name
            );
        }
        FloorCmd::Materials { building, set } => {
            let floor = store
                .floors()
                .list()
                .await?
                .into_iter()
                .find(|f| f.building == building)
                .with_context(|| format!("no building {building:?} (portico floor list)"))?;
            let mut own = floor.materials.clone();
            if !set.is_empty() {
                for item in &set {
                    let (name, values) = item
                        .split_once('=')
                        .with_context(|| format!("--set {item}: give NAME=L24,L5,L6"))?;
                    let v: Vec<f64> = values
                        .split(',')
                        .map(|x| x.trim().parse::<f64>())
                        .collect::<Result<_, _>>()
                        .with_context(|| format!("--set {item}: three numbers (dB)"))?;
                    let [a, b, c] = v[..] else {
                        bail!("--set {item}: three numbers (dB at 2.4, 5 and 6 GHz)");
                    };
                    own.insert(name.trim().to_string(), [a, b, c]);
                }
                store.floors().set_materials(&building, &own).await?;
            }
            println!(
                "{:<18} {:>7} {:>7} {:>7}  FROM",
                "MATERIAL", "2.4GHZ", "5GHZ", "6GHZ"
            );
            for m in crate::coverage::model::MATERIALS {
                if !own.contains_key(m.name) {
                    let [a, b, c] = m.loss_db;
                    println!("{:<18} {a:>7} {b:>7} {c:>7}  default", m.name);
                }
            }
            for (name, [a, b, c]) in &own {
                println!("{name:<18} {a:>7} {b:>7} {c:>7}  {building}");
            }
        }
        FloorCmd::Remove { floor } => {
            let f = find(store, &floor).await?;
            store.floors().remove(f.id).await?;
            println!("floor {}/{} removed", f.building, f.name);
        }
    }
    Ok(())
}

pub async fn coverage_cmd(store: &Store, config: &Config, cmd: CoverageCmd) -> Result<()> {
    match cmd {
        CoverageCmd::Report(args) => {
            let lang = match args.lang.as_str() {
                "en" => Lang::En,
                "zh" => Lang::Zh,
                other => bail!("--lang {other}: zh or en"),
            };
            let ids: Vec<i64> = if args.floors.is_empty() {
                store.floors().list().await?.iter().map(|f| f.id).collect()
            } else {
                let mut ids = Vec::new();
                for key in &args.floors {
                    ids.push(find(store, key).await?.id);
                }
                ids
            };
            if ids.is_empty() {
                bail!("no floors yet (portico floor add)");
            }
            let html = coverage_views::report_html(store, &config.coverage, lang, &ids, true)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(&args.output, html)
                .with_context(|| format!("writing {}", args.output.display()))?;
            println!(
                "wrote {} ({} floor{})",
                args.output.display(),
                ids.len(),
                if ids.len() == 1 { "" } else { "s" }
            );
        }
    }
    Ok(())
}
