//! SQL over a table with one column per field (`harrier events` exports, Zircolite's layout):
//! `LIKE` in SQLite (which ignores ASCII case), `ILIKE` in DuckDB, PostgreSQL and Spark, with
//! `ESCAPE '\'`; `NOT` guarded with `COALESCE` so an absent (NULL) field makes it true.

use crate::alternation::alternation;
use crate::{Dialect, Unsupported, inline_flags, number, operator, render_pattern, unsupported};
use harrier_ir::{Expr, FieldRefMode, Pattern, Predicate, Test, Token};
use std::collections::BTreeSet;

/// The field holding an event's data model datasets, one per line (harrier-cim's name).
const DATAMODEL_FIELD: &str = "_datamodel";

pub fn query(condition: &Expr, dialect: Dialect, table: &str) -> Result<String, Unsupported> {
    let sql = Sql::new(dialect);
    Ok(format!("SELECT * FROM {} WHERE {}", sql.identifier(table), sql.expr(condition)?))
}

pub(crate) struct Sql {
    pub(crate) dialect: Dialect,
    /// Case-insensitive tests on lower-cased columns (see [`crate::sql_condition`]).
    pub(crate) lowered: bool,
    /// Keyword searches over the column [`crate::EVENT_FIELD`] (see [`crate::sql_condition`]).
    pub(crate) values: bool,
}

impl Sql {
    pub(crate) fn new(dialect: Dialect) -> Sql {
        Sql { dialect, lowered: false, values: false }
    }

    pub(crate) fn expr(&self, condition: &Expr) -> Result<String, Unsupported> {
        self.tree(condition, None)
    }

    /// A condition that holds at least where `condition` does: each test SQL cannot express
    /// is taken as true (as false under an odd number of NOTs). What it selects are the
    /// candidates another engine must check.
    pub(crate) fn superset(&self, condition: &Expr) -> String {
        self.tree(condition, Some(true)).expect("a relaxed condition has no unsupported test")
    }

    /// `relaxed`: none to refuse what cannot be expressed, or the value such a test takes.
    fn tree(&self, condition: &Expr, relaxed: Option<bool>) -> Result<String, Unsupported> {
        let join = |items: Vec<&Expr>, operator: &str| -> Result<String, Unsupported> {
            let parts: Result<Vec<String>, Unsupported> =
                items.into_iter().map(|item| self.tree(item, relaxed).map(|text| format!("({text})"))).collect();
            Ok(balanced(&parts?, operator))
        };
        Ok(match condition {
            Expr::And(items) if self.values => join(cheapest_first(items), " AND ")?,
            Expr::And(items) => join(items.iter().collect(), " AND ")?,
            Expr::Or(items) if self.values => match factored(items) {
                Some(factored) => self.tree(&factored, relaxed)?,
                None => self.or_grouped(items, relaxed)?,
            },
            Expr::Or(items) => join(items.iter().collect(), " OR ")?,
            Expr::Not(item) => format!("NOT COALESCE(({}), FALSE)", self.tree(item, relaxed.map(|value| !value))?),
            Expr::Pred(predicate) => match (self.predicate(predicate), relaxed) {
                (Ok(text), _) => text,
                (Err(why), None) => return Err(why),
                (Err(_), Some(value)) => self.boolean(value).into(),
            },
            Expr::Const(value) => self.boolean(*value).into(),
        })
    }

    /// An OR whose keyword searches on the same values are one `exists` (one pass over the
    /// event's values rather than one per keyword), and whose many literal tests of one kind
    /// on one lower-cased column are one test against the list of literals (see
    /// [`GROUPED_LITERALS`], [`GROUPED_PATTERNS`]).
    fn or_grouped(&self, items: &[Expr], relaxed: Option<bool>) -> Result<String, Unsupported> {
        let mut parts: Vec<String> = Vec::new();
        let mut keywords: Vec<(String, Vec<String>, Option<Vec<String>>)> = Vec::new();
        let literal_of: Vec<Option<((&str, Shape), &str)>> =
            items.iter().map(|item| self.grouped_literal(item)).collect();
        let groups = literal_groups(&literal_of);
        let grouped = |literal: Option<((&str, Shape), &str)>| {
            literal.is_some_and(|(key, _)| groups.iter().any(|(group, _)| *group == key))
        };
        for (item, literal) in items.iter().zip(literal_of) {
            match item {
                Expr::Pred(Predicate { field: None, test, .. }) => {
                    let (values, inner) = self.keyword_test(test)?;
                    let guard = self.keyword_guard(test);
                    match keywords.iter_mut().find(|(column, ..)| *column == values) {
                        Some((_, tests, texts)) => {
                            tests.push(format!("({inner})"));
                            *texts = texts.take().zip(guard).map(|(texts, more)| [texts, more].concat());
                        }
                        None => keywords.push((values, vec![format!("({inner})")], guard)),
                    }
                }
                // Tested with its group, below.
                _ if grouped(literal) => {}
                _ => parts.push(format!("({})", self.tree(item, relaxed)?)),
            }
        }
        for (values, tests, guard) in keywords {
            parts.push(format!("({})", self.keyword_search(&values, &tests, guard)));
        }
        for ((field, shape), group) in &groups {
            let lowered: Vec<String> = group.iter().map(|literal| literal.to_lowercase()).collect();
            parts.push(format!("({})", self.any_literal(field, *shape, &lowered)?));
        }
        Ok(balanced(&parts, " OR "))
    }

