// The keywords PostgreSQL's quote_ident quotes: every keyword that is not unreserved (reserved, those that
// cannot name a function or type, and those that cannot name a column: pg_get_keywords' catcodes R, T and
// C). No package the project has carries PostgreSQL's list, and a name is shown without a connection (an
// error's text, a plan read from a file), so the list is kept here: PostgreSQL 15's, which
// test/core/sql-keywords.test.ts holds to the server's quote_ident over pg_get_keywords().

const RESERVED =
  "all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create " +
  "current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc " +
  "distinct do else end except false fetch for foreign from grant group having in initially intersect into " +
  "lateral leading limit localtime localtimestamp not null offset on only or order placing primary references " +
  "returning select session_user some symmetric table then to trailing true union unique user using variadic " +
  "when where window with";

/** Keywords that can name a column but not a function or a type. */
const TYPE_FUNCTION_NAMES =
  "authorization binary collation concurrently cross current_schema freeze full ilike inner is isnull join left " +
  "like natural notnull outer overlaps right similar tablesample verbose";

/** Keywords that can name a function or a type but not a column. */
const COLUMN_NAMES =
  "between bigint bit boolean char character coalesce dec decimal exists extract float greatest grouping inout " +
  "int integer interval least national nchar none normalize nullif numeric out overlay position precision real " +
  "row setof smallint substring time timestamp treat trim values varchar xmlattributes xmlconcat xmlelement " +
  "xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable";

/** The words quote_ident quotes although they are plain lower-case identifiers. */
export const QUOTED_KEYWORDS: ReadonlySet<string> = new Set(
  [RESERVED, TYPE_FUNCTION_NAMES, COLUMN_NAMES].flatMap((words) => words.split(" ")),
);
