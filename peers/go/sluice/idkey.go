package sluice

import (
	"crypto/sha256"
	"encoding/hex"
)

// plainID: ^[A-Za-z0-9_-]{1,200}$
func plainID(s string) bool {
	return allBytes(s, 1, 200, plainIDBytes)
}

// IDKey is the id-key of a message id (§9): the id itself when plain, else "=" and the
// lowercase hex SHA-256 of its UTF-8 bytes.
func IDKey(msgID string) string {
	if plainID(msgID) {
		return msgID
	}
	sum := sha256.Sum256([]byte(msgID))
	return "=" + hex.EncodeToString(sum[:])
}

// ProcessedKey is the key of a processed record in the sluice-processed bucket.
func ProcessedKey(q, msgID string) string { return q + "." + IDKey(msgID) }
