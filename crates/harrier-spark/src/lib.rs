//! Hunting on Apache Spark through Spark Connect (gRPC, Arrow results): the cluster session,
//! the view that binds a lake's columns to the fields rules name, the SQL of one scan that
//! tests many rules at once, the fetching of the events scans matched, and the decoding of
//! Arrow results into Harrier's events and rows.
//!
//! Which rules run and how their results are written is the caller's (`harrier hunt --engine
//! spark`); the rules come as SQL from `harrier-convert`'s `spark` dialect.
//!
//! Fields: a lake (`harrier ingest`) has one column per field name. Sigma field names ignore
//! case, so a rule's `ProcessId` reads `ProcessId` or `ProcessID`, whichever the event has
//! ([`Names::IgnoreCase`]); SPL names are exact ([`Names::Exact`]); the server runs with
//! `spark.sql.caseSensitive=true` so both can be told apart. A field no file has is NULL
//! (absent), as it is for the embedded engine.

mod decode;
mod scan;

pub use decode::{Fields, Match, matches, rows, tagged_rows};
pub use scan::{Names, RouteKey, RuleCondition, identifiers, routed_rows, scan_sql};

use arrow_array::RecordBatch;
use harrier_event::{Event, SourceFile};
use spark_connect::SparkSession;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The columns every lake file has that rules do not name as fields (see `harrier-lake`).
pub const CORE_COLUMNS: [&str; 9] =
    ["_time", "_timestamp", "_channel", "_provider", "_computer", "_event_id", "_source", "_record", "_event"];

/// The columns a hunt needs from its table.
const REQUIRED_COLUMNS: [&str; 4] = ["_source", "_record", "_timestamp", "_event"];

/// A session on a Spark Connect server.
pub struct Cluster {
    session: SparkSession,
    /// Queries run so far (each one a scan of its table or less).
    pub queries: usize,
    /// The views this session defined (and may have cached), dropped when it ends here.
    views: Vec<String>,
    /// Where the server listens, to tell a dead server from a slow query.
    address: Vec<SocketAddr>,
    /// Longest a call may wait for its answer.
    deadline: Duration,
    /// A call failed for want of an answer: the session is not used again.
    lost: bool,
}

/// How often a call waiting for its answer checks that the server still listens.
const LIVENESS_INTERVAL: Duration = Duration::from_secs(5);

/// Where the events are: a Parquet lake (a directory `harrier ingest` wrote, local to the
/// cluster or on a shared file system: `s3a://...`, `hdfs://...`) or a table in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Parquet(String),
    Table(String),
}

impl Source {
    /// A path when it exists here or has a scheme (`s3a://`), a table name otherwise.
    pub fn parse(text: &str) -> Source {
        let path = std::path::Path::new(text);
        if text.contains("://") {
            Source::Parquet(text.to_owned())
        } else if path.exists() {
            let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
            Source::Parquet(absolute.display().to_string())
        } else {
            Source::Table(text.to_owned())
        }
    }

    fn relation(&self) -> String {
        match self {
            Source::Parquet(path) => format!("parquet.{}", quoted(path)),
            Source::Table(name) => name.split('.').map(quoted).collect::<Vec<_>>().join("."),
        }
    }
}

/// Where a cached view lives: on the executors' disks, read back through the page
/// cache. In memory (Spark's default) a lake larger than a default driver's 1 GB heap runs a
/// local-mode server out of memory; and scans decode cached columns either way.
const CACHE_STORAGE: &str = "DISK_ONLY";

/// Where the rows of a view [`Cluster::bind`] defines are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// A copy cached on the cluster.
    Cached,
    /// The source, at each query.
    Source,
}

/// Events fetched per query (their files and records are the query's filter).
const EVENTS_PER_FETCH: usize = 20_000;

/// Text as a Spark SQL string literal.
fn literal(text: &str) -> String {
    harrier_convert::sql_literal(text, harrier_convert::Dialect::Spark)
}

/// A name quoted for Spark SQL.
pub fn quoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Appends a statement to the file `HARRIER_SPARK_SQL_LOG` names, if any (to see or replay
/// what a hunt asked of the cluster).
fn log_statement(sql: &str) {
    log(&format!("{sql};"));
}

/// Appends how long the last statement took to the log of statements.
fn log_duration(start: std::time::Instant) {
    log(&format!("-- {:.2} s", start.elapsed().as_secs_f64()));
}

fn log(line: &str) {
    use std::io::Write;
    let Some(path) = std::env::var_os("HARRIER_SPARK_SQL_LOG") else { return };
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(file, "{line}");
    }
}

