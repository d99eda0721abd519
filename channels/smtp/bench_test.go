package smtp_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	izsmtp "github.com/izin/izin/channels/smtp"
)

// BenchmarkReplies measures the inbound server end to end: replies sent
// by 8 concurrent SMTP clients (one connection each, a transaction per
// reply), each token checked against PostgreSQL, each refusal in the real
// Redis queue before 250. Reports replies/s.
//
//	go test ./channels/smtp -run XXX -bench Replies -benchtime 2000x
func BenchmarkReplies(b *testing.B) {
	w := newWorld(b, izsmtp.ServerConfig{MaxConnections: 64}, nil)
	const clients = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := gosmtp.Dial(w.addr)
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				msg := message(recipient, w.replyAddr(), fmt.Sprintf("bench-%d@client", i), "", "RET\r\n")
				if err := cl.SendMail(recipient, []string{w.replyAddr()}, strings.NewReader(msg)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if n := len(w.queued()); n != b.N {
		b.Fatalf("%d commands queued for %d replies", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "replies/s")
}
