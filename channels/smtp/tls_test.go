package smtp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	izsmtp "github.com/izin/izin/channels/smtp"
	"github.com/izin/izin/consent"
)

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: domain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{domain},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestStartTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	w := newWorld(t, izsmtp.ServerConfig{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}, nil)
	if text := dial(t, w.addr).cmd(250, "EHLO again.example"); !strings.Contains(text, "STARTTLS") {
		t.Fatalf("EHLO does not offer STARTTLS: %q", text)
	}
	c, err := gosmtp.DialStartTLS(w.addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.TLSConnectionState(); !ok {
		t.Fatal("no TLS after STARTTLS")
	}
	msg := message(recipient, w.replyAddr(), "tls@client", "", "RET\r\n")
	if err := c.SendMail(recipient, []string{w.replyAddr()}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if q := w.queued(); len(q) != 1 || q[0].Status != consent.StatusRejected {
		t.Errorf("queued %+v", q)
	}
}