/// A Spark error as text (its first line carries the error class and message).
fn message(error: spark_connect::SparkError) -> String {
    error.to_string()
}

impl Cluster {
    /// Connects (`sc://host:port`) and sets what Harrier's SQL assumes: times in UTC, the
    /// schemas of a lake's files merged (each file has the columns of its own events). Every
    /// call waits at most `deadline` for its answer, and fails at once when the server stops
    /// listening: a dead or stuck server ends the hunt with an error naming the call, never a
    /// wait without end.
    pub fn connect(url: &str, deadline: Duration) -> Result<Cluster, String> {
        let address = listening_address(url)?;
        let remote = url.to_owned();
        let session = wait(&address, deadline, "connecting", move || {
            SparkSession::builder().remote(&remote).get_or_create().map_err(message)
        })?;
        let mut cluster = Cluster { session, queries: 0, views: Vec::new(), address, deadline, lost: false };
        cluster.configure()?;
        Ok(cluster)
    }

    /// Runs `work` with the session, waiting at most the deadline (and no longer than the
    /// server listens).
    fn call<T: Send + 'static>(
        &mut self,
        what: &str,
        work: impl FnOnce(SparkSession) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        if self.lost {
            return Err(format!("{what}: the Spark Connect session was lost before"));
        }
        let session = self.session.clone();
        let result = wait(&self.address, self.deadline, what, move || work(session));
        result.map_err(|why| {
            if why.contains(NO_ANSWER) {
                self.lost = true;
                why
            } else if !listens(&self.address) {
                // The call failed at once (a broken connection) because the server went away.
                self.lost = true;
                format!("{why} (the Spark Connect server stopped listening)")
            } else {
                why
            }
        })
    }

    fn configure(&mut self) -> Result<(), String> {
        // Constraint propagation is quadratic in the size of a condition; a scan's conditions
        // are hundreds of rules.
        let settings = [
            ("spark.sql.session.timeZone", "UTC"),
            ("spark.sql.parquet.mergeSchema", "true"),
            ("spark.sql.constraintPropagation.enabled", "false"),
            // It would add a filter testing every rule again before a scan's `explode`.
            ("spark.sql.optimizer.excludedRules", "org.apache.spark.sql.catalyst.optimizer.InferFiltersFromGenerate"),
            // A temporary view keeps its analyzed plan: otherwise every query naming it analyzes
            // the lake again (lists its files, merges their schemas: seconds per reference, and an
            // ESCU query names it once per detection).
            ("spark.sql.legacy.storeAnalyzedPlanForView", "true"),
            // A lake's files are small (one per channel and day, see `harrier-lake`): at the
            // default cost of 4 MB per file opened, Spark gives a few MB of them a task each.
            ("spark.sql.files.openCostInBytes", "262144"),
        ];
        self.call("setting up the session", move |session| {
            let conf = session.conf();
            for (key, value) in settings {
                conf.set(key, value).map_err(message)?;
            }
            let case_sensitive = conf.get("spark.sql.caseSensitive").map_err(message)?;
            if case_sensitive.as_deref() != Some("true") {
                // A session may set it when the server allows (Spark does).
                conf.set("spark.sql.caseSensitive", "true").map_err(message)?;
            }
            Ok(())
        })
    }

    /// The server's Spark version.
    pub fn version(&mut self) -> Result<String, String> {
        self.call("asking the Spark version", |session| session.version().map_err(message))
    }

    /// Runs a query and collects its result.
    pub fn query(&mut self, sql: &str) -> Result<Vec<RecordBatch>, String> {
        self.queries += 1;
        log_statement(sql);
        let start = Instant::now();
        let what = format!("query {} ({})", self.queries, sql.chars().take(80).collect::<String>());
        let statement = sql.to_owned();
        let batches = self.call(&what, move |session| {
            let frame = session.sql(&statement).map_err(message)?;
            let batches = frame.collect_record_batches().map_err(message)?;
            // A finished query ends with its metrics; a stream that stops without them (an
            // operation the server cancelled, say after an executor died) is no result.
            let complete = frame.execution_info().is_ok_and(|info| info.metrics.is_some());
            if !complete {
                return Err("the Spark query ended without completing: an executor failed (the server log \
                            says why), or the query ran longer than the server's \
                            spark.connect.execute.reattachable.senderMaxStreamDuration (default 2 minutes)"
                    .into());
            }
            Ok(batches)
        })?;
        log_duration(start);
        Ok(batches)
    }

    /// Runs a statement that gives no rows (a view definition).
    fn execute(&mut self, sql: &str) -> Result<(), String> {
        log_statement(sql);
        let statement = sql.to_owned();
        let what = format!("statement `{}`", sql.chars().take(80).collect::<String>());
        let start = Instant::now();
        self.call(&what, move |session| {
            let frame = session.sql(&statement).map_err(message)?;
            frame.collect_record_batches().map(|_| ()).map_err(message)
        })?;
        log_duration(start);
        Ok(())
    }

    /// The columns of a source.
    pub fn columns(&mut self, source: &Source) -> Result<Vec<String>, String> {
        let sql = format!("SELECT * FROM {} LIMIT 0", source.relation());
        self.call("reading the table's columns", move |session| {
            session.sql(&sql).map_err(message)?.columns().map_err(message)
        })
    }

    /// Defines the temporary view `view` over `source`: the core columns, and one column per
    /// name in `fields` bound to the source's columns by `names` (NULL when it has none); only
    /// the rows `filter` (SQL over the core columns) takes, when given. Gives the source's
    /// columns.
    ///
    /// [`Storage::Cached`]: the view is cached on the cluster (on its disks) until this session
    /// ends, for a hunt that reads all of it many times (reading the Parquet files each time
    /// costs several times more than reading the cache). [`Storage::Source`]: each query reads
    /// the source, Spark computing only the columns and rows it needs (for views of parts of
    /// it, [`Cluster::cache_rows`]).
    pub fn bind(
        &mut self,
        view: &str,
        source: &Source,
        fields: &BTreeSet<String>,
        names: Names,
        filter: Option<&str>,
        storage: Storage,
    ) -> Result<Vec<String>, String> {
        let columns = self.columns(source)?;
        let missing: Vec<&str> = REQUIRED_COLUMNS
            .iter()
            .copied()
            .filter(|required| !columns.iter().any(|column| column == required))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{} has no column {} (a lake `harrier ingest` writes has them)",
                source.relation(),
                missing.join(", ")
            ));
        }
        let select = scan::bound_columns(&columns, fields, names);
        let filter = filter.map(|filter| format!(" WHERE {filter}")).unwrap_or_default();
        let select = format!("SELECT {} FROM {}{filter}", select.join(", "), source.relation());
        match storage {
            Storage::Cached => self.cache(view, &select)?,
            Storage::Source => {
                self.define(view, &format!("CREATE OR REPLACE TEMPORARY VIEW {} AS {select}", quoted(view)))?
            }
        }
        Ok(columns)
    }

    /// Caches the rows of the view `of` that `filter` takes (all when `None`), with their file,
    /// record and `columns`, as the view `view`: scans of rules that can only match those rows
    /// and read those columns read them alone.
    pub fn cache_rows(&mut self, view: &str, of: &str, columns: &[String], filter: Option<&str>) -> Result<(), String> {
        let select: Vec<String> = ["_source", "_record"]
            .into_iter()
            .chain(columns.iter().map(String::as_str).filter(|column| !["_source", "_record"].contains(column)))
            .map(quoted)
            .collect();
        let filter = filter.map(|filter| format!(" WHERE {filter}")).unwrap_or_default();
        self.cache(view, &format!("SELECT {} FROM {}{filter}", select.join(", "), quoted(of)))
    }

    /// Defines `view` as the result of `select`, cached on the cluster until [`Cluster::release`]
    /// or the end of the session.
    fn cache(&mut self, view: &str, select: &str) -> Result<(), String> {
        self.execute(&format!("DROP VIEW IF EXISTS {}", quoted(view)))?;
        let cache = format!("CACHE TABLE {} OPTIONS ('storageLevel' '{CACHE_STORAGE}') AS {select}", quoted(view));
        self.define(view, &cache)
    }

    /// Runs the statement defining `view`, which the end of the session drops.
    fn define(&mut self, view: &str, statement: &str) -> Result<(), String> {
        self.execute(statement)?;
        self.views.push(view.to_owned());
        Ok(())
    }

    /// Drops a view `bind` or `cache_rows` defined, and what the cluster cached of it.
    pub fn release(&mut self, view: &str) -> Result<(), String> {
        self.views.retain(|defined| defined != view);
        self.execute(&format!("DROP VIEW IF EXISTS {}", quoted(view)))
    }

    /// The events of `keys` (file, then its records) in `source`, among the rows `filter` takes:
    /// the whole events of the rows scans matched, read once (a query per
    /// 20,000 events). `files_seen` shares one [`SourceFile`] per path.
    pub fn events(
        &mut self,
        source: &Source,
        filter: Option<&str>,
        keys: &BTreeMap<String, BTreeSet<u64>>,
        files_seen: &mut HashMap<String, Arc<SourceFile>>,
    ) -> Result<Vec<Event>, String> {
        let mut events = Vec::new();
        for chunk in fetch_chunks(keys) {
            // Hash-set tests (Spark's InSet): on the file and the record (which the Parquet
            // reader can use to skip row groups), then on both.
            let files: Vec<String> = chunk.iter().map(|(file, _)| literal(file)).collect();
            let records: BTreeSet<u64> = chunk.iter().flat_map(|(_, records)| records.iter().copied()).collect();
            let records: Vec<String> = records.iter().map(u64::to_string).collect();
            let pairs: Vec<String> = chunk
                .iter()
                .flat_map(|(file, records)| records.iter().map(move |record| literal(&format!("{record} {file}"))))
                .collect();
            let sql = format!(
                "SELECT _source, _record, _timestamp, _event FROM {} WHERE _source IN ({}) AND _record IN ({}) \
                 AND concat(CAST(_record AS STRING), ' ', _source) IN ({}){}",
                source.relation(),
                files.join(", "),
                records.join(", "),
                pairs.join(", "),
                filter.map(|filter| format!(" AND ({filter})")).unwrap_or_default()
            );
            for batch in self.query(&sql)? {
                events.extend(harrier_lake::read_events(&batch, files_seen)?);
            }
        }
        Ok(events)
    }
}

