package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/izin/izin/consent"
)

// Complaint is a recipient's complaint about a message received without
// consent (PRODUCT.md §7). Its fields match channels/web.Complaint one for
// one, so cmd/izin converts between them without copying by hand.
type Complaint struct {
	Reference string // IZ-2026-000123
	Recipient string // the complainant's own address
	Sender    string // brand or sender as written by the complainant
	// IYSCode and BrandCode are the brand Sender resolved to, 0 if none.
	IYSCode, BrandCode int64
	Type               consent.Type
	MessageAt          time.Time
	Text               string
	Status             string
	CreatedAt          time.Time
	UpdatedAt          time.Time
	// ScreenshotType is "image/png" or "image/jpeg", "" without one.
	ScreenshotType string
	Screenshot     []byte // only on CreateComplaint and ComplaintScreenshot
}

// ComplaintChange is one status change an auditor made.
type ComplaintChange struct {
	Status  string
	Auditor string
	Note    string
	At      time.Time
}

// AddAuditor creates a website auditor account; ErrExists if the username
// is taken.
func (s *Store) AddAuditor(ctx context.Context, username, password string) error {
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO auditors (username, password_hash) VALUES ($1, $2)`, username, h)
	if isUniqueViolation(err) {
		return fmt.Errorf("auditor %q: %w", username, ErrExists)
	}
	return wrap(err)
}

// AuthenticateAuditor checks an auditor's password: nil, an *Error with
// CodeUnauthorized, or ErrUnavailable.
func (s *Store) AuthenticateAuditor(ctx context.Context, username, password string) error {
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT password_hash FROM auditors WHERE username = $1`, username).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) {
		// The same work as a wrong password: usernames cannot be probed by timing.
		CheckPassword("pbkdf2-sha256$"+strconv.Itoa(pbkdf2Iterations)+"$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", password)
		return consent.Errorf(consent.CodeUnauthorized, "", "wrong username or password")
	}
	if err != nil {
		return wrap(err)
	}
	if !CheckPassword(hash, password) {
		return consent.Errorf(consent.CodeUnauthorized, "", "wrong username or password")
	}
	return nil
}

const complaintCols = `reference, recipient, sender, coalesce(iys_code, 0), coalesce(brand_code, 0), type, message_at, body,
	status, created_at, updated_at, coalesce(screenshot_type, '')`

func scanComplaint(r pgx.Row) (Complaint, error) {
	var c Complaint
	err := r.Scan(&c.Reference, &c.Recipient, &c.Sender, &c.IYSCode, &c.BrandCode, &c.Type, &c.MessageAt, &c.Text,
		&c.Status, &c.CreatedAt, &c.UpdatedAt, &c.ScreenshotType)
	return c, err
}

func nullIfZero(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

// CreateComplaint stores c with status "received" and returns it with its
// reference, numbered within the year of the store's location.
func (s *Store) CreateComplaint(ctx context.Context, c Complaint) (Complaint, error) {
	now := s.now()
	var shot []byte
	var shotType *string
	if len(c.Screenshot) > 0 {
		shot, shotType = c.Screenshot, &c.ScreenshotType
	}
	row := s.pool.QueryRow(ctx, `INSERT INTO complaints (reference, recipient, sender, iys_code, brand_code, type,
			message_at, body, screenshot, screenshot_type, status, created_at, updated_at)
		VALUES (format('IZ-%s-%s', $1::text, lpad(nextval('complaint_numbers')::text, 6, '0')),
			$2, $3, $4, $5, $6, $7, $8, $9, $10, 'received', $11, $11)
		RETURNING `+complaintCols,
		now.In(s.loc).Format("2006"), c.Recipient, c.Sender, nullIfZero(c.IYSCode), nullIfZero(c.BrandCode), c.Type,
		c.MessageAt, c.Text, shot, shotType, now)
	out, err := scanComplaint(row)
	return out, wrap(err)
}

// Complaint returns a complaint by reference (without the screenshot's
// bytes), or ErrNotFound. Callers check who may see it.
func (s *Store) Complaint(ctx context.Context, ref string) (Complaint, error) {
	c, err := scanComplaint(s.pool.QueryRow(ctx, `SELECT `+complaintCols+` FROM complaints WHERE reference = $1`, ref))
	return c, wrap(err)
}

// ComplaintScreenshot returns the screenshot's type and bytes, or
// ErrNotFound when the complaint has none.
func (s *Store) ComplaintScreenshot(ctx context.Context, ref string) (string, []byte, error) {
	var typ string
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT screenshot_type, screenshot FROM complaints
		WHERE reference = $1 AND screenshot IS NOT NULL`, ref).Scan(&typ, &b)
	return typ, b, wrap(err)
}

func (s *Store) complaints(ctx context.Context, sql string, args ...any) ([]Complaint, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, wrap(err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Complaint, error) { return scanComplaint(r) })
	return cs, wrap(err)
}

// RecipientComplaints returns the complaints one address filed, newest first.
func (s *Store) RecipientComplaints(ctx context.Context, recipient string) ([]Complaint, error) {
	return s.complaints(ctx, `SELECT `+complaintCols+` FROM complaints WHERE recipient = $1
		ORDER BY created_at DESC, id DESC LIMIT 200`, recipient)
}

// Complaints returns the auditors' queue: complaints with status (all when
// ""), oldest first, at most limit.
func (s *Store) Complaints(ctx context.Context, status string, limit int) ([]Complaint, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return s.complaints(ctx, `SELECT `+complaintCols+` FROM complaints WHERE $1 = '' OR status = $1
		ORDER BY created_at, id LIMIT $2`, status, limit)
}

// SetComplaintStatus records an auditor's status change; ErrNotFound for
// an unknown reference.
func (s *Store) SetComplaintStatus(ctx context.Context, ref, status, auditor, note string) error {
	now := s.now()
	return wrap(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `UPDATE complaints SET status = $2, updated_at = $3 WHERE reference = $1 RETURNING id`,
			ref, status, now).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO complaint_log (complaint_id, status, auditor, note, at) VALUES ($1, $2, $3, $4, $5)`,
			id, status, auditor, note, now)
		return err
	}))
}

// ComplaintLog returns a complaint's status changes, oldest first.
func (s *Store) ComplaintLog(ctx context.Context, ref string) ([]ComplaintChange, error) {
	rows, err := s.pool.Query(ctx, `SELECT l.status, l.auditor, l.note, l.at FROM complaint_log l
		JOIN complaints c ON c.id = l.complaint_id WHERE c.reference = $1 ORDER BY l.id`, ref)
	if err != nil {
		return nil, wrap(err)
	}
	cs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ComplaintChange])
	return cs, wrap(err)
}

// ConsentAt returns the event that set key's state as the registry knew it
// at t: the last one recorded (creation date) at or before t. ErrNotFound
// means the registry held nothing for key then.
func (s *Store) ConsentAt(ctx context.Context, k consent.Key, t time.Time) (consent.Event, error) {
	e, _, _, err := scanEvent(s.pool.QueryRow(ctx, `SELECT `+eventCols+` FROM events e
		WHERE e.recipient = $1 AND e.iys_code = $2 AND e.brand_code = $3 AND e.recipient_type = $4 AND e.type = $5
		  AND e.creation_date <= $6
		ORDER BY e.creation_date DESC, e.id DESC LIMIT 1`,
		k.Recipient, k.IYSCode, k.BrandCode, k.RecipientType, k.Type, t))
	return e, wrap(err)
}
