//! SQL over a table with one column per field (`harrier events` exports, Zircolite's layout):
//! `LIKE` in SQLite (which ignores ASCII case), `ILIKE` in DuckDB, PostgreSQL and Spark, with
//! `ESCAPE '\'`; `NOT` guarded with `COALESCE` so an absent (NULL) field makes it true.

use crate::{Dialect, Unsupported, inline_flags, number, operator, render_pattern, unsupported};
use harrier_ir::{Expr, FieldRefMode, Pattern, Predicate, Test};

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
}

impl Sql {
    pub(crate) fn new(dialect: Dialect) -> Sql {
        Sql { dialect, lowered: false }
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
        let join = |items: &[Expr], operator: &str| -> Result<String, Unsupported> {
            let parts: Result<Vec<String>, Unsupported> =
                items.iter().map(|item| self.tree(item, relaxed).map(|text| format!("({text})"))).collect();
            Ok(balanced(&parts?, operator))
        };
        Ok(match condition {
            Expr::And(items) => join(items, " AND ")?,
            Expr::Or(items) => join(items, " OR ")?,
            Expr::Not(item) => format!("NOT COALESCE(({}), FALSE)", self.tree(item, relaxed.map(|value| !value))?),
            Expr::Pred(predicate) => match (self.predicate(predicate), relaxed) {
                (Ok(text), _) => text,
                (Err(why), None) => return Err(why),
                (Err(_), Some(value)) => self.boolean(value).into(),
            },
            Expr::Const(value) => self.boolean(*value).into(),
        })
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
            return unsupported("keyword search (no field): a SQL table has no \"any column\"");
        };
        let column = self.identifier(field);
        if field == DATAMODEL_FIELD
            && let Test::Matches { pattern, .. } = &predicate.test
            && let Some(dataset) = pattern.as_literal()
        {
            return Ok(self.member(&column, dataset));
        }
        Ok(match &predicate.test {
            Test::Matches { pattern, cased: false } if self.lowered => {
                let lowered_column = self.identifier(&format!("{field}{}", crate::LOWERED_SUFFIX));
                format!("{lowered_column} LIKE {}", self.like(&crate::lowered(pattern)))
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
                let inline = inline_flags(pattern, *ignore_case, *multi_line, *dot_all);
                match self.dialect {
                    Dialect::Sqlite => format!("{column} REGEXP {}", self.string(&inline)),
                    Dialect::Spark => format!("{column} RLIKE {}", self.string(&inline)),
                    Dialect::Duckdb => format!("regexp_matches({column}, {})", self.string(&inline)),
                    Dialect::Postgres if *multi_line || *dot_all => {
                        return unsupported("regex flags m or s in PostgreSQL");
                    }
                    Dialect::Postgres => {
                        let operator = if *ignore_case { "~*" } else { "~" };
                        format!("{column} {operator} {}", self.string(pattern))
                    }
                }
            }
            Test::Cidr(network) => self.cidr(&column, network)?,
            Test::Compare { op, value } => {
                let operator = operator(*op, "=", "<>");
                format!("{} {operator} {}", self.as_number(&column), number(*value))
            }
            Test::Exists(true) => format!("{column} IS NOT NULL"),
            Test::Exists(false) | Test::IsNull => format!("{column} IS NULL"),
            Test::FieldRef { other, mode } => self.field_ref(&column, &self.identifier(other), *mode),
            Test::TimePart { .. } => return unsupported("time-part modifier (`hour`, `day` ...) in SQL"),
        })
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
    /// listing its values.
    fn cidr(&self, column: &str, network: &ipnet::IpNet) -> Result<String, Unsupported> {
        let ipnet::IpNet::V4(network) = network else {
            return unsupported("IPv6 network (`cidr`) in SQL");
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