/// The files and records of `keys` in groups of about [`EVENTS_PER_FETCH`].
fn fetch_chunks(keys: &BTreeMap<String, BTreeSet<u64>>) -> Vec<Vec<(&str, Vec<u64>)>> {
    let mut chunks = vec![Vec::new()];
    let mut size = 0;
    for (file, records) in keys {
        let records: Vec<u64> = records.iter().copied().collect();
        for part in records.chunks(EVENTS_PER_FETCH) {
            if size + part.len() > EVENTS_PER_FETCH && size > 0 {
                chunks.push(Vec::new());
                size = 0;
            }
            size += part.len();
            chunks.last_mut().expect("a chunk").push((file.as_str(), part.to_vec()));
        }
    }
    chunks.retain(|chunk| !chunk.is_empty());
    chunks
}

impl Drop for Cluster {
    /// Frees what the session cached on the cluster (a server keeps an idle session a while),
    /// unless the session was lost.
    fn drop(&mut self) {
        for view in std::mem::take(&mut self.views) {
            if !self.lost {
                let _ = self.execute(&format!("DROP VIEW IF EXISTS {}", quoted(&view)));
            }
        }
    }
}

/// What a call that got no answer says.
const NO_ANSWER: &str = "no answer from the Spark Connect server";

/// The addresses of `sc://host:port`, when something listens there.
fn listening_address(url: &str) -> Result<Vec<SocketAddr>, String> {
    let rest = url.strip_prefix("sc://").ok_or_else(|| format!("{url}: a Spark Connect URL starts with sc://"))?;
    let authority = rest.split(['/', ';']).next().unwrap_or(rest);
    let authority = if authority.contains(':') { authority.to_owned() } else { format!("{authority}:15002") };
    let address: Vec<SocketAddr> =
        authority.to_socket_addrs().map_err(|error| format!("{authority}: {error}"))?.collect();
    if !listens(&address) {
        return Err(format!("nothing listens at {authority}: is the Spark Connect server started?"));
    }
    Ok(address)
}