    /// A case-insensitive test of a field against one literal (equal, prefix, suffix or
    /// contained), on lower-cased columns: its field, kind and literal.
    fn grouped_literal<'e>(&self, item: &'e Expr) -> Option<((&'e str, Shape), &'e str)> {
        let Expr::Pred(Predicate { field: Some(field), test: Test::Matches { pattern, cased: false }, .. }) = item
        else {
            return None;
        };
        if !self.lowered || field == DATAMODEL_FIELD {
            return None;
        }
        let (shape, literal) = match pattern.tokens() {
            [Token::Literal(text)] => (Shape::Equal, text),
            [Token::AnyRun, Token::Literal(text), Token::AnyRun] => (Shape::Contains, text),
            [Token::Literal(text), Token::AnyRun] => (Shape::StartsWith, text),
            [Token::AnyRun, Token::Literal(text)] => (Shape::EndsWith, text),
            _ => return None,
        };
        Some(((field.as_str(), shape), literal.as_str()))
    }

    /// Whether the lower-cased `field` holds one of the literals as `shape` says: `IN` for
    /// equality (a hash set in Spark), else one regex of the literals as alternatives (Spark
    /// unrolls `exists` over an array of literals into as large a method).
    fn any_literal(&self, field: &str, shape: Shape, literals: &[String]) -> Result<String, Unsupported> {
        let column = self.lowered_column(field);
        if shape == Shape::Equal {
            let list = literals.iter().map(|literal| self.string(literal)).collect::<Vec<_>>();
            return Ok(format!("{column} IN ({})", list.join(", ")));
        }
        // `\z`, not `$`, which also matches before a final line break.
        let (start, end) = match shape {
            Shape::StartsWith => ("^", ""),
            Shape::EndsWith => ("", "\\z"),
            _ => ("", ""),
        };
        let regex = self.regex(&column, &format!("{start}{}{end}", alternation(literals)), false, false, false)?;
        if self.dialect != Dialect::Spark {
            return Ok(regex);
        }
        // Java's matcher tries every alternative at every place of the value: a test that
        // holds wherever one of the literals occurs, and costs little, goes first.
        if literals.iter().all(|literal| !literal.is_ascii()) {
            // Each literal holds a character past ASCII (SigmaHQ's emoji lists), which few
            // values do.
            return Ok(format!("{column} RLIKE {} AND {regex}", self.string("[^\\x00-\\x7F]")));
        }
        Ok(match covering_substrings(literals, SHORTEST_COVERING_SUBSTRING) {
            Some(cover) => format!("({}) AND {regex}", self.any_contained(&column, cover)),
            None => regex,
        })
    }

    /// The column holding `field` lower-cased (see [`crate::sql_condition`]).
    fn lowered_column(&self, field: &str) -> String {
        self.identifier(&format!("{field}{}", crate::LOWERED_SUFFIX))
    }

    fn boolean(&self, value: bool) -> &'static str {
        if value { "1=1" } else { "1=0" }
    }

    /// Text as a floating-point number: Spark's REAL is 32 bits (too coarse for epoch
    /// seconds) and its ANSI mode fails on text that is no number, so it gets TRY_CAST to DOUBLE.
    pub(crate) fn real(&self, expression: &str) -> String {
        match self.dialect {
            Dialect::Spark => format!("TRY_CAST({expression} AS DOUBLE)"),
            _ => format!("CAST({expression} AS REAL)"),
        }
    }

    /// A number truncated to an integer (64 bits in Spark, whose INTEGER is 32).
    pub(crate) fn integer(&self, expression: &str) -> String {
        match self.dialect {
            Dialect::Spark => format!("CAST({expression} AS BIGINT)"),
            _ => format!("CAST({expression} AS INTEGER)"),
        }
    }

    pub(crate) fn identifier(&self, name: &str) -> String {
        match self.dialect {
            Dialect::Spark => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// A string literal; Spark reads backslash escapes in literals, so they are doubled there.
    pub(crate) fn string(&self, text: &str) -> String {
        let text = text.replace('\'', "''");
        match self.dialect {
            Dialect::Spark => format!("'{}'", text.replace('\\', "\\\\")),
            _ => format!("'{text}'"),
        }
    }

    fn like(&self, pattern: &Pattern) -> String {
        let text = render_pattern(pattern, "%", "_", &|text| {
            text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
        });
        format!("{} ESCAPE {}", self.string(&text), self.string("\\"))
    }

    fn predicate(&self, predicate: &Predicate) -> Result<String, Unsupported> {
        let Some(field) = predicate.field.as_deref() else {
            return self.keyword(&predicate.test);
        };
        let column = self.identifier(field);
        if field == DATAMODEL_FIELD
            && let Test::Matches { pattern, .. } = &predicate.test
            && let Some(dataset) = pattern.as_literal()
        {
            return Ok(self.member(&column, dataset));
        }
        let lowered = || self.lowered_column(field);
        self.test(&column, &lowered, &predicate.test)
    }

    /// A keyword search: the test on any of the event's values, which only a table with the
    /// column [`crate::EVENT_FIELD`] (the event as a JSON object's text) has.
    fn keyword(&self, test: &Test) -> Result<String, Unsupported> {
        let (values, inner) = self.keyword_test(test)?;
        Ok(self.keyword_search(&values, &[inner], self.keyword_guard(test)))
    }

    /// The array a keyword search reads (the values, or with `self.lowered` the values
    /// lower-cased for a case-insensitive test) and its test on one of them, [`KEYWORD_VALUE`].
    fn keyword_test(&self, test: &Test) -> Result<(String, String), Unsupported> {
        if !self.values {
            return unsupported("keyword search (no field): a SQL table has no \"any column\"");
        }
        let values = self.event_values();
        if self.lowered && matches!(test, Test::Matches { cased: false, .. }) {
            let inner = self.test(KEYWORD_VALUE, &|| KEYWORD_VALUE.to_owned(), test)?;
            return Ok((format!("transform({values}, _w -> lower(_w))"), inner));
        }
        let inner = self.test(KEYWORD_VALUE, &|| format!("lower({KEYWORD_VALUE})"), test)?;
        Ok((values, inner))
    }

    /// Every value of the event as text, a list's items one by one, from its JSON text
    /// (`variant` tells a list from a string that looks like one). Computed where a keyword
    /// search needs it, after its guard: parsing every event's text costs more than the rules.
    fn event_values(&self) -> String {
        let event = self.identifier(crate::EVENT_FIELD);
        format!(
            "flatten(transform(map_values(from_json({event}, 'map<string,variant>')), \
             _v -> coalesce(try_variant_get(_v, '$', 'array<string>'), array(try_variant_get(_v, '$', 'string')))))"
        )
    }

    /// A keyword search of `tests` (one of which must hold for a value), after a search of
    /// the event's lower-cased JSON text for one of the `guard` texts when there are some.
    fn keyword_search(&self, values: &str, tests: &[String], guard: Option<Vec<String>>) -> String {
        let search = exists(values, &balanced(tests, " OR "));
        match guard.filter(|texts| !texts.is_empty()) {
            Some(texts) => {
                // An event's text is long: fewer searches, even of shorter texts, cost less
                // (`::` for most of Mimikatz's commands), and they only guard the search.
                let texts = covering_substrings(&texts, SHORTEST_KEYWORD_GUARD).unwrap_or(texts);
                format!("({}) AND {search}", self.any_contained(&self.lowered_column(crate::EVENT_FIELD), texts))
            }
            None => search,
        }
    }

    /// Texts one of which the event's lower-cased JSON text holds wherever `test` holds for
    /// one of its values: the longest literal of a pattern, the literals every match of a
    /// regular expression holds, lower-cased and written as JSON writes them. `None` when
    /// not known, or when the text is not plain: past ASCII (a JSON writer may escape it),
    /// control characters, or all digits and signs (the JSON text of a number may differ from
    /// what the value's text says).
    fn keyword_guard(&self, test: &Test) -> Option<Vec<String>> {
        if !self.lowered {
            return None;
        }
        let texts = match test {
            Test::Matches { pattern, .. } => vec![pattern.literals().max_by_key(|text| text.len())?.to_lowercase()],
            Test::Regex { pattern, ignore_case, multi_line, dot_all } => {
                required_literals(pattern, *ignore_case, *multi_line, *dot_all)?
            }
            _ => return None,
        };
        texts.iter().map(|text| as_json_text(text)).collect()
    }

    /// `column LIKE '%text%'` for each text, in an OR.
    fn any_contained(&self, column: &str, texts: Vec<String>) -> String {
        let tests: Vec<String> = texts
            .into_iter()
            .map(|text| format!("{column} LIKE {}", self.like(&Pattern::literal(text).contained())))
            .collect();
        tests.join(" OR ")
    }

    /// A test on `column`; `lowered` names the column lower-cased (when `self.lowered`).
    fn test(&self, column: &str, lowered: &dyn Fn() -> String, test: &Test) -> Result<String, Unsupported> {
        Ok(match test {
            Test::Matches { pattern, cased: false } if self.lowered => {
                format!("{} LIKE {}", lowered(), self.like(&crate::lowered(pattern)))
            }
            Test::Matches { pattern, cased: false } => match self.dialect {
                Dialect::Sqlite => format!("{column} LIKE {}", self.like(pattern)),
                _ => format!("{column} ILIKE {}", self.like(pattern)),
            },
            Test::Matches { pattern, cased: true } => match self.dialect {
                Dialect::Sqlite => format!("{column} GLOB {}", self.string(&glob(pattern))),
                _ => format!("{column} LIKE {}", self.like(pattern)),
            },
            Test::Regex { pattern, ignore_case, multi_line, dot_all } => {
                let regex = self.regex(column, pattern, *ignore_case, *multi_line, *dot_all)?;
                match self.regex_guard(lowered, pattern, *ignore_case, *multi_line, *dot_all) {
                    Some(guard) => format!("({guard}) AND {regex}"),
                    None => regex,
                }
            }
            Test::Cidr(network) => self.cidr(column, network)?,
            Test::Compare { op, value } => {
                let operator = operator(*op, "=", "<>");
                format!("{} {operator} {}", self.as_number(column), number(*value))
            }
            Test::Exists(true) => format!("{column} IS NOT NULL"),
            Test::Exists(false) | Test::IsNull => format!("{column} IS NULL"),
            Test::FieldRef { other, mode } => self.field_ref(column, &self.identifier(other), *mode),
            Test::TimePart { .. } => return unsupported("time-part modifier (`hour`, `day` ...) in SQL"),
        })
    }

    fn regex(
        &self,
        column: &str,
        pattern: &str,
        ignore_case: bool,
        multi_line: bool,
        dot_all: bool,
    ) -> Result<String, Unsupported> {
        let inline = inline_flags(pattern, ignore_case, multi_line, dot_all);
        Ok(match self.dialect {
            Dialect::Sqlite => format!("{column} REGEXP {}", self.string(&inline)),
            Dialect::Spark => format!("{column} RLIKE {}", self.string(&inline)),
            Dialect::Duckdb => format!("regexp_matches({column}, {})", self.string(&inline)),
            Dialect::Postgres if multi_line || dot_all => return unsupported("regex flags m or s in PostgreSQL"),
            Dialect::Postgres => {
                let operator = if ignore_case { "~*" } else { "~" };
                format!("{column} {operator} {}", self.string(pattern))
            }
        })
    }

    /// On lower-cased columns in Spark: a test that holds wherever the regular expression
    /// matches, and costs far less (substring searches of the literals one of which every match
    /// holds, see [`harrier_ir::required`]). Java's matcher backtracks: SigmaHQ's `.+` and
    /// `.*` patterns over script blocks cost it more than all other tests of a scan together.
    /// Only ASCII literals are used, which Java lower-cases as Rust does.
    fn regex_guard(
        &self,
        lowered: &dyn Fn() -> String,
        pattern: &str,
        ignore_case: bool,
        multi_line: bool,
        dot_all: bool,
    ) -> Option<String> {
        if !self.lowered || self.dialect != Dialect::Spark {
            return None;
        }
        let literals = required_literals(pattern, ignore_case, multi_line, dot_all)?;
        if !literals.iter().all(|literal| literal.is_ascii()) {
            return None;
        }
        Some(self.any_contained(&lowered(), literals))
    }

    /// A value among a multivalue column's lines (the data model datasets of an event).
    fn member(&self, column: &str, value: &str) -> String {
        let newline = if self.dialect == Dialect::Sqlite { "char(10)" } else { "chr(10)" };
        format!("instr({newline} || {column} || {newline}, {newline} || {} || {newline}) > 0", self.string(value))
    }

    /// The column's text as a number; text that is not one gives NULL (so the test is false).
    fn as_number(&self, column: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!(
                "(CASE WHEN trim({column}) GLOB '*[0-9]*' AND trim({column}) NOT GLOB '*[^0-9.eE+-]*' THEN CAST({column} AS REAL) END)"
            ),
            Dialect::Duckdb => format!("TRY_CAST({column} AS DOUBLE)"),
            Dialect::Postgres => {
                format!(
                    "(CASE WHEN {column} ~ '^\\s*[-+]?[0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?\\s*$' THEN CAST({column} AS DOUBLE PRECISION) END)"
                )
            }
            Dialect::Spark => format!("TRY_CAST({column} AS DOUBLE)"),
        }
    }

    fn field_ref(&self, column: &str, other: &str, mode: FieldRefMode) -> String {
        let (left, right) = (format!("lower({column})"), format!("lower({other})"));
        let position = match self.dialect {
            Dialect::Postgres => format!("strpos({left}, {right})"),
            _ => format!("instr({left}, {right})"),
        };
        match mode {
            FieldRefMode::Equals => format!("{left} = {right}"),
            FieldRefMode::Contains => format!("{position} > 0"),
            FieldRefMode::StartsWith => format!("{position} = 1"),
            FieldRefMode::EndsWith => {
                format!("substr({left}, length({left}) - length({right}) + 1) = {right}")
            }
        }
    }

    /// An IPv4 network as text prefixes: whole octets by `LIKE 'a.b.%'`, a partial octet by
    /// listing its values; an IPv6 network as a regular expression over the address text.
    fn cidr(&self, column: &str, network: &ipnet::IpNet) -> Result<String, Unsupported> {
        let network = match network {
            ipnet::IpNet::V4(network) => network,
            ipnet::IpNet::V6(network) => {
                return self.regex(column, &crate::ipv6::network_regex(network), false, false, false);
            }
        };
        let octets = network.network().octets();
        let whole = usize::from(network.prefix_len() / 8);
        let spare = network.prefix_len() % 8;
        let base: Vec<String> = octets[..whole].iter().map(u8::to_string).collect();
        if whole == 4 {
            return Ok(format!("{column} = {}", self.string(&base.join("."))));
        }
        let prefixes: Vec<String> = if spare == 0 {
            vec![base.join(".")]
        } else {
            let first = octets[whole] & (0xff << (8 - spare));
            let count = 1u16 << (8 - spare);
            (0..count)
                .map(|step| [base.clone(), vec![(u16::from(first) + step).to_string()]].concat().join("."))
                .collect()
        };
        if self.dialect == Dialect::Spark && prefixes.len() > 1 {
            // One test rather than up to 128: Spark compiles each into the scan's one method.
            return self.regex(column, &format!("^{}\\.", alternation(&prefixes)), false, false, false);
        }
        let tests: Vec<String> = prefixes
            .iter()
            .map(|prefix| {
                let dotted = if prefix.is_empty() { String::new() } else { format!("{prefix}.") };
                format!("{column} LIKE {}", self.string(&format!("{dotted}%")))
            })
            .collect();
        Ok(tests.join(" OR "))
    }
}

