package sluice

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// sharedStore is the fleet-wide idempotency store (§9): <q>.<id-key> records in the
// sluice-processed bucket, written with a KV create before the finishing ack and read through
// the stream leader.
type sharedStore struct {
	w  *Worker
	kv jetstream.KeyValue
}

// JetStream errors of a create that finds the key (nats-server 2.9/2.10 and 2.11+), and of a
// get that finds no message.
const (
	errCodeWrongLastSeq = 10071
	errCodeKeyExists    = 10164
	errCodeNoMessage    = 10037
)

// seen reads the record of key through the stream leader (a STREAM.MSG.GET request, never a
// direct get, which any replica answers from its own possibly lagging store).
func (s *sharedStore) seen(ctx context.Context, key string) (bool, error) {
	body, _ := json.Marshal(map[string]string{"last_by_subj": "$KV." + ProcessedBucket + "." + s.w.queue + "." + key})
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := s.w.nc.RequestWithContext(rctx, "$JS.API.STREAM.MSG.GET.KV_"+ProcessedBucket, body)
	if err != nil {
		return false, err
	}
	var r struct {
		Message *struct {
			Hdrs string `json:"hdrs"`
		} `json:"message"`
		Error *struct {
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return false, fmt.Errorf("reading %s: %w", ProcessedBucket, err)
	}
	if r.Error != nil {
		if r.Error.ErrCode == errCodeNoMessage {
			return false, nil
		}
		return false, fmt.Errorf("reading %s: %s (%d)", ProcessedBucket, r.Error.Description, r.Error.ErrCode)
	}
	if r.Message == nil {
		return false, nil
	}
	hdrs, _ := base64.StdEncoding.DecodeString(r.Message.Hdrs)
	h := string(hdrs)
	deleted := strings.Contains(h, "KV-Operation: DEL") || strings.Contains(h, "KV-Operation: PURGE")
	return !deleted, nil
}

// record writes the record of key before the finishing ack (§9 [v1.2]): it retries with backoff,
// keeping the message with +WPI, for up to max(handler timeout, 3 × ack wait); then the caller
// acks without a record. A "key exists" answer counts as recorded: another worker finished the
// message, or an earlier try of this one was stored and its answer lost.
func (s *sharedStore) record(ctx context.Context, key string, m *Msg) error {
	value := []byte(s.w.cfg.id + " " + strconv.FormatInt(time.Now().UnixMilli(), 10))
	deadline := time.Now().Add(max(s.w.cfg.handlerTimeout, 3*s.w.ackWait))
	lastWPI := time.Now()
	wait := 50 * time.Millisecond
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.kv.Create(cctx, s.w.queue+"."+key, value)
		cancel()
		if err == nil || keyExists(err) {
			s.w.setProblem(ProblemIdempotencyStore, "")
			return nil
		}
		s.w.setProblem(ProblemIdempotencyStore, fmt.Sprintf("processed ids cannot be recorded in %s (%v): finished messages are held unacked; check the bucket, its leader and replicas", ProcessedBucket, err))
		if time.Now().After(deadline) {
			return err
		}
		if time.Since(lastWPI) >= s.w.ackWait/3 {
			_ = m.raw.InProgress()
			lastWPI = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

func keyExists(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == errCodeWrongLastSeq || apiErr.ErrorCode == errCodeKeyExists) {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

// WithSharedIdempotency records every processed message id in the sluice-processed bucket and
// checks it before running a handler (§9), so a message whose worker died after the handler's
// effect and before the ack is not handled again by another worker. It costs a read and a write
// per message. A worker that cannot read the store NAKs the message (delay 1 s) instead of
// running the handler.
func WithSharedIdempotency() WorkerOption {
	return workerOption(func(c *workerConfig) error { c.sharedIdempotency = true; return nil })
}