/// Whether the server accepts a connection.
fn listens(address: &[SocketAddr]) -> bool {
    address.iter().any(|address| TcpStream::connect_timeout(address, Duration::from_secs(3)).is_ok())
}

/// Runs `work` on a thread of its own and waits for it at most `deadline`, checking that the
/// server still listens. A call that gets no answer is left behind (its thread ends when its
/// connection does): the caller stops using the session.
fn wait<T: Send + 'static>(
    address: &[SocketAddr],
    deadline: Duration,
    what: &str,
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (sender, receiver) = channel();
    std::thread::spawn(move || {
        let _ = sender.send(work());
    });
    let started = Instant::now();
    loop {
        match receiver.recv_timeout(LIVENESS_INTERVAL.min(deadline)) {
            Ok(result) => return result.map_err(|why| format!("{what}: {why}")),
            Err(RecvTimeoutError::Disconnected) => return Err(format!("{what}: the call ended without an answer")),
            Err(RecvTimeoutError::Timeout) if !listens(address) => {
                return Err(format!("{NO_ANSWER}: it stopped listening during {what}"));
            }
            Err(RecvTimeoutError::Timeout) if started.elapsed() >= deadline => {
                return Err(format!(
                    "{NO_ANSWER} within {} s to {what} (--spark-timeout): the server may be out of memory or \
                     stuck (its log says)",
                    deadline.as_secs()
                ));
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}
