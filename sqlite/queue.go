package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/whispersync/whispersync"
)

// Limits taken from SQS, so that callers that fit here also fit there.
const (
	maxBodyBytes   = 256 << 10 // one message body, the default maximum of an SQS queue
	maxReceiveMax  = 10        // messages returned by one receive
	maxVisibility  = 12 * time.Hour
	maxErrorBytes  = 1024 // a recorded consumer error
	defaultReceive = 5    // receives before a message is dead-lettered
)

// QueueOptions configures a queue handle.
type QueueOptions struct {
	// MaxReceives is how many receives a message gets before it moves to
	// the dead-letter queue, and 0 means 5. Every handle of one queue should
	// use the same value.
	MaxReceives int
	// Now is the queue's clock, and nil means time.Now. Tests set it to move
	// time without sleeping.
	Now func() time.Time
}

// Queue is one named queue and its dead-letter queue, kept in the
// database. It implements whispersync.Queue and whispersync.DeadLetterQueue.
//
// A message that has used its receives is moved to the dead-letter queue by
// the first receive, listing, redrive or purge that finds it visible again.
// Until then Depth does not count it and its last receipt handle still
// deletes it.
type Queue struct {
	db          *DB
	name        string
	maxReceives int
	now         func() time.Time
}

var (
	_ whispersync.Queue           = (*Queue)(nil)
	_ whispersync.DeadLetterQueue = (*Queue)(nil)
)

// Queue returns the queue called name, which needs no creation: a name
// that was never used is an empty queue. It panics on an empty name or a
// negative MaxReceives, which are programming errors.
func (db *DB) Queue(name string, opts QueueOptions) *Queue {
	if name == "" {
		panic("sqlite: queue: empty queue name")
	}
	if opts.MaxReceives < 0 {
		panic(fmt.Sprintf("sqlite: queue %q: negative MaxReceives %d", name, opts.MaxReceives))
	}
	q := &Queue{db: db, name: name, maxReceives: opts.MaxReceives, now: opts.Now}
	if q.maxReceives == 0 {
		q.maxReceives = defaultReceive
	}
	if q.now == nil {
		q.now = time.Now
	}
	return q
}

// SendMessage adds one message and returns its id once it is durable.
func (q *Queue) SendMessage(ctx context.Context, body []byte) (string, error) {
	ids, err := q.send(ctx, [][]byte{body})
	if err != nil {
		return "", fmt.Errorf("sqlite: send message: %w", err)
	}
	return ids[0], nil
}

// SendMessageBatch adds every body or none, and returns the ids in the
// order of the bodies. An empty batch sends nothing.
func (q *Queue) SendMessageBatch(ctx context.Context, bodies [][]byte) ([]string, error) {
	if len(bodies) == 0 {
		return nil, nil
	}
	ids, err := q.send(ctx, bodies)
	if err != nil {
		return nil, fmt.Errorf("sqlite: send message batch: %w", err)
	}
	return ids, nil
}

// SendWithWrites applies writes as Tables.TransactWrite does and sends body
// in the same transaction, so both are committed or neither is. The writes
// go to the tables of the queue's database. A caller that records an item
// and queues work for it thus pays for one commit instead of two.
func (q *Queue) SendWithWrites(ctx context.Context, writes []whispersync.Write, body []byte) (string, error) {
	prepared, err := prepareTransact(writes)
	if err != nil {
		return "", fmt.Errorf("sqlite: send with writes: %w", err)
	}
	ids, err := checkBodies([][]byte{body})
	if err != nil {
		return "", fmt.Errorf("sqlite: send with writes: %w", err)
	}
	now := q.now().UnixNano()
	err = q.db.write(ctx, func(ctx context.Context, tx *statements) error {
		if err := prepared.apply(ctx, tx); err != nil {
			return err
		}
		return q.insert(ctx, tx, [][]byte{body}, ids, now)
	})
	if err != nil {
		return "", fmt.Errorf("sqlite: send with writes: %w", err)
	}
	return ids[0], nil
}

