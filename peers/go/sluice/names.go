package sluice

import (
	"fmt"
	"regexp"
)

var (
	queueRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)
	idRe    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// ValidQueue reports whether q is a valid queue name (§1).
func ValidQueue(q string) bool { return queueRe.MatchString(q) }

// ValidID reports whether id is a valid worker or producer id (§1).
func ValidID(id string) bool { return idRe.MatchString(id) }

// Names of the topology objects (§2).
const (
	CreditStream    = "SLUICE_CREDITS"
	DLQStream       = "SLUICE_DLQ"
	WorkerConsumer  = "workers"
	CapacityBucket  = "sluice-capacity"
	ControlBucket   = "sluice-control"
	ProcessedBucket = "sluice-processed"
)

// WorkStream is the work stream of queue q.
func WorkStream(q string) string { return "SLUICE_Q_" + q }

// WorkSubject is the subject producers publish work for q to.
func WorkSubject(q string) string { return "sluice.q." + q }

// DLQSubject is the subject of q's dead-letter records.
func DLQSubject(q string) string { return "sluice.dlq." + q }

// CreditSubject is the subject of a token of n credits for q.
func CreditSubject(q string, n uint32) string { return fmt.Sprintf("sluice.credit.%s.%d", q, n) }

// CreditFilter is the subject filter of q's credit consumer.
func CreditFilter(q string) string { return "sluice.credit." + q + ".>" }

// CreditConsumer is the durable credit consumer of q.
func CreditConsumer(q string) string { return "credits-" + q }

// CapacityKey is the key of a worker's advert in the capacity bucket.
func CapacityKey(q, workerID string) string { return q + "." + workerID }

// ProducerReportKey is the key of a producer's report in the control bucket.
func ProducerReportKey(q, producerID string) string { return "producer." + q + "." + producerID }

// ReconcilerKey is the key of q's reconciler lease in the control bucket.
func ReconcilerKey(q string) string { return "reconciler." + q }

// QueueSettingsKey is the key of q's settings in the control bucket.
func QueueSettingsKey(q string) string { return "queue." + q }
