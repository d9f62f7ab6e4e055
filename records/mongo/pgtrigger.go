package mongo

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// pgKept describes tables that triggers keep from one of FerretDB's
// tables on PostgreSQL (the alert counts, the Patient search terms and
// their counts): a trigger runs in the transaction of the statement that
// writes the source rows, so the kept tables change exactly when the
// documents do, whichever replica or tool writes them (PostgreSQL 15,
// "Overview of Trigger Behavior",
// https://www.postgresql.org/docs/15/trigger-definition.html).
type pgKept struct {
	what     string       // for errors
	lock     int64        // the advisory lock one replica at a time holds while it sets the table up
	prefix   string       // every trigger of this kind is named prefix + something (a LIKE pattern)
	triggers []string     // the names of the current triggers, under which the kept tables are valid
	prepare  []string     // statements first: the kept table, the trigger function
	build    []string     // statements after the advisory lock, before the source is locked (its writers go on): the bulk of what fill brings up to date
	built    func() error // called after build when set (tests: writes that fill must catch up with)
	fill     []string     // statements after it is locked, before older triggers are dropped: the kept table rebuilt from the source
	create   []string     // the CREATE TRIGGER statements
	// settle holds statements run after the commit when the table was
	// filled, outside any transaction (VACUUM, which cannot run in one).
	settle []string
}

// ensureKept sets up k on source (quoted): unless the triggers of its
// prefix are exactly k.triggers, it runs k's statements in one transaction
// that holds the source's writers (SHARE ROW EXCLUSIVE) from before the
// fill to the triggers' creation, so that no write falls between them (the
// build before it does not hold them). Idempotent, and safe when several
// replicas start at once (k.lock takes them in turn).
func ensureKept(ctx context.Context, conn *pgx.Conn, source string, k pgKept) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", k.what, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, k.lock); err != nil {
		return fmt.Errorf("%s: lock: %w", k.what, err)
	}
	rows, err := tx.Query(ctx, `SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname LIKE $2`, source, k.prefix+"%")
	if err != nil {
		return fmt.Errorf("%s: list triggers: %w", k.what, err)
	}
	triggers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("%s: list triggers: %w", k.what, err)
	}
	slices.Sort(triggers)
	if slices.Equal(triggers, slices.Sorted(slices.Values(k.triggers))) {
		return nil
	}
	run := func(steps []string) error {
		for _, q := range steps {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", k.what, err)
			}
		}
		return nil
	}
	if err := run(append(slices.Clone(k.prepare), k.build...)); err != nil {
		return err
	}
	if k.built != nil {
		if err := k.built(); err != nil {
			return fmt.Errorf("%s: %w", k.what, err)
		}
	}
	steps := append([]string{`LOCK TABLE ` + source + ` IN SHARE ROW EXCLUSIVE MODE`}, k.fill...)
	// Older triggers go last: DROP TRIGGER locks the source against its
	// readers too (ACCESS EXCLUSIVE) until the commit, and a reader that
	// holds a kept table and waits for the source would deadlock with a
	// fill that then locks that table (termsFill).
	for _, name := range triggers {
		steps = append(steps, `DROP TRIGGER `+pgx.Identifier{name}.Sanitize()+` ON `+source)
	}
	if err := run(append(steps, k.create...)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("%s: %w", k.what, err)
	}
	for _, q := range k.settle {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", k.what, err)
		}
	}
	return nil
}

// dropKept removes the trigger name on source (quoted) and the kept tables
// (quoted), for DropPostgresIndexes.
func dropKept(ctx context.Context, conn *pgx.Conn, source, name string, tables ...string) error {
	if _, err := conn.Exec(ctx, `DROP TRIGGER IF EXISTS `+pgx.Identifier{name}.Sanitize()+` ON `+source); err != nil {
		return fmt.Errorf("drop trigger %s: %w", name, err)
	}
	for _, table := range tables {
		if _, err := conn.Exec(ctx, `DROP TABLE IF EXISTS `+table); err != nil {
			return fmt.Errorf("drop %s: %w", table, err)
		}
	}
	return nil
}
