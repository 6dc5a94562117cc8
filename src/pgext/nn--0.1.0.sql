-- nn inside PostgreSQL: the functions over the models of the nn store in
-- this database (the schema the GUC nn.schema names, 'nn' by default).
-- STRICT: a NULL model or input gives NULL.  STABLE: a version saved later
-- changes the answer, never within one statement.  PARALLEL SAFE: each
-- parallel worker reads the models and scores its share of the rows.

\echo Use "CREATE EXTENSION nn" to load this file. \quit

CREATE FUNCTION nn_classify(model text, x real[]) RETURNS text
AS 'MODULE_PATHNAME', 'nn_pgx_classify' LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE FUNCTION nn_score(model text, x real[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'nn_pgx_score' LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE FUNCTION nn_forward(model text, x real[]) RETURNS real[]
AS 'MODULE_PATHNAME', 'nn_pgx_forward' LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- The same over the columns of a row: nn_score('m', r, g, b, ml).
CREATE FUNCTION nn_classify(model text, VARIADIC x double precision[]) RETURNS text
AS 'MODULE_PATHNAME', 'nn_pgx_classify' LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE FUNCTION nn_score(model text, VARIADIC x double precision[]) RETURNS double precision
AS 'MODULE_PATHNAME', 'nn_pgx_score' LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE FUNCTION nn_forward(model text, VARIADIC x double precision[]) RETURNS real[]
AS 'MODULE_PATHNAME', 'nn_pgx_forward' LANGUAGE C STRICT STABLE PARALLEL SAFE;
