#!/usr/bin/env python3
"""Decide every record from `nudge-ingest facts` files with set operations alone.

    groupby_decide.py FACTS.csv.gz…   (in run's input order)

Prints one TSV row a record: input number (0-based, the order given), line, outcome
(`accepted:identify`, `accepted:track` or `dropped:<reason>`) and, for an accepted
anonymous track, the link kind that resolved it (`anonymous_id`, `email`, `alias`).

This is the plan of docs/design/spark-plan.md run on DuckDB: rule 4 as a min over
message-id keys, identification as a min over users, anonymous tracks as an as-of
join over link events. It keeps no state from record to record and reads no record
twice in order, so where it agrees with `run`, the facts carry all that the rules
need and the plan is exact. The Spark job will run the same steps as DataFrames.
"""
import gzip
import sys

import duckdb

FACTS_VERSION = 1

PLAN = """
create table facts as
select *, (input::bigint << 40) | (line_v1::bigint << 1) as ord
from read_csv($files, header = true, all_varchar = false, filename = true,
              columns = {
    'line_v1': 'BIGINT', 'kind': 'VARCHAR', 'reason': 'VARCHAR',
    'message_hi': 'BIGINT', 'message_lo': 'BIGINT', 'user_hi': 'BIGINT', 'user_lo': 'BIGINT',
    'ext_id_hex': 'VARCHAR', 'raw_user_id_hex': 'VARCHAR', 'timestamp_valid': 'INTEGER',
    'anonymous_hi': 'BIGINT', 'anonymous_lo': 'BIGINT', 'email_hi': 'BIGINT', 'email_lo': 'BIGINT',
    'previous_hi': 'BIGINT', 'previous_lo': 'BIGINT', 'exact_hi': 'BIGINT', 'exact_lo': 'BIGINT',
    'lower_hi': 'BIGINT', 'lower_lo': 'BIGINT'})
join inputs using (filename);

-- Rule 4: a string messageId seen at a smaller position (rules 1-3 come first).
create table first_message as
select message_hi, message_lo, min(ord) as first from facts
where kind <> 'rejected' and message_hi is not null group by all;

create table decided as
select f.*, f.message_hi is not null and f.kind <> 'rejected' and f.ord > m.first as duplicate
from facts f left join first_message m using (message_hi, message_lo);

-- Rule 12: a user is identified from their first non-duplicate identify on.
create table identified as
select user_hi, user_lo, min(ord) as at from decided
where kind = 'identify' and not duplicate group by all;

-- Identity links: an identify's anonymousId, then its email, and an alias's previousId.
create table link_events as
select anonymous_hi as key_hi, anonymous_lo as key_lo, ord as at, user_hi, user_lo, 'anonymous_id' as via
from decided where kind = 'identify' and not duplicate and anonymous_hi is not null
union all
select email_hi, email_lo, ord | 1, user_hi, user_lo, 'email'
from decided where kind = 'identify' and not duplicate and email_hi is not null
union all
select previous_hi, previous_lo, ord, user_hi, user_lo, 'alias'
from decided where kind = 'alias' and not duplicate and previous_hi is not null;

-- An anonymous track's user: the last link on its own anonymousId before it, else
-- the last on its lowercase form.
create table anonymous as
select t.ord,
       coalesce(e.user_hi, l.user_hi) as user_hi, coalesce(e.user_lo, l.user_lo) as user_lo,
       coalesce(e.via, l.via) as via
from (select * from decided where kind = 'anonymous_track' and not duplicate) t
asof left join link_events e on t.exact_hi = e.key_hi and t.exact_lo = e.key_lo and t.ord > e.at
asof left join link_events l on t.lower_hi = l.key_hi and t.lower_lo = l.key_lo and t.ord > l.at;

select input, line_v1, outcome, case when outcome = 'accepted:track' then via end from (
select d.input, d.line_v1, d.ord, a.via,
  case
    when d.kind = 'rejected' then 'dropped:' || d.reason
    when d.duplicate then 'dropped:duplicate_message_id'
    when d.kind = 'dropped' then 'dropped:' || d.reason
    when d.kind = 'alias' then 'dropped:unsupported_type'
    when d.kind = 'identify' then 'accepted:identify'
    when d.kind = 'anonymous_track' and a.user_hi is null then 'dropped:anonymous_only'
    when d.timestamp_valid = 0 then 'dropped:invalid_timestamp'
    when i.at is not null and i.at < d.ord then 'accepted:track'
    else 'dropped:not_identified'
  end as outcome
from decided d
left join anonymous a on a.ord = d.ord
left join identified i
  on i.user_hi = coalesce(a.user_hi, d.user_hi) and i.user_lo = coalesce(a.user_lo, d.user_lo)
) order by ord
"""


def main(files):
    connection = duckdb.connect()
    for file in files:
        with gzip.open(file, "rt") as facts:
            header = facts.readline().split(",")
        if header[0] != f"line_v{FACTS_VERSION}":
            sys.exit(f"{file}: not a facts file of version {FACTS_VERSION}")
    connection.execute("create table inputs (filename varchar, input integer)")
    connection.executemany("insert into inputs values (?, ?)", [(f, i) for i, f in enumerate(files)])
    statements = [s for s in PLAN.split(";") if s.strip()]
    for statement in statements[:-1]:
        connection.execute(statement, {"files": files} if "$files" in statement else None)
    out = sys.stdout
    for input_number, line, outcome, via in connection.execute(statements[-1]).fetchall():
        out.write(f"{input_number}\t{line}\t{outcome}\t{via or ''}\n")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