func (q *Queue) send(ctx context.Context, bodies [][]byte) ([]string, error) {
	ids, err := checkBodies(bodies)
	if err != nil {
		return nil, err
	}
	now := q.now().UnixNano()
	err = q.db.write(ctx, func(ctx context.Context, tx *statements) error {
		return q.insert(ctx, tx, bodies, ids, now)
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// checkBodies checks the sizes of message bodies and returns a new message
// id for each.
func checkBodies(bodies [][]byte) ([]string, error) {
	for i, body := range bodies {
		switch {
		case len(body) == 0:
			return nil, whispersync.Errorf(whispersync.EINVALID, "message %d is empty: send a body", i)
		case len(body) > maxBodyBytes:
			return nil, whispersync.Errorf(whispersync.ETOOLARGE, "message %d has %d bytes: keep bodies within %d bytes", i, len(body), maxBodyBytes)
		}
	}
	ids := make([]string, len(bodies))
	for i := range ids {
		ids[i] = randomID("m_", 10)
	}
	return ids, nil
}

// insert adds the messages inside the committer's transaction.
func (q *Queue) insert(ctx context.Context, tx *statements, bodies [][]byte, ids []string, now int64) error {
	const insert = `INSERT INTO queue_messages (queue, id, body, sent_at, visible_at) VALUES (?, ?, ?, ?, ?)`
	for i, body := range bodies {
		if _, err := tx.ExecContext(ctx, insert, q.name, ids[i], body, now, now); err != nil {
			return err
		}
	}
	return nil
}

// ReceiveMessage returns up to max visible messages, from 1 to 10, and hides
// them for the visibility timeout, at most 12 hours. Messages come oldest
// visible first, but callers must not rely on order.
func (q *Queue) ReceiveMessage(ctx context.Context, max int, visibility time.Duration) ([]whispersync.Message, error) {
	if max < 1 || max > maxReceiveMax {
		err := whispersync.Errorf(whispersync.EINVALID, "receive of %d messages: ask for 1 to %d", max, maxReceiveMax)
		return nil, fmt.Errorf("sqlite: receive message: %w", err)
	}
	if err := checkVisibility(visibility); err != nil {
		return nil, fmt.Errorf("sqlite: receive message: %w", err)
	}
	now := q.now()
	hidden := now.Add(visibility).UnixNano()

	var msgs []whispersync.Message
	err := q.db.write(ctx, func(ctx context.Context, tx *statements) error {
		msgs = msgs[:0]
		delivered := make(map[int64]bool)
		// The cursor walks the visible messages in order, and the map skips
		// a message delivered with a zero timeout, which is visible
		// again at once and may come round a second time.
		var afterVisible, afterSeq int64 = -1 << 63, -1 << 63
		for len(msgs) < max {
			batch, err := q.visible(ctx, tx, now.UnixNano(), afterVisible, afterSeq, max-len(msgs))
			if err != nil {
				return err
			}
			if len(batch) == 0 {
				return nil
			}
			for _, c := range batch {
				afterVisible, afterSeq = c.visibleAt, c.seq
				if delivered[c.seq] {
					continue
				}
				if c.receiveCount >= q.maxReceives {
					if err := q.bury(ctx, tx, c.seq); err != nil {
						return err
					}
					continue
				}
				receipt := randomID("", 20)
				const update = `UPDATE queue_messages SET receive_count = receive_count + 1, visible_at = ?, receipt = ? WHERE seq = ?`
				if _, err := tx.ExecContext(ctx, update, hidden, receipt, c.seq); err != nil {
					return err
				}
				delivered[c.seq] = true
				msgs = append(msgs, whispersync.Message{
					ID:            c.id,
					Body:          c.body,
					ReceiptHandle: receipt,
					ReceiveCount:  c.receiveCount + 1,
					SentAt:        fromUnixNano(c.sentAt),
				})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: receive message: %w", err)
	}
	return msgs, nil
}

// candidate is a visible message that a receive considers.
type candidate struct {
	seq          int64
	id           string
	body         []byte
	sentAt       int64
	visibleAt    int64
	receiveCount int
}

// visible reads up to limit messages visible at now, in (visible_at, seq)
// order after the given position.
func (q *Queue) visible(ctx context.Context, tx *statements, now, afterVisible, afterSeq int64, limit int) ([]candidate, error) {
	const query = `SELECT seq, id, body, sent_at, visible_at, receive_count FROM queue_messages
		WHERE queue = ? AND visible_at <= ? AND (visible_at, seq) > (?, ?)
		ORDER BY visible_at, seq LIMIT ?`
	rows, err := tx.QueryContext(ctx, query, q.name, now, afterVisible, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cs []candidate
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.seq, &c.id, &c.body, &c.sentAt, &c.visibleAt, &c.receiveCount); err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// bury moves one message to the dead-letter queue. It died when it became
// visible again, so that is its dead_at.
func (q *Queue) bury(ctx context.Context, tx *statements, seq int64) error {
	const move = `INSERT INTO queue_dead_letters (queue, id, body, sent_at, dead_at, receive_count, last_error)
		SELECT queue, id, body, sent_at, visible_at, receive_count, last_error FROM queue_messages WHERE seq = ?`
	if _, err := tx.ExecContext(ctx, move, seq); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM queue_messages WHERE seq = ?`, seq)
	return err
}

// buryAll moves every message that has used its receives and is visible
// at now to the dead-letter queue.
func (q *Queue) buryAll(ctx context.Context, tx *statements, now int64) error {
	const move = `INSERT INTO queue_dead_letters (queue, id, body, sent_at, dead_at, receive_count, last_error)
		SELECT queue, id, body, sent_at, visible_at, receive_count, last_error FROM queue_messages
		WHERE queue = ? AND visible_at <= ? AND receive_count >= ? ORDER BY visible_at, seq`
	if _, err := tx.ExecContext(ctx, move, q.name, now, q.maxReceives); err != nil {
		return err
	}
	const remove = `DELETE FROM queue_messages WHERE queue = ? AND visible_at <= ? AND receive_count >= ?`
	_, err := tx.ExecContext(ctx, remove, q.name, now, q.maxReceives)
	return err
}

// DeleteMessage deletes the message of a receipt. A stale or unknown
// receipt handle is EINVALID.
func (q *Queue) DeleteMessage(ctx context.Context, receiptHandle string) error {
	err := q.db.write(ctx, func(ctx context.Context, tx *statements) error {
		return execOnReceipt(ctx, tx, `DELETE FROM queue_messages WHERE queue = ? AND receipt = ?`, q.name, receiptHandle)
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete message: %w", err)
	}
	return nil
}

// DeleteMessageBatch deletes the messages of every valid receipt handle in
// one commit. When some handles were stale, the error says how many.
func (q *Queue) DeleteMessageBatch(ctx context.Context, receiptHandles []string) error {
	if len(receiptHandles) == 0 {
		return nil
	}
	var stale int
	err := q.db.write(ctx, func(ctx context.Context, tx *statements) error {
		stale = 0
		for _, h := range receiptHandles {
			res, err := tx.ExecContext(ctx, `DELETE FROM queue_messages WHERE queue = ? AND receipt = ?`, q.name, h)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				stale++
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete message batch: %w", err)
	}
	if stale > 0 {
		err := whispersync.Errorf(whispersync.EINVALID, "%d of %d receipt handles are stale: those messages were received again or deleted", stale, len(receiptHandles))
		return fmt.Errorf("sqlite: delete message batch: %w", err)
	}
	return nil
}

// ChangeMessageVisibility hides the message of a receipt for timeout from
// now, at most 12 hours. A zero timeout makes it visible at once.
func (q *Queue) ChangeMessageVisibility(ctx context.Context, receiptHandle string, timeout time.Duration) error {
	if err := checkVisibility(timeout); err != nil {
		return fmt.Errorf("sqlite: change message visibility: %w", err)
	}
	hidden := q.now().Add(timeout).UnixNano()
	err := q.db.write(ctx, func(ctx context.Context, tx *statements) error {
		return execOnReceipt(ctx, tx, `UPDATE queue_messages SET visible_at = ? WHERE queue = ? AND receipt = ?`, hidden, q.name, receiptHandle)
	})
	if err != nil {
		return fmt.Errorf("sqlite: change message visibility: %w", err)
	}
	return nil
}

// RecordError stores the consumer's last failure on the message of a
// receipt, so that it shows as DeadLetter.LastError if the message dies.
// The text must be free of user content, and it is cut to 1,024 bytes.
func (q *Queue) RecordError(ctx context.Context, receiptHandle, message string) error {
	message = truncate(message, maxErrorBytes)
	err := q.db.write(ctx, func(ctx context.Context, tx *statements) error {
		return execOnReceipt(ctx, tx, `UPDATE queue_messages SET last_error = ? WHERE queue = ? AND receipt = ?`, message, q.name, receiptHandle)
	})
	if err != nil {
		return fmt.Errorf("sqlite: record error: %w", err)
	}
	return nil
}

// execOnReceipt runs stmt, which selects one message by its receipt handle,
// and returns EINVALID when it touched no message: the handle is stale.
func execOnReceipt(ctx context.Context, tx *statements, stmt string, args ...any) error {
	res, err := tx.ExecContext(ctx, stmt, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return whispersync.Errorf(whispersync.EINVALID, "receipt handle is stale: the message was received again or deleted; receive it again")
	}
	return nil
}

// Depth counts the visible and the in-flight messages. Messages waiting to
// move to the dead-letter queue count as neither.
func (q *Queue) Depth(ctx context.Context) (visible, inFlight int, err error) {
	const query = `SELECT
			COALESCE(SUM(visible_at <= ? AND receive_count < ?), 0),
			COALESCE(SUM(visible_at > ?), 0)
		FROM queue_messages WHERE queue = ?`
	now := q.now().UnixNano()
	err = q.db.read.QueryRowContext(ctx, query, now, q.maxReceives, now, q.name).Scan(&visible, &inFlight)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: queue depth: %w", err)
	}
	return visible, inFlight, nil
}

// ListDeadLetters returns up to max dead letters, the longest dead first.
func (q *Queue) ListDeadLetters(ctx context.Context, max int) ([]whispersync.DeadLetter, error) {
	if max < 1 {
		err := whispersync.Errorf(whispersync.EINVALID, "list of %d dead letters: ask for at least 1", max)
		return nil, fmt.Errorf("sqlite: list dead letters: %w", err)
	}
	now := q.now().UnixNano()
	var dead []whispersync.DeadLetter
	err := q.db.write(ctx, func(ctx context.Context, tx *statements) error {
		dead = dead[:0]
		if err := q.buryAll(ctx, tx, now); err != nil {
			return err
		}
		const query = `SELECT id, body, receive_count, sent_at, dead_at, last_error FROM queue_dead_letters
			WHERE queue = ? ORDER BY dead_at, seq LIMIT ?`
		rows, err := tx.QueryContext(ctx, query, q.name, max)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d whispersync.DeadLetter
			var sentAt, deadAt int64
			if err := rows.Scan(&d.ID, &d.Body, &d.ReceiveCount, &sentAt, &deadAt, &d.LastError); err != nil {
				return err
			}
			d.SentAt, d.DeadAt = fromUnixNano(sentAt), fromUnixNano(deadAt)
			dead = append(dead, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: list dead letters: %w", err)
	}
	return dead, nil
}

// Redrive moves the named dead letters, or all when ids is empty, back to
// the queue, visible at once with no receives and no recorded error. Ids
// that name no dead letter are skipped, and the count says how many moved.
func (q *Queue) Redrive(ctx context.Context, ids ...string) (int, error) {
	now := q.now().UnixNano()
	var moved int
	err := q.db.write(ctx, func(ctx context.Context, tx *statements) error {
		moved = 0
		if err := q.buryAll(ctx, tx, now); err != nil {
			return err
		}
		const move = `INSERT INTO queue_messages (queue, id, body, sent_at, visible_at)
			SELECT queue, id, body, sent_at, ? FROM queue_dead_letters WHERE queue = ?`
		const remove = `DELETE FROM queue_dead_letters WHERE queue = ?`
		if len(ids) == 0 {
			res, err := tx.ExecContext(ctx, move+` ORDER BY dead_at, seq`, now, q.name)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			moved = int(n)
			_, err = tx.ExecContext(ctx, remove, q.name)
			return err
		}
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, move+` AND id = ?`, now, q.name, id)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			moved++
			if _, err := tx.ExecContext(ctx, remove+` AND id = ?`, q.name, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: redrive: %w", err)
	}
	return moved, nil
}

// PurgeDeadLetter deletes one dead letter for good. An unknown id is
// ENOTFOUND.
func (q *Queue) PurgeDeadLetter(ctx context.Context, id string) error {
	now := q.now().UnixNano()
	err := q.db.write(ctx, func(ctx context.Context, tx *statements) error {
		if err := q.buryAll(ctx, tx, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM queue_dead_letters WHERE queue = ? AND id = ?`, q.name, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return whispersync.Errorf(whispersync.ENOTFOUND, "dead letter %q not found in queue %q: list the dead letters for their ids", id, q.name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: purge dead letter: %w", err)
	}
	return nil
}

// checkVisibility rejects a negative timeout and one beyond SQS's 12 hours.
func checkVisibility(d time.Duration) error {
	if d < 0 || d > maxVisibility {
		return whispersync.Errorf(whispersync.EINVALID, "visibility timeout %s: use 0 to 12h", d)
	}
	return nil
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