/// Equality tests of one column from which an OR tests them as one `IN`: Spark compiles an OR
/// of hundreds of tests (SigmaHQ's lists of driver hashes) into one Java method, past the
/// JVM's 64 KB, and then runs its whole scan without generated code; `IN` is a hash set.
const GROUPED_LITERALS: usize = 16;

/// Contains, prefix or suffix tests of one column from which an OR tests them as one regular
/// expression (SigmaHQ's emoji command lines: nearly a thousand). Fewer stay apart: Spark's
/// own substring tests are faster than a regex of alternatives, unless the literals share their
/// beginnings ([`SHARED_START_PATTERNS`]).
const GROUPED_PATTERNS: usize = 64;

/// Contains, prefix or suffix tests of one column from which an OR tests them as one regular
/// expression when they begin with a few characters, a quarter as many as the literals (hashes
/// that all begin `sha256=`, base64 text in three alignments): the regex is a trie (see
/// [`alternation`]), so Java's matcher tries as many alternatives per character as there are
/// first characters, where the substring tests would search for every literal.
const SHARED_START_PATTERNS: usize = 8;

/// The (field, kind) pairs of which an OR holds enough literal tests to test them as one
/// ([`GROUPED_LITERALS`], [`GROUPED_PATTERNS`], [`SHARED_START_PATTERNS`]), each with its
/// literals, in the order the OR first names them.
fn literal_groups<'e>(literals: &[Option<((&'e str, Shape), &'e str)>]) -> Vec<((&'e str, Shape), Vec<&'e str>)> {
    let mut groups: Vec<((&str, Shape), Vec<&str>)> = Vec::new();
    for (key, literal) in literals.iter().flatten() {
        match groups.iter_mut().find(|(grouped, _)| grouped == key) {
            Some((_, group)) => group.push(literal),
            None => groups.push((*key, vec![literal])),
        }
    }
    groups.retain(|((_, shape), group)| worth_grouping(*shape, group));
    groups
}

