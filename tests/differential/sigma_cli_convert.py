#!/usr/bin/env python3
"""Harrier's query_string and SPL conversions against pySigma's (what `sigma convert` prints).

For SigmaHQ's Windows rules, pySigma converts with `-t lucene -p sysmon -p ecs_windows` and
`-t splunk -p sysmon -p splunk_windows`; Harrier with `convert --to lucene --mapping ecs` and
`--to splunk --mapping splunk-windows`, and with process_creation routed to Sysmon only (as
pySigma's sysmon pipeline does; Harrier also reads Security 4688 by default). Both queries are
parsed into boolean trees, flattened, their operands sorted, field names and values compared
ignoring case (Harrier's case-insensitive regex form on case-sensitive fields reads back as
the value it stands for), so formatting, operand order and quoting do not count. Differences
are printed by class.

Usage: sigma_cli_convert.py HARRIER SHARED_DATA [--at-least N] [--max-unexplained N]
Needs: pip install pysigma==1.5.1 pysigma-backend-elasticsearch pysigma-backend-splunk
       pysigma-pipeline-sysmon pysigma-pipeline-windows
"""
import argparse
import collections
import json
import pathlib
import subprocess
import sys
import tempfile

from sigma.backends.elasticsearch import LuceneBackend
from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection
from sigma.pipelines.elasticsearch.windows import ecs_windows
from sigma.pipelines.splunk import splunk_windows_pipeline
from sigma.pipelines.sysmon import sysmon_pipeline

SYSMON_ONLY_PROCESS_CREATION = """product: windows
categories:
  process_creation: [{channel: Microsoft-Windows-Sysmon/Operational, event_ids: [1]}]
"""


# ---- a small reader for both query languages: tokens, then AND/OR/NOT trees ----------------

def lucene_tokens(text):
    tokens, i = [], 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(c)
            i += 1
        else:
            start, value = i, []
            while i < len(text) and not text[i].isspace() and text[i] not in "()":
                if text[i] == "\\" and i + 1 < len(text):
                    value.append(text[i:i + 2])
                    i += 2
                elif text[i] == "/" and (i == start or text[i - 1] == ":"):
                    end = i + 1
                    while end < len(text) and text[end] != "/":
                        end += 2 if text[end] == "\\" else 1
                    value.append(text[i:end + 1])
                    i = end + 1
                elif text[i] == '"':
                    end = closing_quote(text, i)
                    value.append(text[i:end + 1])
                    i = end + 1
                else:
                    value.append(text[i])
                    i += 1
            word = "".join(value)
            if word.endswith(":") and i < len(text) and text[i] == "(":
                tokens.append(("group", word[:-1]))
                i += 1
            else:
                tokens.append(word)
    return tokens


def closing_quote(text, start):
    """Where the quoted string that opens at `start` closes (backslash escapes skipped)."""
    end = start + 1
    while text[end] != '"':
        end += 2 if text[end] == "\\" else 1
    return end


def outside_quotes(text, separator):
    """`text` split once at the first `separator` that is not inside a quoted string."""
    i = 0
    while i < len(text):
        if text[i] == '"':
            i = closing_quote(text, i) + 1
        elif text.startswith(separator, i):
            return text[:i], text[i + len(separator):]
        else:
            i += 1
    return text, ""


def spl_tokens(text):
    tokens, i = [], 0
    while i < len(text):
        c = text[i]
        if c.isspace() or c == ",":
            i += 1
        elif c in "()":
            tokens.append(c)
            i += 1
        else:
            value = []
            while i < len(text) and not text[i].isspace() and text[i] not in "(),":
                if text[i] == '"':
                    end = closing_quote(text, i)
                    value.append(text[i:end + 1])
                    i = end + 1
                else:
                    value.append(text[i])
                    i += 1
            word = "".join(value)
            if word == "IN" and tokens and isinstance(tokens[-1], str):
                tokens[-1] = ("group", tokens[-1])
                while text[i].isspace():
                    i += 1
                i += 1  # the "("
            else:
                tokens.append(word)
    return tokens


class Parser:
    """AND/OR/NOT with parentheses and `field:(...)`/`field IN (...)` groups. In Splunk's
    search OR binds tighter than AND (implicit or written); in Lucene AND binds tighter."""

    def __init__(self, tokens, leaf, implicit_and):
        self.tokens, self.at, self.leaf, self.implicit_and = tokens, 0, leaf, implicit_and

    def peek(self):
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self):
        self.at += 1
        return self.tokens[self.at - 1]

    def parse(self, field=None):
        return self.and_(field) if self.implicit_and else self.or_(field)

    def or_(self, field):
        operand = self.unary if self.implicit_and else self.and_
        items = [operand(field)]
        while self.peek() == "OR":
            self.take()
            items.append(operand(field))
        return node("or", items)

    def and_(self, field):
        operand = self.or_ if self.implicit_and else self.unary
        items = [operand(field)]
        while True:
            token = self.peek()
            if token == "AND":
                self.take()
            elif not (self.implicit_and and token not in (None, ")", "OR")):
                break
            items.append(operand(field))
        return node("and", items)

    def unary(self, field):
        if self.peek() == "NOT":
            self.take()
            return ("not", self.unary(field))
        token = self.take()
        if token == "(":
            inner = self.parse(field)
            self.take()
            return inner
        if isinstance(token, tuple) and self.implicit_and:  # `F IN (a, b)`: any of the values
            values = []
            while self.peek() != ")":
                values.append(self.leaf(self.take(), token[1]))
            self.take()
            return node("or", values)
        if isinstance(token, tuple):
            inner = self.parse(token[1])
            self.take()
            return inner
        return self.leaf(token, field)


