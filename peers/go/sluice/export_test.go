package sluice

// WaitingSends reports how many sends wait for a credit, so that tests of the waiting path can
// wait for the sends to queue instead of sleeping.
func WaitingSends(p *Producer) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiting
}