/// Whether an OR's literal tests of one kind on one column are better tested as one.
fn worth_grouping(shape: Shape, literals: &[&str]) -> bool {
    if shape == Shape::Equal {
        return literals.len() >= GROUPED_LITERALS;
    }
    let starts: BTreeSet<Option<char>> = literals.iter().map(|literal| literal.to_lowercase().chars().next()).collect();
    literals.len() >= GROUPED_PATTERNS
        || (literals.len() >= SHARED_START_PATTERNS && literals.len() >= 4 * starts.len())
}

/// An AND's items, cheapest first ([`cost`]) and NOTs last: Spark's generated code stops at the
/// first item that is false, and SigmaHQ rules often test a command line for many substrings
/// before the image name that rules out most events, while a NOT (a filter of known false
/// positives) is nearly always true. In SQL's three-valued logic AND is commutative, and no
/// item can fail (numbers are read with TRY_CAST), so the order changes only the cost.
fn cheapest_first(items: &[Expr]) -> Vec<&Expr> {
    let mut ordered: Vec<&Expr> = items.iter().collect();
    ordered.sort_by_cached_key(|item| (matches!(item, Expr::Not(_)), cost(item)));
    ordered
}

/// A rough cost of testing `condition` on one event where it is false, in equality tests: a
/// substring search reads the whole value, other patterns and regular expressions read it
/// with more work per character, and a keyword search parses the event's text.
fn cost(condition: &Expr) -> u64 {
    match condition {
        Expr::And(items) | Expr::Or(items) => items.iter().map(cost).fold(0, u64::saturating_add),
        Expr::Not(item) => cost(item),
        Expr::Const(_) => 0,
        Expr::Pred(Predicate { field: None, .. }) => 64,
        Expr::Pred(Predicate { test, .. }) => match test {
            Test::Matches { pattern, .. } => match pattern.tokens() {
                [Token::Literal(_)] | [Token::Literal(_), Token::AnyRun] | [Token::AnyRun, Token::Literal(_)] => 1,
                [Token::AnyRun, Token::Literal(_), Token::AnyRun] => 4,
                _ => 8,
            },
            Test::Regex { .. } => 16,
            _ => 2,
        },
    }
}

