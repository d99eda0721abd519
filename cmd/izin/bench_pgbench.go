package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/izin/izin/consent/postgres"
)

// The machine's own limit for izin's rows, in the same run as the load:
// pgbench writing what one SMS refusal writes, into izin's own tables
// (a throw-away database migrated like any other, with every index,
// trigger and constraint): the event on a hash chain taken with SKIP
// LOCKED and the chain head moved, the state upsert, the ledger row, the
// confirmation and the SMS evidence row. Once one message per transaction
// (16 clients), and once 500 per transaction (4 clients): the second is
// the most PostgreSQL can commit of these rows here, the first what a
// design without batching would reach. izin's evidence row is written in
// a transaction of its own; here it shares the message's, which flatters
// pgbench.
const pgbenchOneMessage = `BEGIN;
SELECT chain_id AS ch FROM chains ORDER BY chain_id FOR UPDATE SKIP LOCKED LIMIT 1 \gset
SELECT nextval('pgbench_izin_n') AS n \gset
INSERT INTO events (chain_id, seq, prev_hash, hash, transaction_id, command_id, group_id, origin, iys_code, brand_code,
	recipient, recipient_type, type, status, source, source_kind, consent_date, creation_date, received_at, evidence)
	VALUES (:ch, :n, sha256((:n - 1)::text::bytea), sha256(:n::text::bytea), md5(:n::text), 'sms-' || md5(:n::text), 'sms-' || md5(:n::text),
	'recipient', 600100, 600101, '+90532' || lpad((:n % 10000000)::text, 7, '0'), 'BIREYSEL', 'MESAJ', 'RET', 'IYS_KISAMESAJ', 'IYS',
	now(), now(), now(), '{"channel":"sms","messageId":"sms-' || md5(:n::text) || '","peer":"+90532' || lpad((:n % 10000000)::text, 7, '0') || '"}');
INSERT INTO consents (iys_code, brand_code, recipient, recipient_type, type, status, source, consent_date, creation_date, transaction_id)
	VALUES (600100, 600101, '+90532' || lpad((:n % 10000000)::text, 7, '0'), 'BIREYSEL', 'MESAJ', 'RET', 'IYS_KISAMESAJ', now(), now(), md5(:n::text))
	ON CONFLICT (iys_code, brand_code, recipient, recipient_type, type) DO UPDATE SET status = excluded.status, source = excluded.source,
	consent_date = excluded.consent_date, creation_date = excluded.creation_date, transaction_id = excluded.transaction_id;
INSERT INTO commands (command_id, applied_at, transaction_id) VALUES ('sms-' || md5(:n::text), now(), md5(:n::text));
INSERT INTO confirmations (group_id, transaction_id, channel, recipient, created_at, deadline, next_attempt_at)
	VALUES ('sms-' || md5(:n::text), md5(:n::text), 'sms', '+90532' || lpad((:n % 10000000)::text, 7, '0'), now(), now() + interval '8 hours', now() + interval '1 day')
	ON CONFLICT (group_id) DO NOTHING;
INSERT INTO sms_messages (id, bind, sender, recipient, destination, data_coding, parts, text, outcome, command_ids, received_at)
	VALUES (md5(:n::text), 'bench', '90532' || lpad((:n % 10000000)::text, 7, '0'), '+90532' || lpad((:n % 10000000)::text, 7, '0'), '3338', 0, 1,
	'RET ACME', 'applied', ARRAY['sms-' || md5(:n::text)], now());
UPDATE chains SET seq = :n, head = sha256(:n::text::bytea) WHERE chain_id = :ch;
END;
`

