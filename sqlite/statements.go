package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// statements runs queries through statements prepared once and kept, so
// that SQLite parses each query text once per connection rather than once
// per call. Every query is a constant of this package, or one of a few
// combinations of constants, so the set stays small.
type statements struct {
	prepare func(ctx context.Context, query string) (*sql.Stmt, error)
	// direct runs a query unprepared. QueryRowContext falls back to it
	// when preparing fails, so that the *sql.Row carries the error.
	direct interface {
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}

	mu       sync.Mutex
	prepared map[string]*sql.Stmt
}

// preparer is a *sql.DB or a *sql.Conn.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func newStatements(p preparer) *statements {
	return &statements{prepare: p.PrepareContext, direct: p, prepared: make(map[string]*sql.Stmt)}
}

func (s *statements) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.prepared[query]; ok {
		return st, nil
	}
	st, err := s.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	s.prepared[query] = st
	return st, nil
}

// ExecContext runs a statement that returns no rows.
func (s *statements) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryContext runs a query that returns rows.
func (s *statements) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs a query that returns at most one row.
func (s *statements) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return s.direct.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// close closes every prepared statement.
func (s *statements) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for query, st := range s.prepared {
		errs = append(errs, st.Close())
		delete(s.prepared, query)
	}
	return errors.Join(errs...)
}