/// `(a AND b) OR (a AND c)` as `a AND (b OR c)` (true in three-valued logic too), when every
/// item of an OR is an AND sharing conjuncts: the 4688 reading of a process-creation rule
/// repeats its guard in each alternative, which would keep the literals apart.
fn factored(items: &[Expr]) -> Option<Expr> {
    let all: Vec<&[Expr]> = items
        .iter()
        .map(|item| match item {
            Expr::And(parts) => Some(parts.as_slice()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let (first, others) = all.split_first()?;
    // Checking a part against every alternative costs their size: a bound keeps it linear.
    if first.len() > MAX_FACTORED_PARTS {
        return None;
    }
    let common: Vec<&Expr> = first.iter().filter(|part| others.iter().all(|other| other.contains(part))).collect();
    if common.is_empty() {
        return None;
    }
    let is_common = |part: &&Expr| common.contains(part);
    let mut rests = Vec::with_capacity(all.len());
    for parts in all {
        let rest: Vec<Expr> = parts.iter().filter(|part| !is_common(part)).cloned().collect();
        match rest.len() {
            // An alternative that is the common part alone makes the OR of the rests true.
            0 => return Some(Expr::And(common.into_iter().cloned().collect())),
            1 => rests.extend(rest),
            _ => rests.push(Expr::And(rest)),
        }
    }
    Some(Expr::And(common.into_iter().cloned().chain([Expr::Or(rests)]).collect()))
}

/// The lower-cased literals one of which every match of a regular expression holds (see
/// [`harrier_ir::required`]), when known.
fn required_literals(pattern: &str, ignore_case: bool, multi_line: bool, dot_all: bool) -> Option<Vec<String>> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(ignore_case)
        .multi_line(multi_line)
        .dot_matches_new_line(dot_all)
        .build()
        .parse(pattern)
        .ok()?;
    harrier_ir::required::literals(&hir)
}

/// `text` as serde_json (the lake writer's) writes it inside a string, when it is plain (see
/// [`Sql::keyword_guard`]).
fn as_json_text(text: &str) -> Option<String> {
    let plain = text.is_ascii() && !text.chars().any(|c| c.is_ascii_control());
    let number_like = text.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e'));
    if !plain || number_like || text.is_empty() {
        return None;
    }
    let quoted = serde_json::to_string(text).ok()?;
    Some(quoted[1..quoted.len() - 1].to_owned())
}

/// Most substrings [`covering_substrings`] gives: a guard of more tests saves little.
const MAX_COVERING_SUBSTRINGS: usize = 8;

/// Shortest substring of a value's literals [`covering_substrings`] tries (in characters): a
/// shorter one occurs in too many values to save anything.
const SHORTEST_COVERING_SUBSTRING: usize = 4;

/// Shortest substring of keyword literals [`covering_substrings`] tries for a search of the
/// event's text (in characters).
const SHORTEST_KEYWORD_GUARD: usize = 2;

/// Longest substring [`covering_substrings`] tries (in characters).
const LONGEST_COVERING_SUBSTRING: usize = 12;

/// A few texts, one of which each literal contains (`.ps1` for a list of PowerShell script
/// names), chosen greedily: the substring of the first literal not yet covered that the most
/// others contain, the longer on a tie; none shorter than `shortest` characters but a literal
/// itself. `None` when that takes more than [`MAX_COVERING_SUBSTRINGS`].
fn covering_substrings(literals: &[String], shortest: usize) -> Option<Vec<String>> {
    let mut left: Vec<&str> = literals.iter().map(String::as_str).collect();
    let mut cover = Vec::new();
    while let Some(first) = left.first() {
        if cover.len() == MAX_COVERING_SUBSTRINGS {
            return None;
        }
        let best = substrings(first, shortest)
            .max_by_key(|text| (left.iter().filter(|literal| literal.contains(text)).count(), text.len()))
            .unwrap_or(first)
            .to_owned();
        left.retain(|literal| !literal.contains(&best));
        cover.push(best);
    }
    Some(cover)
}

/// The substrings of `text` of `shortest` to [`LONGEST_COVERING_SUBSTRING`] characters.
fn substrings(text: &str, shortest: usize) -> impl Iterator<Item = &str> {
    let bounds: Vec<usize> = text.char_indices().map(|(at, _)| at).chain([text.len()]).collect();
    let spans: Vec<(usize, usize)> = (0..bounds.len())
        .flat_map(|start| (shortest..=LONGEST_COVERING_SUBSTRING).map(move |length| (start, start + length)))
        .filter(|(_, end)| *end < bounds.len())
        .collect();
    spans.into_iter().map(move |(start, end)| &text[bounds[start]..bounds[end]])
}

const MAX_FACTORED_PARTS: usize = 64;

/// How a grouped literal is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Equal,
    Contains,
    StartsWith,
    EndsWith,
}

/// The lambda variable of a keyword search: one value of the event.
const KEYWORD_VALUE: &str = "_value";

/// Whether a test on [`KEYWORD_VALUE`] holds for a value of the array `values`.
fn exists(values: &str, test: &str) -> String {
    format!("exists({values}, {KEYWORD_VALUE} -> {test})")
}

/// Operands joined as a balanced tree of parentheses: SQLite limits expression depth to
/// 1000, and a rule can OR together thousands of hashes.
fn balanced(parts: &[String], operator: &str) -> String {
    const FLAT: usize = 64;
    if parts.len() <= FLAT {
        return parts.join(operator);
    }
    let half = parts.len().div_ceil(2);
    format!("({}){operator}({})", balanced(&parts[..half], operator), balanced(&parts[half..], operator))
}

/// A SQLite GLOB pattern (case-sensitive): `*`, `?` and `[` taken literally through classes.
fn glob(pattern: &Pattern) -> String {
    render_pattern(pattern, "*", "?", &|text| {
        text.chars().map(|c| if matches!(c, '*' | '?' | '[') { format!("[{c}]") } else { c.to_string() }).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spark() -> Sql {
        Sql { dialect: Dialect::Spark, lowered: true, values: true }
    }

    fn matches(field: &str, tokens: Vec<Token>) -> Expr {
        let test = Test::Matches { pattern: Pattern::from_tokens(tokens), cased: false };
        Expr::Pred(Predicate { field: Some(field.into()), test })
    }

    fn contains(field: &str, text: &str) -> Expr {
        matches(field, vec![Token::AnyRun, Token::Literal(text.into()), Token::AnyRun])
    }

    #[test]
    fn many_literals_on_one_column_are_one_test_and_a_few_stay_apart() {
        let many: Vec<Expr> = (0..GROUPED_PATTERNS).map(|n| contains("CommandLine", &format!("A.{n}"))).collect();
        let sql = spark().expr(&Expr::Or(many)).unwrap();
        assert!(sql.starts_with("(`CommandLine::lower` RLIKE '(?:a\\\\.(?:0|1(?:0|1|"), "{sql}");
        assert_eq!(sql.matches("RLIKE").count(), 1, "{sql}");
        assert!(!sql.contains(" LIKE "), "{sql}");

        let ends: Vec<Expr> = (0..GROUPED_PATTERNS)
            .map(|n| matches("Image", vec![Token::AnyRun, Token::Literal(format!("\\{n}.exe"))]))
            .collect();
        assert!(spark().expr(&Expr::Or(ends)).unwrap().ends_with(")\\\\z')"));

        let equal: Vec<Expr> =
            (0..GROUPED_LITERALS).map(|n| matches("Hashes", vec![Token::Literal(format!("X{n}"))])).collect();
        assert!(spark().expr(&Expr::Or(equal)).unwrap().starts_with("(`Hashes::lower` IN ('x0', 'x1', "));

        let letter = |n: usize| char::from(b'a' + (n % 26) as u8);
        let few: Vec<Expr> =
            (0..GROUPED_PATTERNS - 1).map(|n| contains("CommandLine", &format!("{}{n}", letter(n)))).collect();
        let sql = spark().expr(&Expr::Or(few)).unwrap();
        assert_eq!(sql.matches(" LIKE ").count(), GROUPED_PATTERNS - 1, "{sql}");
    }

    #[test]
    fn an_and_tests_its_cheapest_items_first_and_its_nots_last() {
        let filter = Expr::Not(Box::new(matches("ParentImage", vec![Token::Literal("C:\\a.exe".into())])));
        let image = matches("Image", vec![Token::AnyRun, Token::Literal("\\b.exe".into())]);
        let rule = Expr::And(vec![filter, contains("CommandLine", "-c"), image]);
        let sql = spark().expr(&rule).unwrap();
        let at = |text: &str| sql.find(text).unwrap_or_else(|| panic!("{text} in {sql}"));
        assert!(at("`Image::lower`") < at("`CommandLine::lower`"), "{sql}");
        assert!(at("`CommandLine::lower`") < at("NOT"), "{sql}");
        let sqlite = Sql::new(Dialect::Sqlite).expr(&rule).unwrap();
        assert!(sqlite.starts_with("(NOT"), "other dialects keep the rule's order: {sqlite}");
    }

    #[test]
    fn a_few_literals_are_one_test_when_they_begin_alike() {
        let hashes = |count: usize| -> Expr {
            Expr::Or((0..count).map(|n| contains("Hashes", &format!("SHA256={n:064x}"))).collect())
        };
        let sql = spark().expr(&hashes(SHARED_START_PATTERNS)).unwrap();
        assert!(sql.contains("`Hashes::lower` RLIKE '(?:sha256=0000"), "{sql}");
        assert_eq!(sql.matches("LIKE").count(), 2, "a guard and the regex: {sql}");
        let sql = spark().expr(&hashes(SHARED_START_PATTERNS - 1)).unwrap();
        assert_eq!(sql.matches(" LIKE ").count(), SHARED_START_PATTERNS - 1, "{sql}");

        let starts = ["a", "b"];
        let mixed: Vec<Expr> =
            (0..SHARED_START_PATTERNS).map(|n| contains("CommandLine", &format!("{}{n}", starts[n % 2]))).collect();
        assert_eq!(spark().expr(&Expr::Or(mixed)).unwrap().matches("RLIKE").count(), 1);
        let mixed: Vec<Expr> = (0..SHARED_START_PATTERNS)
            .map(|n| contains("CommandLine", &format!("{}{n}", ["a", "b", "c"][n % 3])))
            .collect();
        assert_eq!(spark().expr(&Expr::Or(mixed)).unwrap().matches("RLIKE").count(), 0, "8 literals, 3 beginnings");
    }

    #[test]
    fn long_literal_lists_are_tested_after_what_their_literals_share() {
        let scripts: Vec<Expr> =
            (0..GROUPED_PATTERNS).map(|n| contains("ContextInfo", &format!("Invoke-Tool{n}.ps1"))).collect();
        let sql = spark().expr(&Expr::Or(scripts)).unwrap();
        assert!(sql.starts_with("((`ContextInfo::lower` LIKE '%"), "{sql}");
        assert_eq!(sql.matches(" LIKE ").count(), 1, "one substring covers them all: {sql}");
        assert!(sql.contains(") AND `ContextInfo::lower` RLIKE '(?:invoke\\\\-tool(?:0\\\\.ps1|"), "{sql}");

        let emoji: Vec<Expr> = ["😀", "🦆", "☺️"]
            .iter()
            .cycle()
            .take(GROUPED_PATTERNS)
            .enumerate()
            .map(|(n, text)| contains("CommandLine", &format!("{text}{n}")))
            .collect();
        let sql = spark().expr(&Expr::Or(emoji)).unwrap();
        assert!(
            sql.starts_with("(`CommandLine::lower` RLIKE '[^\\\\x00-\\\\x7F]' AND `CommandLine::lower` RLIKE '(?:"),
            "{sql}"
        );

        let unrelated: Vec<String> = (0..=MAX_COVERING_SUBSTRINGS).map(|n| format!("{}", n * 1111)).collect();
        assert_eq!(covering_substrings(&unrelated, SHORTEST_COVERING_SUBSTRING), None);
        let short = vec!["ab".to_owned(), "xyz.dll".to_owned(), "q.dll".to_owned()];
        assert_eq!(
            covering_substrings(&short, SHORTEST_COVERING_SUBSTRING),
            Some(vec!["ab".to_owned(), ".dll".to_owned()])
        );
        let mimikatz: Vec<String> =
            ["dpapi::masterkey", "lsadump::", "mimidrv.sys", "\\mimilib.dll"].map(String::from).to_vec();
        assert_eq!(covering_substrings(&mimikatz, 2), Some(vec!["::".to_owned(), "mimi".to_owned()]));
        assert_eq!(
            covering_substrings(&mimikatz, SHORTEST_COVERING_SUBSTRING),
            Some(vec!["i::masterkey".to_owned(), "lsadump::".to_owned(), "mimi".to_owned()])
        );
    }

    #[test]
    fn keyword_searches_parse_the_values_only_where_the_event_text_holds_a_literal() {
        let keyword = |text: &str| {
            Expr::Pred(Predicate {
                field: None,
                test: Test::Matches { pattern: Pattern::literal(text).contained(), cased: false },
            })
        };
        let sql = spark().expr(&Expr::Or(vec![keyword("sekurlsa::"), keyword("LSADump::")])).unwrap();
        assert!(
            sql.starts_with(
                "((`::event::lower` LIKE '%lsa%' ESCAPE '\\\\') AND exists(transform(flatten(transform(map_values(from_json(`::event`, "
            ),
            "one substring both literals hold: {sql}"
        );
        let path = spark().expr(&keyword("C:\\Temp")).unwrap();
        assert!(
            path.starts_with("(`::event::lower` LIKE '%c:\\\\\\\\\\\\\\\\temp%' ESCAPE '\\\\') AND exists("),
            "a backslash is doubled as JSON writes it: {path}"
        );
        assert_eq!(sql.matches("exists(").count(), 1, "{sql}");
        let number = spark().expr(&keyword("4688")).unwrap();
        assert!(number.starts_with("exists("), "a number's JSON text may differ from its value's: {number}");
        let unlowered = Sql { dialect: Dialect::Spark, lowered: false, values: true };
        assert!(unlowered.expr(&keyword("sekurlsa::")).unwrap().starts_with("exists("));
    }

    #[test]
    fn a_regex_is_tested_after_the_literals_every_match_holds() {
        let regex = |pattern: &str| {
            let test = Test::Regex { pattern: pattern.into(), ignore_case: false, multi_line: false, dot_all: false };
            spark().expr(&Expr::Pred(Predicate { field: Some("Payload".into()), test })).unwrap()
        };
        assert_eq!(
            regex("cmd.{0,5}(?:/c|/r).+Clipboard]::"),
            "(`Payload::lower` LIKE '%clipboard]::%' ESCAPE '\\\\') AND `Payload` RLIKE 'cmd.{0,5}(?:/c|/r).+Clipboard]::'"
        );
        assert_eq!(regex("^[0-9]+$"), "`Payload` RLIKE '^[0-9]+$'", "no literal every match holds");
        assert_eq!(regex("Straße.+x"), "`Payload` RLIKE 'Straße.+x'", "Java may lower-case past ASCII otherwise");
        let sqlite = Sql { dialect: Dialect::Sqlite, lowered: true, values: false };
        let test = Test::Regex { pattern: "cmd.+clip".into(), ignore_case: false, multi_line: false, dot_all: false };
        assert!(!sqlite.expr(&Expr::Pred(Predicate { field: Some("a".into()), test })).unwrap().contains("LIKE"));
    }

    #[test]
    fn a_guard_every_alternative_repeats_is_factored_out_once() {
        let guard = Expr::Pred(Predicate { field: Some("Version".into()), test: Test::Exists(true) });
        let alternatives: Vec<Expr> = (0..GROUPED_PATTERNS)
            .map(|n| Expr::And(vec![guard.clone(), contains("CommandLine", &n.to_string())]))
            .collect();
        let sql = spark().expr(&Expr::Or(alternatives)).unwrap();
        assert_eq!(sql.matches("IS NOT NULL").count(), 1, "{sql}");
        assert_eq!(sql.matches("RLIKE").count(), 1, "{sql}");
        assert_eq!(
            factored(&[Expr::And(vec![guard.clone()]), Expr::And(vec![guard.clone(), contains("a", "b")])]),
            Some(Expr::And(vec![guard])),
            "an alternative that is the guard alone leaves the guard"
        );
    }

    #[test]
    fn a_network_with_spare_bits_is_one_prefix_regex_in_spark() {
        let network = Expr::Pred(Predicate {
            field: Some("DestinationIp".into()),
            test: Test::Cidr("172.16.0.0/12".parse().unwrap()),
        });
        let sql = spark().expr(&network).unwrap();
        assert_eq!(sql, "`DestinationIp` RLIKE '^(?:172\\\\.(?:1(?:6|7|8|9)|2(?:0|1|2|3|4|5|6|7|8|9)|3(?:0|1)))\\\\.'");
        let sqlite = Sql::new(Dialect::Sqlite).expr(&network).unwrap();
        assert_eq!(sqlite.matches(" LIKE ").count(), 16, "{sqlite}");
    }
}