const pgbenchBatchMessages = `BEGIN;
SELECT chain_id AS ch FROM chains ORDER BY chain_id FOR UPDATE SKIP LOCKED LIMIT 1 \gset
SELECT nextval('pgbench_izin_b') AS b \gset
INSERT INTO events (chain_id, seq, prev_hash, hash, transaction_id, command_id, group_id, origin, iys_code, brand_code,
	recipient, recipient_type, type, status, source, source_kind, consent_date, creation_date, received_at, evidence)
	SELECT :ch, n, sha256((n - 1)::text::bytea), sha256(n::text::bytea), md5(n::text), 'sms-' || md5(n::text), 'sms-' || md5(n::text),
	'recipient', 600100, 600101, '+90532' || lpad((n % 10000000)::text, 7, '0'), 'BIREYSEL', 'MESAJ', 'RET', 'IYS_KISAMESAJ', 'IYS',
	now(), now(), now(), '{"channel":"sms","messageId":"sms-' || md5(n::text) || '","peer":"+90532' || lpad((n % 10000000)::text, 7, '0') || '"}'
	FROM generate_series(:b, :b + 499) n;
INSERT INTO consents (iys_code, brand_code, recipient, recipient_type, type, status, source, consent_date, creation_date, transaction_id)
	SELECT 600100, 600101, '+90532' || lpad((n % 10000000)::text, 7, '0'), 'BIREYSEL', 'MESAJ', 'RET', 'IYS_KISAMESAJ', now(), now(), md5(n::text)
	FROM generate_series(:b, :b + 499) n
	ON CONFLICT (iys_code, brand_code, recipient, recipient_type, type) DO UPDATE SET status = excluded.status, source = excluded.source,
	consent_date = excluded.consent_date, creation_date = excluded.creation_date, transaction_id = excluded.transaction_id;
INSERT INTO commands (command_id, applied_at, transaction_id) SELECT 'sms-' || md5(n::text), now(), md5(n::text) FROM generate_series(:b, :b + 499) n;
INSERT INTO confirmations (group_id, transaction_id, channel, recipient, created_at, deadline, next_attempt_at)
	SELECT 'sms-' || md5(n::text), md5(n::text), 'sms', '+90532' || lpad((n % 10000000)::text, 7, '0'), now(), now() + interval '8 hours', now() + interval '1 day'
	FROM generate_series(:b, :b + 499) n
	ON CONFLICT (group_id) DO NOTHING;
INSERT INTO sms_messages (id, bind, sender, recipient, destination, data_coding, parts, text, outcome, command_ids, received_at)
	SELECT md5(n::text), 'bench', '90532' || lpad((n % 10000000)::text, 7, '0'), '+90532' || lpad((n % 10000000)::text, 7, '0'), '3338', 0, 1,
	'RET ACME', 'applied', ARRAY['sms-' || md5(n::text)], now()
	FROM generate_series(:b, :b + 499) n;
UPDATE chains SET seq = :b + 499, head = sha256((:b + 499)::text::bytea) WHERE chain_id = :ch;
END;
`

// pgbenchLimits is what pgbenchSameRows measured, in SMS refusals (each
// its event, state, ledger, confirmation and evidence rows) per second.
type pgbenchLimits struct {
	OnePerTx, Batched float64
}

var tpsRe = regexp.MustCompile(`tps = ([0-9.]+)`)

// pgbenchSameRows runs the two scripts above for secs seconds each in a
// database of its own beside dbURL's, and drops it.
func pgbenchSameRows(ctx context.Context, dbURL string, secs int) (pgbenchLimits, error) {
	var lim pgbenchLimits
	pgb, err := exec.LookPath("pgbench")
	if err != nil {
		return lim, fmt.Errorf("pgbench not found: %w", err)
	}
	url, err := withDatabase(dbURL, "izin_pgbench_"+randHex(4))
	if err != nil {
		return lim, err
	}
	url = withoutSearchPath(url) // a fresh database has only public
	if _, err := postgres.CreateDatabase(ctx, url); err != nil {
		return lim, err
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return lim, err
	}
	defer dropDatabase(url, pool.Close)
	if _, err := postgres.Migrate(ctx, pool, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return lim, fmt.Errorf("pgbench database: %w", err)
	}
	if _, err := pool.Exec(ctx, `CREATE SEQUENCE pgbench_izin_n; CREATE SEQUENCE pgbench_izin_b START 1000000000 INCREMENT 500`); err != nil {
		return lim, fmt.Errorf("pgbench setup: %w", err)
	}
	dir, err := os.MkdirTemp("", "izin-pgbench")
	if err != nil {
		return lim, err
	}
	defer os.RemoveAll(dir)
	for _, run := range []struct {
		script         string
		clients, perTx int
		into           *float64
	}{{pgbenchOneMessage, 16, 1, &lim.OnePerTx}, {pgbenchBatchMessages, 4, 500, &lim.Batched}} {
		f := filepath.Join(dir, "script.sql")
		if err := os.WriteFile(f, []byte(run.script), 0o600); err != nil {
			return lim, err
		}
		out, err := exec.CommandContext(ctx, pgb, "-n", "-c", strconv.Itoa(run.clients), "-j", "2", "-T", strconv.Itoa(secs), "-f", f, url).CombinedOutput()
		if err != nil {
			return lim, fmt.Errorf("pgbench: %v: %s", err, out)
		}
		m := tpsRe.FindSubmatch(out)
		if m == nil {
			return lim, fmt.Errorf("pgbench: no tps in output: %s", out)
		}
		tps, _ := strconv.ParseFloat(string(m[1]), 64)
		*run.into = tps * float64(run.perTx)
	}
	return lim, nil
}

// withoutSearchPath drops a search_path parameter from a database URL.
func withoutSearchPath(dbURL string) string {
	u, err := neturl.Parse(dbURL)
	if err != nil {
		return dbURL
	}
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String()
}