def node(kind, items):
    flat = []
    for item in items:
        flat.extend(item[1] if item[0] == kind else [item])
    return flat[0] if len(flat) == 1 else (kind, tuple(sorted(set(flat), key=repr)))


def decode_value(value):
    """A value as (literal-or-wildcard pieces) in lower case: `\\x` literal, `*`/`?` wildcards,
    Harrier's both-case regex (`/[aA].*/`) read back into the same form."""
    if len(value) > 1 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if len(value) > 1 and value[0] == value[-1] == "/":
        body, out, i = value[1:-1], [], 0
        while i < len(body):
            if body[i] == "[" and i + 3 < len(body) and body[i + 3] == "]" and body[i + 1].lower() == body[i + 2].lower():
                out.append(body[i + 1].lower())
                i += 4
            elif body[i] == "\\":
                out.append(body[i + 1].lower())
                i += 2
            elif body[i:i + 2] == ".*":
                out.append("\0*")
                i += 2
            elif body[i] == ".":
                out.append("\0?")
                i += 1
            elif body[i] not in "[](){}|+?*":
                out.append(body[i].lower())
                i += 1
            else:
                return ("regex", value)
        return "".join(out)
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            out.append(value[i + 1].lower())
            i += 2
        elif value[i] in "*?":
            out.append("\0" + value[i])
            i += 1
        else:
            out.append(value[i].lower())
            i += 1
    return "".join(out)


def lucene_leaf(token, field):
    if field is None:
        name, _, value = token.partition(":")
        while name.endswith("\\"):  # an escaped colon in a bare value
            rest, _, value = value.partition(":")
            name = name + ":" + rest
        return ("is", name.replace("\\", "").lower(), decode_value(value))
    return ("is", field.replace("\\", "").lower(), decode_value(token))


def spl_leaf(token, field):
    if field is not None:
        return ("is", field.lower(), spl_value(token))
    for operator in ("!=", "<=", ">=", "=", "<", ">"):
        if operator in token and not token.startswith('"') and token.index(operator) < token.find('"') % (len(token) + 1):
            name, value = token.split(operator, 1)
            kind = "is" if operator == "=" else operator
            return (kind, name.strip('"').lower(), spl_value(value))
    # A bare term matches inside values: `"x"` and `"*x*"` are the same search.
    return ("keyword", spl_value(token).removeprefix("\0*").removesuffix("\0*"))


def spl_value(value):
    if len(value) > 1 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value.lower().replace("*", "\0*")


def tree(query, language):
    if language == "lucene":
        return Parser(lucene_tokens(query), lucene_leaf, implicit_and=False).parse()
    search, pipes = outside_quotes(query.replace("\n| ", " | "), " | ")
    return (Parser(spl_tokens(search), spl_leaf, implicit_and=True).parse(), pipes.strip())


# ---- the comparison -------------------------------------------------------------------------

def harrier_conversions(binary, rules, target, mapping, logsource_map):
    out = subprocess.run([binary, "convert", "-r", str(rules), "--to", target, "--mapping", mapping,
                          "--logsource-map", logsource_map, "--skip-unsupported", "--format", "jsonl"],
                         capture_output=True, text=True, check=True)
    by_file = {}
    for line in out.stdout.splitlines():
        record = json.loads(line)
        by_file[(pathlib.Path(record["file"]).resolve(), record["line"])] = record
    return by_file


def leaves(item, found):
    if item[0] in ("and", "or"):
        for child in item[1]:
            leaves(child, found)
    elif item[0] == "not":
        leaves(item[1], found)
    else:
        found.add(item)
    return found


RESTRICTIONS = {"lucene": {"winlog.channel", "event.code"}, "splunk": {"source", "eventcode"}}

EXPLAINED = {
    "logsource": "pySigma's pipelines give this logsource no channel/event id; Harrier's map does",
    "regex": "regex: pySigma passes PCRE unchanged (Lucene regexes are anchored and lack \\d, (?:), ^/$); Harrier translates",
    "commands": "the commands after the search differ in form (`| where` field comparison ignoring case)",
    "direction": "ECS network.direction: Harrier maps SigmaHQ's Initiated 'true' to egress; pySigma maps only a boolean",
    "detection channel": "a Channel test in the detection: Harrier writes it as Splunk's source (WinEventLog:...), pySigma keeps Channel",
    "field case": "a field name in another case (`payload`): Harrier's mappings ignore case, pySigma's do not",
    "channel": "channel name: pySigma writes Security-Mitigations `Kernel Mode`/`User Mode`; Windows writes `KernelMode`/`UserMode`",
}


def classify(ours, theirs, target):
    """Why two queries differ: a key of EXPLAINED, or None."""
    (search_ours, pipes_ours), (search_theirs, pipes_theirs) = (
        (ours, "") if target == "lucene" else ours,
        (theirs, "") if target == "lucene" else theirs,
    )
    if search_ours == search_theirs:
        return "commands" if "where" in pipes_ours and "where" in pipes_theirs else None
    only_ours = leaves(search_ours, set()) - leaves(search_theirs, set())
    only_theirs = leaves(search_theirs, set()) - leaves(search_ours, set())
    if not only_theirs and {leaf[1] for leaf in only_ours} <= RESTRICTIONS[target]:
        return "logsource"
    if any("security-mitigations/kernel mode" in str(leaf[-1]) for leaf in only_theirs):
        return "channel"
    values = lambda found: sorted(str(leaf[2:]).lower() for leaf in found)
    if only_ours and values(only_ours) == values(only_theirs) and all(leaf[1].startswith("winlog.event_data.") for leaf in only_theirs):
        return "field case"
    if any(leaf[1] == "network.direction" for leaf in only_theirs):
        return "direction"
    if target == "splunk" and any(leaf[1] == "channel" for leaf in only_theirs):
        return "detection channel"
    if any(isinstance(leaf[-1], tuple) for leaf in only_ours | only_theirs) or "regex" in pipes_ours + pipes_theirs:
        return "regex"
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("harrier")
    parser.add_argument("shared")
    parser.add_argument("--at-least", type=int, default=200)
    parser.add_argument("--max-unexplained", type=int, default=0)
    args = parser.parse_args()
    rules_dir = pathlib.Path(args.shared) / "sigma" / "rules" / "windows"
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write(SYSMON_ONLY_PROCESS_CREATION)
        logsource_map = handle.name
    targets = {
        "lucene": (LuceneBackend(sysmon_pipeline() + ecs_windows()), "ecs"),
        "splunk": (SplunkBackend(sysmon_pipeline() + splunk_windows_pipeline()), "splunk-windows"),
    }
    unexplained_total = 0
    for target, (backend, mapping) in targets.items():
        ours = harrier_conversions(args.harrier, rules_dir, target, mapping, logsource_map)
        counts, examples = collections.Counter(), collections.defaultdict(list)
        for path in sorted(rules_dir.rglob("*.yml")):
            record = ours.get((path.resolve(), 1))
            if record is None:
                continue
            try:
                theirs = backend.convert(SigmaCollection.from_yaml(path.read_text()))
            except Exception:  # pySigma refuses the rule
                counts["pySigma cannot convert"] += 1
                continue
            if "skipped" in record:
                counts["Harrier refuses: " + record["skipped"].split(" (")[0][:60]] += 1
                continue
            if "unmapped_logsource" in record:  # converted without a logsource condition
                counts["Harrier: no logsource mapping, " + record["unmapped_logsource"][:50]] += 1
                continue
            if len(theirs) != 1:
                counts["pySigma gives several queries"] += 1
                continue
            try:
                mine, other = tree(record["query"], target), tree(theirs[0], target)
            except Exception as error:
                counts[f"unparsed ({type(error).__name__})"] += 1
                examples["unparsed"].append((record["rule_id"], record["query"], theirs[0]))
                continue
            if mine == other:
                counts["identical after normalizing"] += 1
                continue
            kind = classify(mine, other, target)
            counts["differ, explained: " + EXPLAINED[kind] if kind else "differ, unexplained"] += 1
            examples[kind or "unexplained"].append((record["rule_id"], record["query"], theirs[0]))
        compared = sum(count for label, count in counts.items() if label.startswith(("identical", "differ", "unparsed")))
        print(f"== {target}: {compared} rules compared")
        for label, count in counts.most_common():
            print(f"  {count:5}  {label}")
        for kind, items in examples.items():
            for rule, mine, theirs in items[:3]:
                print(f"  [{kind}] {rule}\n    harrier: {mine[:400]}\n    pysigma: {theirs[:400]}")
        unexplained = len(examples["unexplained"]) + len(examples["unparsed"])
        unexplained_total += unexplained
        if compared < args.at_least:
            print(f"only {compared} rules compared for {target} (at least {args.at_least} wanted)")
            sys.exit(1)
    print(f"{unexplained_total} unexplained differences (at most {args.max_unexplained} allowed)")
    sys.exit(1 if unexplained_total > args.max_unexplained else 0)


if __name__ == "__main__":
    main()
